// Random small shops for the tool-use templates: three customers, six products, five orders; ids unique.
import type { Rng } from '../../core/rng';
import type { Address, Customer, Order, OrderStatus, Product, ShopState } from '../../core/domains/tool';

const NAMES = ['ana', 'ben', 'chen', 'dara', 'eli', 'fay', 'gus', 'hana', 'ivo', 'juno', 'kai', 'lea', 'milo', 'nia', 'omar', 'pia'];
const DOMAINS = ['mail.com', 'shop.io', 'web.de', 'post.org'];
const COLOURS = ['red', 'blue', 'green', 'black', 'white', 'grey'];
const THINGS = ['lamp', 'mug', 'chair', 'desk', 'pen', 'bag', 'clock', 'vase', 'rug', 'fan'];
const STREETS = ['Elm St', 'Oak St', 'Pine Rd', 'Mill Ln', 'High St', 'Park Ave', 'Lake Rd', 'Hill St'];
const CITIES = ['Lyon', 'Oslo', 'Porto', 'Graz', 'Turin', 'Ghent', 'Bern', 'Cork'];
const STATUSES: OrderStatus[] = ['pending', 'shipped', 'delivered'];

/** k distinct ids `${prefix}${n}` with n in [lo, hi]. */
function ids(rng: Rng, prefix: string, k: number, lo: number, hi: number): string[] {
  const out = new Set<string>();
  while (out.size < k) out.add(`${prefix}${rng.int(lo, hi)}`);
  return [...out];
}

export function drawAddress(rng: Rng): Address {
  return { street: `${rng.int(1, 99)} ${rng.pick(STREETS)}`, city: rng.pick(CITIES), zip: String(rng.int(1000, 9999)) };
}

/** A price like 12.99, 7.5 or 30. */
function drawPrice(rng: Rng): number {
  const whole = rng.int(2, 80);
  return Number((whole + rng.pick([0, 0.5, 0.99, 0.25])).toFixed(2));
}

export function drawShop(rng: Rng): ShopState {
  const customerIds = ids(rng, 'C', 3, 10, 99);
  const customers: Customer[] = rng.sample(NAMES, 3).map((name, i) => ({
    id: customerIds[i],
    name,
    email: `${name}@${rng.pick(DOMAINS)}`,
    address: drawAddress(rng),
  }));
  const names = new Set<string>();
  while (names.size < 6) names.add(`${rng.pick(COLOURS)} ${rng.pick(THINGS)}`);
  const products: Product[] = ids(rng, 'P', 6, 10, 99).map((id, i) => ({
    id,
    name: [...names][i],
    price: drawPrice(rng),
    stock: rng.int(1, 20),
  }));
  const orders: Order[] = ids(rng, 'O', 5, 100, 999).map((id, i) => {
    const c = customers[i % customers.length];
    return {
      id,
      customer_id: c.id,
      status: rng.pick(STATUSES),
      items: rng
        .sample(products, rng.int(1, 2))
        .map((p) => ({ product_id: p.id, name: p.name, qty: rng.int(1, 3), price: p.price, refunded: 0 })),
      address: c.address,
      note: '',
    };
  });
  return { customers, products, orders };
}
