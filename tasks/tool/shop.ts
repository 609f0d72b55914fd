// The simulated shop backend: pure, deterministic functions from (state, tool call) to (new state, tool output).
// The argument schemas (zod) are the single source of the tools' OpenAI definitions. A failing call (bad
// arguments, unknown id, a rule of the shop) leaves the state as it was and answers {"error": "..."}.
import { z } from 'zod';
import { Address, type Order, type ShopState, type ToolDefinition } from '../../core/domains/tool';
import { firstIssue } from '../../core/zod-errors';
import type { Call } from './action';
import { DEFAULT_WORD_OVERLAP, allWords, wordOverlap } from './words';

const Id = (what: string) => z.string().describe(`${what} id`);

const TOOLS = {
  find_customer: {
    description: 'Find a customer by email; returns the id, name and order ids.',
    args: z.strictObject({ email: z.string().describe('email address') }),
  },
  get_order: {
    description: 'Get an order: status, total, items, customer and shipping address.',
    args: z.strictObject({ order_id: Id('order') }),
  },
  list_orders: {
    description: "List a customer's orders with their status and total.",
    args: z.strictObject({ customer_id: Id('customer') }),
  },
  get_product: {
    description: 'Get a product: name, price and units in stock.',
    args: z.strictObject({ product_id: Id('product') }),
  },
  search_products: {
    description: 'Products whose name contains every word of the query (plurals match).',
    args: z.strictObject({ query: z.string().describe('words of the product name') }),
  },
  cancel_order: {
    description: 'Cancel a pending order; its items go back to stock.',
    args: z.strictObject({ order_id: Id('order'), reason: z.string().describe('why the customer cancels') }),
  },
  update_address: {
    description: 'Change the shipping address of a pending order.',
    args: z.strictObject({ order_id: Id('order'), address: Address.strict() }),
  },
  refund_item: {
    description: 'Refund units of one item of a delivered order.',
    args: z.strictObject({ order_id: Id('order'), product_id: Id('product'), quantity: z.number().describe('units to refund') }),
  },
  update_email: {
    description: "Change a customer's email address.",
    args: z.strictObject({ customer_id: Id('customer'), email: z.string().describe('the new email address') }),
  },
} as const;

export type ShopToolName = keyof typeof TOOLS;
export const SHOP_TOOL_NAMES = Object.keys(TOOLS) as ShopToolName[];

const isShopTool = (name: string): name is ShopToolName => Object.hasOwn(TOOLS, name);

/** The OpenAI definitions of the named tools (parameters from the zod schemas). */
export function shopTools(names: readonly ShopToolName[] = SHOP_TOOL_NAMES): ToolDefinition[] {
  return names.map((name) => {
    const { $schema: _drop, ...parameters } = z.toJSONSchema(TOOLS[name].args) as Record<string, unknown>;
    return { type: 'function', function: { name, description: TOOLS[name].description, parameters } };
  });
}

class ShopError extends Error {}

export const round2 = (x: number): number => Math.round(x * 100) / 100;

const orderTotal = (o: Order): number => round2(o.items.reduce((a, it) => a + it.qty * it.price, 0));

function findOrder(s: ShopState, id: string): Order {
  const o = s.orders.find((x) => x.id === id);
  if (!o) throw new ShopError(`no order ${id}`);
  return o;
}

function findCustomer(s: ShopState, id: string) {
  const c = s.customers.find((x) => x.id === id);
  if (!c) throw new ShopError(`no customer ${id}`);
  return c;
}

/** A count given as a number: within 1e-6 of a positive integer. */
function units(q: number): number {
  const n = Math.round(q);
  if (Math.abs(q - n) > 1e-6 || n < 1) throw new ShopError(`quantity must be a positive whole number, got ${q}`);
  return n;
}

const orderView = (o: Order) => ({
  id: o.id,
  status: o.status,
  total: orderTotal(o),
  items: o.items.map((it) => ({
    product_id: it.product_id,
    name: it.name,
    qty: it.qty,
    price: it.price,
    ...(it.refunded ? { refunded: it.refunded } : {}),
  })),
  customer_id: o.customer_id,
  address: o.address,
});

const productView = (p: ShopState['products'][number]) => ({ id: p.id, name: p.name, price: p.price, stock: p.stock });

type Handlers = { [K in ShopToolName]: (s: ShopState, args: z.infer<(typeof TOOLS)[K]['args']>) => unknown };

