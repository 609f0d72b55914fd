// Procedurally generated tool-use tasks on the simulated shop. Each template draws a shop, a user request and
// the expert's steps in the action text form; each step lists several valid actions (argument order, parallel
// calls in any order, paraphrased replies) and the generator picks one per step. Tool outputs are not written
// here: the suite computes them with the backend. Each template also names a near miss (a whole episode that
// looks right but misses the goal) so that tests can show the final check telling them apart.
import type { Rng } from '../../core/rng';
import type { Order, Product, ShopState } from '../../core/domains/tool';
import type { ShopToolName } from './shop';
import { drawAddress, drawShop } from './world';

export interface DrawnToolTask {
  goal: string;
  state: ShopState;
  /** Per expert step, the valid actions in text form (the expert uses one of them); the last step is a reply. */
  steps: string[][];
  /** Facts the final reply must contain. */
  facts: string[];
  /** An episode (action texts) that misses the goal. */
  nearMiss: string[];
}

export interface ToolTemplate {
  name: string;
  draw(rng: Rng): DrawnToolTask;
}

// ---- the text form, built

const call = (name: ShopToolName, args: Record<string, unknown>): string => `call ${name} ${JSON.stringify(args)}`;
const parallel = (...calls: string[]): string => calls.join(' ; ');
const say = (text: string): string => `say ${text}`;

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((x, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]));
}

/** The same object with its keys in every order (JSON key order carries no meaning). */
const keyOrders = (obj: Record<string, unknown>): Record<string, unknown>[] =>
  permutations(Object.keys(obj)).map((keys) => Object.fromEntries(keys.map((k) => [k, obj[k]])));

/** The call with its arguments' keys in every order. */
const callVariants = (name: ShopToolName, args: Record<string, unknown>): string[] => keyOrders(args).map((a) => call(name, a));

/** Parallel calls in every order. */
const parallelVariants = (...calls: string[]): string[] => permutations(calls).map((cs) => parallel(...cs));

const money = (x: number): string => x.toFixed(2);
const total = (o: Order): number => Math.round(o.items.reduce((a, it) => a + it.qty * it.price, 0) * 100) / 100;
const ordersOf = (s: ShopState, customerId: string): Order[] => s.orders.filter((o) => o.customer_id === customerId);

/** Reasons for a cancellation, each with a paraphrase (compared by word overlap). */
const REASONS: [string, string][] = [
  ['changed my mind', 'customer changed their mind'],
  ['ordered by mistake', 'order placed by mistake'],
  ['no longer needed', 'item no longer needed'],
  ['delivery too slow', 'the delivery is too slow'],
];

const getOrder = (o: Order): string => call('get_order', { order_id: o.id });

const cancelOrder: ToolTemplate = {
  name: 'cancel_order',
  draw(rng) {
    const state = drawShop(rng);
    const o = rng.pick(state.orders);
    o.status = 'pending';
    const reasons = rng.pick(REASONS);
    return {
      goal: `please cancel order ${o.id}, ${reasons[0]}`,
      state,
      steps: [
        [getOrder(o)],
        reasons.flatMap((reason) => callVariants('cancel_order', { order_id: o.id, reason })),
        [say(`Order ${o.id} is cancelled.`), say(`Done, order ${o.id} has been cancelled.`), say(`I cancelled order ${o.id} for you.`)],
      ],
      facts: [o.id],
      nearMiss: [getOrder(o), say(`Order ${o.id} is cancelled.`)],
    };
  },
};

const cancelLatest: ToolTemplate = {
  name: 'cancel_latest',
  draw(rng) {
    const state = drawShop(rng);
    const c = state.customers[0]; // the customer with two orders (orders are dealt round-robin)
    const [target, other] = rng.shuffle(ordersOf(state, c.id));
    target.status = 'pending';
    other.status = rng.pick(['shipped', 'delivered'] as const);
    const reasons = rng.pick(REASONS);
    return {
      goal: `I am ${c.email}: cancel my pending order, ${reasons[0]}`,
      state,
      steps: [
        [call('find_customer', { email: c.email })],
        [call('list_orders', { customer_id: c.id })],
        reasons.flatMap((reason) => callVariants('cancel_order', { order_id: target.id, reason })),
        [say(`Your pending order ${target.id} is cancelled.`), say(`Done, I cancelled your pending order ${target.id}.`)],
      ],
      facts: [target.id],
      nearMiss: [
        call('find_customer', { email: c.email }),
        call('cancel_order', { order_id: other.id, reason: reasons[0] }),
        say(`Your order ${other.id} is cancelled.`),
      ],
    };
  },
};

