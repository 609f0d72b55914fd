import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Memo, canonicalJson } from '../../core/memo';
import { verifyMemoSize } from '../../workers/build';

test('keys ignore object key order but not array order or values', () => {
  assert.equal(Memo.keyOf([{ a: 1, b: { c: 2, d: 3 } }]), Memo.keyOf([{ b: { d: 3, c: 2 }, a: 1 }]));
  assert.notEqual(Memo.keyOf([['x', 'y']]), Memo.keyOf([['y', 'x']]));
  assert.notEqual(Memo.keyOf(['ls', 1000]), Memo.keyOf(['ls', 2000]));
  assert.equal(canonicalJson({ z: [1, { b: 2, a: 1 }], a: null }), '{"a":null,"z":[1,{"a":1,"b":2}]}');
});

test('keeps at most its capacity, dropping the least recently used entry', () => {
  const memo = new Memo<number>(2);
  memo.set('a', 1);
  memo.set('b', 2);
  assert.equal(memo.get('a'), 1); // a is now the most recently used
  memo.set('c', 3);
  assert.equal(memo.get('b'), undefined);
  assert.equal(memo.get('a'), 1);
  assert.equal(memo.get('c'), 3);
  assert.deepEqual(memo.stats(), { hits: 3, misses: 1, size: 2 });
});

test('refuses a capacity that is not a positive integer', () => {
  assert.throws(() => new Memo(0), /positive integer/);
  assert.throws(() => new Memo(1.5), /positive integer/);
});

test('PIVOTRL_VERIFY_MEMO: default size, 0 turns it off, anything else is refused by name', () => {
  assert.equal(verifyMemoSize(undefined), 200_000);
  assert.equal(verifyMemoSize('0'), 0);
  assert.equal(verifyMemoSize('5000'), 5000);
  for (const bad of ['-1', '1.5', 'lots', '1e9']) assert.throws(() => verifyMemoSize(bad), /PIVOTRL_VERIFY_MEMO must be a whole number/);
});
