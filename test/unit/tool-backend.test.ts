// The simulated shop: pure, deterministic, rules enforced, states compared with free text tolerated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../core/rng';
import { ToolDefinition } from '../../core/domains/tool';
import { applyCall, applyCalls, shopTools, stateDifference, SHOP_TOOL_NAMES } from '../../tasks/tool/shop';
import { drawShop } from '../../tasks/tool/world';

const shop = () => drawShop(new Rng(42));

test('the tool definitions are OpenAI function definitions with JSON-schema parameters', () => {
  const tools = shopTools();
  assert.equal(tools.length, SHOP_TOOL_NAMES.length);
  for (const t of tools) {
    ToolDefinition.parse(t);
    assert.equal(t.function.parameters.type, 'object');
    assert.ok(t.function.description.length > 0);
  }
  const address = tools.find((t) => t.function.name === 'update_address')!.function.parameters;
  assert.deepEqual(address.required, ['order_id', 'address']);
  assert.equal(address.properties?.address.type, 'object');
});

test('the backend is deterministic and never changes the state it is given', () => {
  const s = shop();
  const frozen = structuredClone(s);
  const order = s.orders[0];
  order.status = 'pending';
  const before = structuredClone(s);
  const call = { name: 'cancel_order', args: { order_id: order.id, reason: 'changed my mind' } };
  const a = applyCall(s, call);
  const b = applyCall(s, call);
  assert.deepEqual(a, b);
  assert.deepEqual(s, before, 'the input state is untouched');
  assert.ok(a.ok);
  assert.equal(a.state.orders[0].status, 'cancelled');
  assert.equal(a.state.orders[0].note, 'changed my mind');
  // Items go back to stock.
  const item = order.items[0];
  const stock = (st: typeof s) => st.products.find((p) => p.id === item.product_id)!.stock;
  assert.ok(stock(a.state) >= stock(s) + item.qty);
  assert.notDeepEqual(frozen, a.state);
});

test('failing calls answer an error and leave the state as it was', () => {
  const s = shop();
  const o = s.orders[0];
  o.status = 'shipped';
  for (const call of [
    { name: 'cancel_order', args: { order_id: o.id, reason: 'x y' } },
    { name: 'cancel_order', args: { order_id: 'O1', reason: 'x y' } },
    { name: 'get_order', args: { order_id: 12 } },
    { name: 'get_order', args: { order_id: o.id, extra: 1 } },
    { name: 'drop_tables', args: {} },
    { name: 'refund_item', args: { order_id: o.id, product_id: o.items[0].product_id, quantity: 1 } },
  ]) {
    const r = applyCall(s, call);
    assert.equal(r.ok, false, call.name);
    assert.equal(r.state, s);
    assert.ok(typeof JSON.parse(r.output).error === 'string');
  }
  const tools = ['get_order'];
  assert.equal(
    applyCall(s, { name: 'list_orders', args: { customer_id: s.customers[0].id } }, tools).ok,
    false,
    'a tool the task does not offer',
  );
});

test('refunds: whole units within 1e-6, never more than bought', () => {
  const s = shop();
  const o = s.orders[0];
  o.status = 'delivered';
  const it = o.items[0];
  it.qty = 2;
  const refund = (q: number, st = s) =>
    applyCall(st, { name: 'refund_item', args: { order_id: o.id, product_id: it.product_id, quantity: q } });
  const one = refund(1.0000001);
  assert.ok(one.ok);
  assert.equal(JSON.parse(one.output).amount, it.price);
  assert.equal(refund(1.5).ok, false);
  assert.equal(refund(3).ok, false);
  assert.ok(refund(1, one.state).ok);
  assert.equal(refund(2, one.state).ok, false);
});

test('parallel calls apply in order and report each output', () => {
  const s = shop();
  const [a, b] = s.orders;
  const r = applyCalls(s, [
    { name: 'get_order', args: { order_id: a.id } },
    { name: 'get_order', args: { order_id: b.id } },
  ]);
  assert.deepEqual(r.state, s, 'read-only calls change nothing');
  assert.deepEqual(
    r.outputs.map((o) => JSON.parse(o.output).id),
    [a.id, b.id],
  );
});

test('state comparison: exact, except free-text notes compared by word overlap', () => {
  const s = shop();
  s.orders[0].status = 'pending';
  const cancel = (reason: string) => applyCall(s, { name: 'cancel_order', args: { order_id: s.orders[0].id, reason } }).state;
  assert.equal(stateDifference(cancel('changed my mind'), cancel('the customer changed their mind')), null);
  assert.equal(stateDifference(cancel('changed my mind'), cancel('wrong size')), 'orders.0.note');
  const moved = structuredClone(s);
  moved.orders[1].address = { ...moved.orders[1].address, street: '1 Other St' };
  assert.equal(stateDifference(s, moved), 'orders.1.address.street');
  assert.equal(stateDifference(s, structuredClone(s)), null);
});