const cancelShipped: ToolTemplate = {
  name: 'cancel_shipped',
  draw(rng) {
    const state = drawShop(rng);
    const o = rng.pick(state.orders);
    o.status = 'shipped';
    return {
      goal: `please cancel my order ${o.id}`,
      state,
      steps: [
        [getOrder(o)],
        [
          say(`Order ${o.id} has already shipped, so it cannot be cancelled.`),
          say(`Sorry, order ${o.id} is already shipped and can no longer be cancelled.`),
          say(`${o.id} was shipped already; shipped orders cannot be cancelled.`),
        ],
      ],
      facts: [o.id, 'shipped'],
      nearMiss: [getOrder(o), say(`Order ${o.id} is cancelled.`)],
    };
  },
};

const changeAddress: ToolTemplate = {
  name: 'change_address',
  draw(rng) {
    const state = drawShop(rng);
    const o = rng.pick(state.orders);
    o.status = 'pending';
    let to = drawAddress(rng);
    while (to.street === o.address.street) to = drawAddress(rng);
    const where = `${to.street}, ${to.city} ${to.zip}`;
    const wrongStreet = { ...to, street: to.street.replace(/^\d+/, (n) => String(Number(n) + 1)) };
    return {
      goal: `send order ${o.id} to ${where}`,
      state,
      steps: [
        [getOrder(o)],
        keyOrders(to).flatMap((address) => callVariants('update_address', { order_id: o.id, address })),
        [
          say(`Order ${o.id} will ship to ${where}.`),
          say(`Done: order ${o.id} now ships to ${where}.`),
          say(`The address of order ${o.id} is now ${where}.`),
        ],
      ],
      facts: [o.id, to.street, to.city, to.zip],
      nearMiss: [call('update_address', { order_id: o.id, address: wrongStreet }), say(`Order ${o.id} will ship to ${where}.`)],
    };
  },
};

const refundItem: ToolTemplate = {
  name: 'refund_item',
  draw(rng) {
    const state = drawShop(rng);
    const o = rng.pick(state.orders);
    o.status = 'delivered';
    const it = rng.pick(o.items);
    const n = rng.int(1, it.qty);
    const amount = money(n * it.price);
    const wrongN = n < it.qty ? n + 1 : n - 1;
    return {
      goal: `refund ${n} x ${it.name} of order ${o.id}`,
      state,
      steps: [
        [getOrder(o)],
        callVariants('refund_item', { order_id: o.id, product_id: it.product_id, quantity: n }),
        [
          say(`Refunded ${amount} for ${n} x ${it.name} of order ${o.id}.`),
          say(`I refunded ${n} x ${it.name} (${amount}) of order ${o.id}.`),
          say(`Order ${o.id}: ${n} x ${it.name} refunded, ${amount} back to you.`),
        ],
      ],
      facts: [amount],
      nearMiss: [
        getOrder(o),
        call('refund_item', { order_id: o.id, product_id: it.product_id, quantity: wrongN }),
        say(`Refunded ${amount} for ${n} x ${it.name} of order ${o.id}.`),
      ],
    };
  },
};

const orderTotal: ToolTemplate = {
  name: 'order_total',
  draw(rng) {
    const state = drawShop(rng);
    const o = rng.pick(state.orders);
    const t = money(total(o));
    return {
      goal: `how much was order ${o.id} in total?`,
      state,
      steps: [
        [getOrder(o)],
        [say(`Order ${o.id} came to ${t} in total.`), say(`The total of order ${o.id} is ${t}.`), say(`Order ${o.id} totals ${t}.`)],
      ],
      facts: [t],
      nearMiss: [getOrder(o), say(`The total of order ${o.id} is ${money(total(o) + 1)}.`)],
    };
  },
};

