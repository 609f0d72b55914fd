// The comparisons under the tool-use verifier: JSON arguments, word overlap, bipartite matching.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonSchema } from '../../core/domains/tool';
import { compareJson } from '../../verifiers/json';
import { maxMatching } from '../../verifiers/matching';
import { factWords, missingFacts, wordOverlap } from '../../tasks/tool/words';

const same = (e: unknown, a: unknown, schema?: JsonSchema) => compareJson(e, a, { threshold: 0.6, schema });

test('JSON arguments: key order and number formats do not matter; keys, types and values do', () => {
  assert.equal(same(JSON.parse('{"a":1,"b":"x"}'), JSON.parse('{"b":"x","a":1.0}')), null);
  assert.equal(same({ q: 3 }, { q: 3 + 1e-7 }), null);
  assert.equal(same({ q: 1e9 }, { q: 1e9 + 10 }), null, 'relative tolerance for large numbers');
  assert.match(same({ q: 3 }, { q: 3.01 })!.why, /expected 3, got 3.01/);
  assert.match(same({ q: 3 }, { q: '3' })!.why, /expected a number, got a string/);
  assert.match(same({ a: 1 }, { a: 1, b: 2 })!.why, /unexpected b/);
  assert.match(same({ a: 1, b: 2 }, { a: 1 })!.why, /missing b/);
  assert.deepEqual(same({ a: { b: [1, 2] } }, { a: { b: [1, 3] } }), { path: '$.a.b[1]', why: 'expected 2, got 3' });
  assert.match(same([1, 2], [1, 2, 3])!.why, /expected 2 items, got 3/);
  assert.equal(same(null, null), null);
  assert.notEqual(same(true, false), null);
  assert.notEqual(same(null, {}), null, 'null is not an object');
  assert.notEqual(same([], {}), null, 'an array is not an object');
});

test('JSON strings: one word exactly (trimmed), longer strings by word overlap against the threshold', () => {
  assert.equal(same('O12', ' O12 '), null);
  assert.notEqual(same('O12', 'o12'), null);
  assert.notEqual(same('O12', 'O12 please'), null);
  assert.equal(same('changed my mind', 'the customer changed their mind'), null);
  assert.notEqual(same('changed my mind', 'wrong size'), null);
  const strict = compareJson('changed my mind', 'customer changed their mind', { threshold: 0.9 });
  assert.notEqual(strict, null, 'the threshold is configurable');
});

test('JSON lists: in order, unless the schema says uniqueItems (then as a multiset)', () => {
  assert.notEqual(same(['a', 'b'], ['b', 'a']), null);
  const schema = { type: 'object', properties: { ids: { type: 'array', uniqueItems: true, items: { type: 'string' } } } };
  assert.equal(same({ ids: ['a', 'b', 'c'] }, { ids: ['c', 'a', 'b'] }, schema), null);
  assert.notEqual(same({ ids: ['a', 'b'] }, { ids: ['a', 'a'] }, schema), null);
  assert.notEqual(same({ ids: ['a', 'b'] }, { ids: ['a'] }, schema), null);
});

test('maximum bipartite matching finds a perfect matching where greedy would not', () => {
  // left 0 fits rights 0 and 1, left 1 fits right 0 only: greedy 0->0 leaves 1 unmatched.
  const edges = [
    [true, true],
    [true, false],
  ];
  const m = maxMatching(2, 2, (i, j) => edges[i][j]);
  assert.equal(m.size, 2);
  assert.deepEqual(m.pairs, [1, 0]);
  assert.deepEqual(maxMatching(2, 1, () => true).size, 1);
  assert.deepEqual(
    maxMatching(0, 3, () => true),
    { size: 0, pairs: [] },
  );
  assert.deepEqual(maxMatching(2, 2, () => false).pairs, [-1, -1]);
});

test('word overlap: paraphrases meet, inflections meet, numbers are normalised', () => {
  assert.equal(wordOverlap('Order O1 is cancelled.', 'I cancelled order O1 for you.'), 1);
  assert.equal(wordOverlap('cancelled', 'canceled'), 1);
  assert.equal(wordOverlap('shipped', 'ships'), 1);
  assert.equal(wordOverlap('total 42.50', 'total 42.5'), 1);
  assert.equal(wordOverlap('', ''), 1);
  assert.equal(wordOverlap('red lamp', ''), 0);
  assert.ok(wordOverlap('the red lamp', 'the blue mug') === 0);
  assert.ok(Math.abs(wordOverlap('red lamp', 'red') - 2 / 3) < 1e-9);
  assert.deepEqual(factWords('Order O1 costs 12.50, mail ana@shop.io.'), ['o1', '12.5', 'ana@shop.io']);
  assert.deepEqual(missingFacts('order O1 is shipped', ['O1', 'shipped', '12.50']), ['12.50']);
  assert.deepEqual(missingFacts('it came to 12.5', ['12.50']), []);
});