/** Each handler may change `s` (a private copy) and returns the tool's output. */
const HANDLERS: Handlers = {
  find_customer(s, { email }) {
    const c = s.customers.find((x) => x.email === email.trim());
    if (!c) throw new ShopError(`no customer with email ${email}`);
    return { id: c.id, name: c.name, orders: s.orders.filter((o) => o.customer_id === c.id).map((o) => o.id) };
  },
  get_order: (s, { order_id }) => orderView(findOrder(s, order_id)),
  list_orders(s, { customer_id }) {
    findCustomer(s, customer_id);
    return s.orders.filter((o) => o.customer_id === customer_id).map((o) => ({ id: o.id, status: o.status, total: orderTotal(o) }));
  },
  get_product(s, { product_id }) {
    const p = s.products.find((x) => x.id === product_id);
    if (!p) throw new ShopError(`no product ${product_id}`);
    return productView(p);
  },
  search_products(s, { query }) {
    const words = allWords(query);
    if (words.length === 0) throw new ShopError('empty query');
    return s.products.filter((p) => words.every((w) => allWords(p.name).includes(w))).map(productView);
  },
  cancel_order(s, { order_id, reason }) {
    const o = findOrder(s, order_id);
    if (o.status !== 'pending') throw new ShopError(`order ${o.id} is ${o.status}: only pending orders can be cancelled`);
    if (!reason.trim()) throw new ShopError('a reason is required');
    o.status = 'cancelled';
    o.note = reason.trim();
    for (const it of o.items) {
      const p = s.products.find((x) => x.id === it.product_id);
      if (p) p.stock += it.qty;
    }
    return { id: o.id, status: o.status };
  },
  update_address(s, { order_id, address }) {
    const o = findOrder(s, order_id);
    if (o.status !== 'pending') throw new ShopError(`order ${o.id} is ${o.status}: only pending orders can be re-addressed`);
    const clean = (x: string) => x.replace(/\s+/g, ' ').trim();
    o.address = { street: clean(address.street), city: clean(address.city), zip: clean(address.zip) };
    return { id: o.id, address: o.address };
  },
  refund_item(s, { order_id, product_id, quantity }) {
    const o = findOrder(s, order_id);
    if (o.status !== 'delivered') throw new ShopError(`order ${o.id} is ${o.status}: only delivered orders can be refunded`);
    const it = o.items.find((x) => x.product_id === product_id);
    if (!it) throw new ShopError(`order ${o.id} has no item ${product_id}`);
    const n = units(quantity);
    if (it.refunded + n > it.qty) throw new ShopError(`only ${it.qty - it.refunded} units of ${product_id} can be refunded`);
    it.refunded += n;
    return { order_id: o.id, product_id, quantity: n, amount: round2(n * it.price) };
  },
  update_email(s, { customer_id, email }) {
    const c = findCustomer(s, customer_id);
    const e = email.trim();
    if (!/^[^@\s]+@[^@\s]+$/.test(e)) throw new ShopError(`not an email address: ${email}`);
    if (s.customers.some((x) => x.email === e && x.id !== c.id)) throw new ShopError(`${e} belongs to another customer`);
    c.email = e;
    return { id: c.id, email: c.email };
  },
};

export interface CallResult {
  state: ShopState;
  /** The tool message's content (JSON). */
  output: string;
  ok: boolean;
}

/**
 * Applies one call to the state (never changed in place). `allowed` are the tools the task offers; a call to
 * another is an error like a bad argument.
 */
export function applyCall(state: ShopState, call: Pick<Call, 'name' | 'args'>, allowed?: readonly string[]): CallResult {
  const fail = (error: string): CallResult => ({ state, output: JSON.stringify({ error }), ok: false });
  if (!isShopTool(call.name) || (allowed && !allowed.includes(call.name))) return fail(`unknown tool ${call.name}`);
  const parsed = TOOLS[call.name].args.safeParse(call.args);
  if (!parsed.success) return fail(`invalid arguments: ${firstIssue(parsed.error)}`);
  const next = structuredClone(state);
  try {
    const handler = HANDLERS[call.name] as (s: ShopState, args: unknown) => unknown;
    return { state: next, output: JSON.stringify(handler(next, parsed.data)), ok: true };
  } catch (err) {
    if (err instanceof ShopError) return fail(err.message);
    throw err;
  }
}

/** Applies calls in order; the outputs are in the same order. */
export function applyCalls(state: ShopState, calls: readonly Pick<Call, 'name' | 'args'>[], allowed?: readonly string[]) {
  const outputs: { output: string; ok: boolean }[] = [];
  let s = state;
  for (const c of calls) {
    const r = applyCall(s, c, allowed);
    s = r.state;
    outputs.push({ output: r.output, ok: r.ok });
  }
  return { state: s, outputs };
}

/** Fields of the state that hold free text: compared by word overlap, all others exactly. */
const FREE_TEXT = new Set(['note']);

/**
 * Where two states differ (a path like `orders.2.address.street`), or null when they are equivalent: the same
 * records and values, free-text fields with word overlap at least `threshold`.
 */
export function stateDifference(a: ShopState, b: ShopState, threshold = DEFAULT_WORD_OVERLAP): string | null {
  const walk = (x: unknown, y: unknown, path: string[]): string | null => {
    const key = path[path.length - 1];
    if (typeof x === 'string' && typeof y === 'string' && FREE_TEXT.has(key)) {
      return x === y || wordOverlap(x, y) >= threshold ? null : path.join('.');
    }
    if (Array.isArray(x) && Array.isArray(y)) {
      if (x.length !== y.length) return path.join('.') || '(root)';
      for (let i = 0; i < x.length; i++) {
        const d = walk(x[i], y[i], [...path, String(i)]);
        if (d) return d;
      }
      return null;
    }
    if (x && y && typeof x === 'object' && typeof y === 'object' && !Array.isArray(x) && !Array.isArray(y)) {
      const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
      for (const k of [...keys].sort()) {
        const d = walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], [...path, k]);
        if (d) return d;
      }
      return null;
    }
    return Object.is(x, y) ? null : path.join('.') || '(root)';
  };
  return walk(a, b, []);
}