const orderStatusPair: ToolTemplate = {
  name: 'order_status_pair',
  draw(rng) {
    const state = drawShop(rng);
    const [a, b] = rng.sample(state.orders, 2);
    [a.status, b.status] = rng.sample(['pending', 'shipped', 'delivered'] as const, 2);
    return {
      goal: `what is the status of orders ${a.id} and ${b.id}?`,
      state,
      steps: [
        parallelVariants(getOrder(a), getOrder(b)),
        [
          say(`Order ${a.id} is ${a.status} and order ${b.id} is ${b.status}.`),
          say(`${b.id} is ${b.status}; ${a.id} is ${a.status}.`),
          say(`Order ${a.id}: ${a.status}. Order ${b.id}: ${b.status}.`),
        ],
      ],
      facts: [a.id, a.status, b.id, b.status],
      nearMiss: [getOrder(a), say(`Order ${a.id} is ${a.status}.`)],
    };
  },
};

const stockCheck: ToolTemplate = {
  name: 'stock_check',
  draw(rng) {
    const state = drawShop(rng);
    const p = rng.pick(state.products);
    return {
      goal: `is the ${p.name} in stock? how many?`,
      state,
      steps: [
        [call('search_products', { query: p.name })],
        [
          say(`The ${p.name} is in stock: ${p.stock} left.`),
          say(`Yes, we have ${p.stock} of the ${p.name} in stock.`),
          say(`${p.stock} units of the ${p.name} are in stock.`),
        ],
      ],
      facts: [String(p.stock)],
      nearMiss: [call('search_products', { query: p.name }), say(`The ${p.name} is in stock: ${p.stock + 1} left.`)],
    };
  },
};

const updateEmail: ToolTemplate = {
  name: 'update_email',
  draw(rng) {
    const state = drawShop(rng);
    const c = rng.pick(state.customers);
    const [user, host] = c.email.split('@');
    const email = `${user}.${rng.int(1, 99)}@${host}`;
    return {
      goal: `I am ${c.email}, change my email to ${email}`,
      state,
      steps: [
        [call('find_customer', { email: c.email })],
        callVariants('update_email', { customer_id: c.id, email }),
        [
          say(`Your email is now ${email}.`),
          say(`Done, the email of your account is now ${email}.`),
          say(`I changed your email to ${email}.`),
        ],
      ],
      facts: [email],
      nearMiss: [
        call('find_customer', { email: c.email }),
        call('update_email', { customer_id: c.id, email: `${user}${email.slice(user.length + 1)}` }),
        say(`Your email is now ${email}.`),
      ],
    };
  },
};

const priceCompare: ToolTemplate = {
  name: 'price_compare',
  draw(rng) {
    const state = drawShop(rng);
    const [p, q] = rng.sample(state.products, 2);
    if (p.price === q.price) q.price = Math.round((q.price + 1) * 100) / 100;
    const [cheap, dear]: Product[] = p.price < q.price ? [p, q] : [q, p];
    const [cp, dp] = [money(cheap.price), money(dear.price)];
    return {
      goal: `which is cheaper: ${p.name} or ${q.name}?`,
      state,
      steps: [
        parallelVariants(call('search_products', { query: p.name }), call('search_products', { query: q.name })),
        [
          say(`The ${cheap.name} is cheaper: ${cp} against ${dp} for the ${dear.name}.`),
          say(`The ${cheap.name} is cheaper at ${cp}; the ${dear.name} costs ${dp}.`),
          say(`The ${dear.name} costs ${dp}, so the ${cheap.name} (${cp}) is cheaper.`),
        ],
      ],
      facts: [cheap.name, cp],
      nearMiss: [call('search_products', { query: p.name }), say(`The ${cheap.name} is cheaper: ${money(cheap.price + 1)}.`)],
    };
  },
};

export const TOOL_TEMPLATES: readonly ToolTemplate[] = [
  cancelOrder,
  cancelLatest,
  cancelShipped,
  changeAddress,
  refundItem,
  orderTotal,
  orderStatusPair,
  stockCheck,
  updateEmail,
  priceCompare,
];

/** Templates kept out of training by default: their held-out tasks test new compositions of known tools. */
export const DEFAULT_HELDOUT_TEMPLATES: readonly string[] = ['cancel_latest', 'price_compare'];
