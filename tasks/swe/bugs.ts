// Bug templates of the SWE suite. Each draws one buggy Python function (with the constant or helper it needs), the
// edits of its buggy line that fix it (several spellings, not all giving the same text), plausible edits that do
// not (partial fixes, fixes that break another test), the tests that fail because of the bug (fail-to-pass) and
// the tests of the same function that pass anyway (pass-to-pass), and the issue as a user would report it.
// Names and constants are drawn, so instances of one template differ.
import type { Rng } from '../../core/rng';

/** A test function: `def <name>():` then `code` (one line, indented by the writer). */
export interface PyTest {
  name: string;
  code: string;
}

/** A correct top-level function and its tests. */
export interface PyFunction {
  name: string;
  lines: string[];
  tests: PyTest[];
}

/** Replace the first `from` on the buggy line by `to`. */
export interface LineEdit {
  from: string;
  to: string;
}

export interface Bug {
  /** The bug template's name. */
  kind: string;
  fn: string;
  /** Top-level source lines: the function with the bug, after any constant it reads. */
  lines: string[];
  /** Index into `lines` of the line with the bug. */
  at: number;
  /** Edits of the buggy line that fix the bug; the first is the canonical fix. */
  fixes: LineEdit[];
  /** Edits of the buggy line that look plausible but leave some test failing or break another. */
  decoys: LineEdit[];
  failTests: PyTest[];
  passTests: PyTest[];
  /** Functions the buggy one calls, defined in the same module (with their own passing tests). */
  needs: PyFunction[];
  /** The issue, short: "sum_to(4) should be 10". */
  issue: string;
}

export interface BugTemplate {
  name: string;
  draw(rng: Rng): Bug;
}

const py = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : Array.isArray(v) ? `[${v.map(py).join(', ')}]` : String(v));
const call = (fn: string, ...args: unknown[]) => `${fn}(${args.map(py).join(', ')})`;
const bug = (b: Omit<Bug, 'needs'> & { needs?: PyFunction[] }): Bug => ({ needs: [], ...b });

const LETTERS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] as const;
const WORDS_BY_VOWEL: Record<string, readonly string[]> = {
  a: ['cat', 'map', 'bag', 'hat'],
  e: ['pen', 'red', 'bed', 'net'],
  i: ['tip', 'pig', 'sit', 'fin'],
  o: ['dog', 'pot', 'fox', 'log'],
  u: ['sun', 'cup', 'bus', 'mud'],
};
const WORDS = ['apple', 'river', 'stone', 'cloud', 'tiger', 'lemon', 'piano', 'house'] as const;

const offByOne: BugTemplate = {
  name: 'off_by_one',
  draw(rng) {
    if (rng.next() < 0.5) {
      const fn = rng.pick(['sum_to', 'total_upto', 'add_upto']);
      const k = rng.int(3, 9);
      const want = (k * (k + 1)) / 2;
      return bug({
        kind: 'off_by_one',
        fn,
        lines: [`def ${fn}(n):`, '    total = 0', '    for i in range(1, n):', '        total += i', '    return total'],
        at: 2,
        fixes: [
          { from: 'range(1, n)', to: 'range(1, n + 1)' },
          { from: 'range(1, n)', to: 'range(1, n+1)' },
          { from: ', n)', to: ', n + 1)' },
          { from: 'range(1, n)', to: 'range(n + 1)' },
        ],
        decoys: [
          { from: 'range(1, n)', to: 'range(1, max(n, 2))' },
          { from: 'range(1, n)', to: 'range(0, n)' },
          { from: 'range(1, n)', to: 'range(1, n - 1)' },
        ],
        failTests: [
          { name: `test_${fn}_${k}`, code: `assert ${call(fn, k)} == ${want}` },
          { name: `test_${fn}_one`, code: `assert ${call(fn, 1)} == 1` },
        ],
        passTests: [{ name: `test_${fn}_zero`, code: `assert ${call(fn, 0)} == 0` }],
        issue: `${call(fn, k)} should be ${want}`,
      });
    }
    const fn = rng.pick(['first_n', 'take', 'head']);
    const items = LETTERS.slice(0, rng.int(4, 6));
    const n = rng.int(2, items.length - 1);
    return bug({
      kind: 'off_by_one',
      fn,
      lines: [`def ${fn}(items, n):`, '    return items[:n - 1]'],
      at: 1,
      fixes: [
        { from: '[:n - 1]', to: '[:n]' },
        { from: 'n - 1]', to: 'n]' },
        { from: 'items[:n - 1]', to: 'items[0:n]' },
      ],
      decoys: [
        { from: '[:n - 1]', to: '[:n + 1]' },
        { from: '[:n - 1]', to: '[1:n]' },
      ],
      failTests: [
        { name: `test_${fn}_${n}`, code: `assert ${call(fn, [...items], n)} == ${py(items.slice(0, n))}` },
        { name: `test_${fn}_one`, code: `assert ${call(fn, ['x'], 1)} == ['x']` },
      ],
      passTests: [{ name: `test_${fn}_empty`, code: `assert ${call(fn, [], n)} == []` }],
      issue: `${fn}(items, ${n}) should give ${n} items`,
    });
  },
};

const wrongOperator: BugTemplate = {
  name: 'wrong_operator',
  draw(rng) {
    const shape = rng.int(0, 2);
    if (shape === 0) {
      const fn = rng.pick(['total_cost', 'line_total', 'price_of']);
      const [p, q] = [rng.int(3, 9), rng.int(3, 9)];
      return bug({
        kind: 'wrong_operator',
        fn,
        lines: [`def ${fn}(price, qty):`, '    return price + qty'],
        at: 1,
        fixes: [
          { from: 'price + qty', to: 'price * qty' },
          { from: '+ qty', to: '* qty' },
          { from: 'price + qty', to: 'qty * price' },
        ],
        decoys: [
          { from: 'price + qty', to: 'price ** qty' },
          { from: 'price + qty', to: 'price - qty' },
        ],
        failTests: [
          { name: `test_${fn}`, code: `assert ${call(fn, p, q)} == ${p * q}` },
          { name: `test_${fn}_one`, code: `assert ${call(fn, p, 1)} == ${p}` },
        ],
        passTests: [{ name: `test_${fn}_two`, code: `assert ${call(fn, 2, 2)} == 4` }],
        issue: `${call(fn, p, q)} should be ${p * q}`,
      });
    }
    if (shape === 1) {
      const fn = rng.pick(['change_due', 'refund', 'balance']);
      const [paid, cost, k] = [rng.int(20, 50), rng.int(3, 19), rng.int(2, 9)];
      return bug({
        kind: 'wrong_operator',
        fn,
        lines: [`def ${fn}(paid, cost):`, '    return paid + cost'],
        at: 1,
        fixes: [
          { from: 'paid + cost', to: 'paid - cost' },
          { from: '+ cost', to: '- cost' },
          { from: 'paid + cost', to: '-cost + paid' },
        ],
        decoys: [
          { from: 'paid + cost', to: 'cost - paid' },
          { from: 'paid + cost', to: 'paid * cost' },
        ],
        failTests: [{ name: `test_${fn}`, code: `assert ${call(fn, paid, cost)} == ${paid - cost}` }],
        passTests: [{ name: `test_${fn}_free`, code: `assert ${call(fn, k, 0)} == ${k}` }],
        issue: `${call(fn, paid, cost)} should be ${paid - cost}`,
      });
    }
    const fn = rng.pick(['average', 'mean_of', 'avg']);
    const a = rng.int(1, 9);
    const b = a + 2 * rng.int(1, 4);
    const k = rng.int(2, 9);
    return bug({
      kind: 'wrong_operator',
      fn,
      lines: [`def ${fn}(xs):`, '    return sum(xs) * len(xs)'],
      at: 1,
      fixes: [
        { from: 'sum(xs) * len(xs)', to: 'sum(xs) / len(xs)' },
        { from: '* len', to: '/ len' },
      ],
      decoys: [
        { from: '* len', to: '- len' },
        { from: '* len', to: '+ len' },
      ],
      failTests: [{ name: `test_${fn}`, code: `assert ${call(fn, [a, b])} == ${(a + b) / 2}` }],
      passTests: [{ name: `test_${fn}_single`, code: `assert ${call(fn, [k])} == ${k}` }],
      issue: `${call(fn, [a, b])} should be ${(a + b) / 2}`,
    });
  },
};

const wrongComparison: BugTemplate = {
  name: 'wrong_comparison',
  draw(rng) {
    if (rng.next() < 0.5) {
      const fn = rng.pick(['can_vote', 'is_adult', 'may_drive']);
      const t = rng.int(16, 21);
      return bug({
        kind: 'wrong_comparison',
        fn,
        lines: [`def ${fn}(age):`, `    return age > ${t}`],
        at: 1,
        fixes: [
          { from: `age > ${t}`, to: `age >= ${t}` },
          { from: `> ${t}`, to: `>= ${t}` },
          { from: `age > ${t}`, to: `age > ${t - 1}` },
        ],
        decoys: [
          { from: `age > ${t}`, to: `age < ${t}` },
          { from: `age > ${t}`, to: `age >= ${t + 1}` },
        ],
        failTests: [{ name: `test_${fn}_${t}`, code: `assert ${call(fn, t)}` }],
        passTests: [
          { name: `test_${fn}_older`, code: `assert ${call(fn, t + 10)}` },
          { name: `test_${fn}_young`, code: `assert not ${call(fn, t - 5)}` },
        ],
        issue: `${call(fn, t)} should be True`,
      });
    }
    const fn = rng.pick(['in_range', 'within', 'between']);
    const lo = rng.int(1, 5);
    const hi = lo + rng.int(5, 15);
    return bug({
      kind: 'wrong_comparison',
      fn,
      lines: [`def ${fn}(x, lo, hi):`, '    return lo <= x < hi'],
      at: 1,
      fixes: [
        { from: 'x < hi', to: 'x <= hi' },
        { from: '< hi', to: '<= hi' },
        { from: 'lo <= x < hi', to: 'lo <= x and x <= hi' },
      ],
      decoys: [
        { from: 'lo <= x < hi', to: 'lo < x <= hi' },
        { from: 'x < hi', to: 'x < hi + 2' },
      ],
      failTests: [{ name: `test_${fn}_hi`, code: `assert ${call(fn, hi, lo, hi)}` }],
      passTests: [
        { name: `test_${fn}_lo`, code: `assert ${call(fn, lo, lo, hi)}` },
        { name: `test_${fn}_out`, code: `assert not ${call(fn, hi + 1, lo, hi)}` },
      ],
      issue: `${call(fn, hi, lo, hi)} should be True`,
    });
  },
};

const wrongDefault: BugTemplate = {
  name: 'wrong_default',
  draw(rng) {
    const shape = rng.int(0, 2);
    if (shape === 0) {
      const fn = rng.pick(['join_words', 'glue', 'spaced']);
      const [w1, w2] = rng.sample(WORDS, 2);
      return bug({
        kind: 'wrong_default',
        fn,
        lines: [`def ${fn}(words, sep=','):`, '    return sep.join(words)'],
        at: 0,
        fixes: [
          { from: "sep=','", to: "sep=' '" },
          { from: "','", to: "' '" },
          { from: "sep=','", to: 'sep=" "' },
        ],
        decoys: [
          { from: "sep=','", to: "sep=''" },
          { from: "sep=','", to: "sep='_'" },
        ],
        failTests: [{ name: `test_${fn}`, code: `assert ${call(fn, [w1, w2])} == '${w1} ${w2}'` }],
        passTests: [{ name: `test_${fn}_sep`, code: `assert ${call(fn, [w1, w2], '-')} == '${w1}-${w2}'` }],
        issue: `${fn}(words) should join with spaces`,
      });
    }
    if (shape === 1) {
      const fn = rng.pick(['power', 'raise_to', 'pow_of']);
      const k = rng.int(3, 9);
      return bug({
        kind: 'wrong_default',
        fn,
        lines: [`def ${fn}(x, exp=1):`, '    return x ** exp'],
        at: 0,
        fixes: [
          { from: 'exp=1', to: 'exp=2' },
          { from: '=1)', to: '=2)' },
        ],
        decoys: [
          { from: 'exp=1', to: 'exp=3' },
          { from: 'exp=1', to: 'exp=0' },
        ],
        failTests: [{ name: `test_${fn}_default`, code: `assert ${call(fn, k)} == ${k * k}` }],
        passTests: [{ name: `test_${fn}_cube`, code: `assert ${call(fn, 2, 3)} == 8` }],
        issue: `${call(fn, k)} should be ${k * k}`,
      });
    }
    const fn = rng.pick(['page', 'first_page', 'top']);
    const want = rng.int(3, 5);
    const wrong = rng.pick([2, 6, 7].filter((v) => v !== want));
    return bug({
      kind: 'wrong_default',
      fn,
      lines: [`def ${fn}(items, size=${wrong}):`, '    return items[:size]'],
      at: 0,
      fixes: [
        { from: `size=${wrong}`, to: `size=${want}` },
        { from: `=${wrong})`, to: `=${want})` },
      ],
      decoys: [
        { from: `size=${wrong}`, to: `size=${want + 1}` },
        { from: `size=${wrong}`, to: `size=${want - 1}` },
      ],
      failTests: [
        { name: `test_${fn}_default`, code: `assert ${fn}(list(range(10))) == ${py(Array.from({ length: want }, (_, i) => i))}` },
      ],
      passTests: [{ name: `test_${fn}_two`, code: `assert ${fn}(list(range(10)), 2) == [0, 1]` }],
      issue: `${fn}(items) should return ${want} items`,
    });
  },
};

const DIVIDE: PyFunction = {
  name: 'divide',
  lines: ['def divide(a, b):', '    return a / b'],
  tests: [{ name: 'test_divide', code: 'assert divide(9, 3) == 3' }],
};

const swappedArgs: BugTemplate = {
  name: 'swapped_args',
  draw(rng) {
    const shape = rng.int(0, 2);
    if (shape === 0) {
      const fn = rng.pick(['ratio', 'per_unit', 'share']);
      const y = rng.int(2, 5);
      const x = y * rng.int(2, 9);
      return bug({
        kind: 'swapped_args',
        fn,
        lines: [`def ${fn}(x, y):`, '    return divide(y, x)'],
        at: 1,
        fixes: [
          { from: 'divide(y, x)', to: 'divide(x, y)' },
          { from: '(y, x)', to: '(x, y)' },
          { from: 'divide(y, x)', to: 'x / y' },
        ],
        decoys: [
          { from: 'divide(y, x)', to: 'divide(x, x)' },
          { from: 'divide(y, x)', to: 'divide(y, y)' },
        ],
        failTests: [{ name: `test_${fn}`, code: `assert ${call(fn, x, y)} == ${x / y}` }],
        passTests: [{ name: `test_${fn}_same`, code: `assert ${call(fn, 3, 3)} == 1` }],
        needs: [DIVIDE],
        issue: `${call(fn, x, y)} should be ${x / y}`,
      });
    }
    if (shape === 1) {
      const fn = rng.pick(['starts', 'has_prefix', 'begins']);
      const [w1, w2] = rng.sample(WORDS, 2);
      const pre = w1.slice(0, 2);
      return bug({
        kind: 'swapped_args',
        fn,
        lines: [`def ${fn}(s, p):`, '    return p.startswith(s)'],
        at: 1,
        fixes: [
          { from: 'p.startswith(s)', to: 's.startswith(p)' },
          { from: 'p.startswith(s)', to: 's[:len(p)] == p' },
        ],
        decoys: [
          { from: 'p.startswith(s)', to: 's.endswith(p)' },
          { from: 'p.startswith(s)', to: 's.startswith(s)' },
        ],
        failTests: [
          { name: `test_${fn}`, code: `assert ${call(fn, w1, pre)}` },
          { name: `test_${fn}_empty`, code: `assert ${call(fn, w1, '')}` },
        ],
        passTests: [
          { name: `test_${fn}_same`, code: `assert ${call(fn, w2, w2)}` },
          { name: `test_${fn}_no`, code: `assert not ${call(fn, w2, 'zz')}` },
        ],
        issue: `${call(fn, w1, pre)} should be True`,
      });
    }
    const fn = rng.pick(['power_of', 'exp_of']);
    const k = rng.pick([3, 5, 6]); // not 2 or 4: there pow(k, 2) == pow(2, k) and the bug would pass its test
    return bug({
      kind: 'swapped_args',
      fn,
      lines: [`def ${fn}(base, exp):`, '    return pow(exp, base)'],
      at: 1,
      fixes: [
        { from: 'pow(exp, base)', to: 'pow(base, exp)' },
        { from: 'pow(exp, base)', to: 'base ** exp' },
      ],
      decoys: [
        { from: 'pow(exp, base)', to: 'pow(base, base)' },
        { from: 'pow(exp, base)', to: 'exp ** base' },
      ],
      failTests: [{ name: `test_${fn}`, code: `assert ${call(fn, 2, k)} == ${2 ** k}` }],
      passTests: [{ name: `test_${fn}_square`, code: `assert ${call(fn, 2, 2)} == 4` }],
      issue: `${call(fn, 2, k)} should be ${2 ** k}`,
    });
  },
};

const missingCase: BugTemplate = {
  name: 'missing_case',
  draw(rng) {
    const shape = rng.int(0, 2);
    if (shape === 0) {
      const fn = rng.pick(['count_vowels', 'vowels_in', 'n_vowels']);
      const miss = rng.pick(['a', 'e', 'i', 'o', 'u']);
      const present = 'aeiou'.replace(miss, '');
      const other = rng.pick([...present]);
      const w = rng.pick(WORDS_BY_VOWEL[miss]);
      return bug({
        kind: 'missing_case',
        fn,
        lines: [`VOWELS = '${present}'`, '', '', `def ${fn}(word):`, '    return sum(1 for c in word if c in VOWELS)'],
        at: 0,
        fixes: [
          { from: `'${present}'`, to: "'aeiou'" },
          { from: `VOWELS = '${present}'`, to: "VOWELS = 'aeiou'" },
          { from: `${present}'`, to: `${present}${miss}'` },
        ],
        decoys: [
          { from: `'${present}'`, to: `'${miss}'` },
          { from: `'${present}'`, to: `'${present}y'` },
        ],
        failTests: [{ name: `test_${fn}_${miss}`, code: `assert ${call(fn, w)} == 1` }],
        passTests: [
          { name: `test_${fn}_${other}`, code: `assert ${call(fn, rng.pick(WORDS_BY_VOWEL[other]))} == 1` },
          { name: `test_${fn}_none`, code: `assert ${call(fn, 'xyz')} == 0` },
        ],
        issue: `${call(fn, w)} should be 1`,
      });
    }
    if (shape === 1) {
      const fn = rng.pick(['is_weekend', 'day_off', 'rest_day']);
      const [present, missing] = rng.shuffle(['sat', 'sun']);
      const workday = rng.pick(['mon', 'tue', 'wed', 'thu', 'fri']);
      return bug({
        kind: 'missing_case',
        fn,
        lines: [`WEEKEND = ('${present}',)`, '', '', `def ${fn}(day):`, '    return day in WEEKEND'],
        at: 0,
        fixes: [
          { from: `('${present}',)`, to: `('${present}', '${missing}')` },
          { from: `'${present}',)`, to: `'${present}', '${missing}')` },
          { from: `('${present}',)`, to: `('${missing}', '${present}')` },
        ],
        decoys: [
          { from: `('${present}',)`, to: `('${missing}',)` },
          { from: `('${present}',)`, to: `('${present}', '${workday}')` },
        ],
        failTests: [{ name: `test_${fn}_${missing}`, code: `assert ${call(fn, missing)}` }],
        passTests: [
          { name: `test_${fn}_${present}`, code: `assert ${call(fn, present)}` },
          { name: `test_${fn}_${workday}`, code: `assert not ${call(fn, workday)}` },
        ],
        issue: `${call(fn, missing)} should be True`,
      });
    }
    const fn = rng.pick(['to_seconds', 'in_seconds', 'as_seconds']);
    const k = rng.int(2, 59);
    return bug({
      kind: 'missing_case',
      fn,
      lines: ["UNITS = {'h': 3600, 'm': 60}", '', '', `def ${fn}(n, unit):`, '    return n * UNITS[unit]'],
      at: 0,
      fixes: [
        { from: "'m': 60}", to: "'m': 60, 's': 1}" },
        { from: '60}', to: "60, 's': 1}" },
        { from: "{'h'", to: "{'s': 1, 'h'" },
      ],
      decoys: [
        { from: "'m': 60}", to: "'s': 1}" },
        { from: "'m': 60}", to: "'m': 60, 's': 60}" },
      ],
      failTests: [{ name: `test_${fn}_s`, code: `assert ${call(fn, k, 's')} == ${k}` }],
      passTests: [
        { name: `test_${fn}_m`, code: `assert ${call(fn, 2, 'm')} == 120` },
        { name: `test_${fn}_h`, code: `assert ${call(fn, 1, 'h')} == 3600` },
      ],
      issue: `${call(fn, k, 's')} should be ${k}`,
    });
  },
};

const wrongCondition: BugTemplate = {
  name: 'wrong_condition',
  draw(rng) {
    if (rng.next() < 0.5) {
      const fn = rng.pick(['evens', 'only_even', 'keep_even']);
      const xs = rng.shuffle([rng.pick([4, 8]), rng.pick([2, 6]), rng.pick([1, 3]), rng.pick([5, 7, 9])]);
      return bug({
        kind: 'wrong_condition',
        fn,
        lines: [`def ${fn}(xs):`, '    return [x for x in xs if x % 2 == 1]'],
        at: 1,
        fixes: [
          { from: '% 2 == 1', to: '% 2 == 0' },
          { from: '== 1]', to: '== 0]' },
          { from: 'x % 2 == 1', to: 'x % 2 != 1' },
          { from: 'if x % 2 == 1', to: 'if not x % 2' },
        ],
        decoys: [
          { from: '% 2 == 1', to: '% 4 == 2' },
          { from: 'x % 2 == 1', to: 'x % 2' },
        ],
        failTests: [
          { name: `test_${fn}`, code: `assert ${call(fn, xs)} == ${py(xs.filter((x) => x % 2 === 0))}` },
          { name: `test_${fn}_two`, code: `assert ${call(fn, [2, 3])} == [2]` },
        ],
        passTests: [{ name: `test_${fn}_empty`, code: `assert ${call(fn, [])} == []` }],
        issue: `${fn}(xs) should keep the even numbers`,
      });
    }
    const fn = rng.pick(['non_blank', 'drop_blank', 'filled']);
    const [w1, w2] = rng.sample(WORDS, 2);
    return bug({
      kind: 'wrong_condition',
      fn,
      lines: [`def ${fn}(lines):`, '    return [s for s in lines if not s.strip()]'],
      at: 1,
      fixes: [
        { from: 'if not s.strip()', to: 'if s.strip()' },
        { from: 'not s', to: 's' },
        { from: 'not s.strip()', to: "s.strip() != ''" },
      ],
      decoys: [
        { from: 'if not s.strip()', to: 'if s' },
        { from: 'if not s.strip()', to: 'if len(s) > 1' },
      ],
      failTests: [
        { name: `test_${fn}`, code: `assert ${call(fn, [w1, '', w2])} == ${py([w1, w2])}` },
        { name: `test_${fn}_spaces`, code: `assert ${call(fn, [w1, '  '])} == ${py([w1])}` },
      ],
      passTests: [{ name: `test_${fn}_empty`, code: `assert ${call(fn, [])} == []` }],
      issue: `${fn}(lines) should drop blank lines`,
    });
  },
};

const wrongReturn: BugTemplate = {
  name: 'wrong_return',
  draw(rng) {
    if (rng.next() < 0.5) {
      const fn = rng.pick(['largest', 'max_of', 'biggest']);
      const big = rng.int(50, 99);
      const xs = [rng.int(1, 40), big, rng.int(1, 40)];
      const k = rng.int(2, 9);
      return bug({
        kind: 'wrong_return',
        fn,
        lines: [`def ${fn}(xs):`, '    best = xs[0]', '    for x in xs:', '        if x > best:', '            best = x', '    return x'],
        at: 5,
        fixes: [
          { from: 'return x', to: 'return best' },
          { from: 'return x', to: 'return max(xs)' },
        ],
        decoys: [
          { from: 'return x', to: 'return xs[-1]' },
          { from: 'return x', to: 'return best - 1' },
        ],
        failTests: [{ name: `test_${fn}`, code: `assert ${call(fn, xs)} == ${big}` }],
        passTests: [{ name: `test_${fn}_last`, code: `assert ${call(fn, [1, k])} == ${k}` }],
        issue: `${call(fn, xs)} should be ${big}`,
      });
    }
    const fn = rng.pick(['count_long', 'n_long', 'long_words']);
    const [w1, w2] = rng.sample(WORDS, 2);
    return bug({
      kind: 'wrong_return',
      fn,
      lines: [
        `def ${fn}(words, n):`,
        '    count = 0',
        '    for w in words:',
        '        if len(w) > n:',
        '            count += 1',
        '    return len(words)',
      ],
      at: 5,
      fixes: [
        { from: 'return len(words)', to: 'return count' },
        { from: 'len(words)', to: 'count' },
      ],
      decoys: [
        { from: 'return len(words)', to: 'return count + 1' },
        { from: 'len(words)', to: 'len(w)' },
      ],
      failTests: [{ name: `test_${fn}`, code: `assert ${call(fn, [w1, 'ab', w2, 'c'], 3)} == 2` }],
      passTests: [
        { name: `test_${fn}_all`, code: `assert ${call(fn, [w1, w2], 2)} == 2` },
        { name: `test_${fn}_none`, code: `assert ${call(fn, [], 3)} == 0` },
      ],
      issue: `${fn}(words, n) counts short words too`,
    });
  },
};

/** The single-bug templates (the two-bug template combines two of them). */
export const BUG_TEMPLATES: readonly BugTemplate[] = [
  offByOne,
  wrongOperator,
  wrongComparison,
  wrongDefault,
  swappedArgs,
  missingCase,
  wrongCondition,
  wrongReturn,
];

/** Correct functions that fill the repositories (their tests are pass-to-pass). */
export const HELPERS: readonly ((rng: Rng) => PyFunction)[] = [
  (rng) => {
    const k = rng.int(2, 30);
    return {
      name: 'double',
      lines: ['def double(x):', '    return x * 2'],
      tests: [{ name: 'test_double', code: `assert double(${k}) == ${2 * k}` }],
    };
  },
  (rng) => {
    const k = rng.int(2, 12);
    return {
      name: 'square',
      lines: ['def square(x):', '    return x * x'],
      tests: [{ name: 'test_square', code: `assert square(${k}) == ${k * k}` }],
    };
  },
  (rng) => {
    const k = 2 * rng.int(1, 20);
    return {
      name: 'is_even',
      lines: ['def is_even(n):', '    return n % 2 == 0'],
      tests: [
        { name: 'test_is_even', code: `assert is_even(${k})` },
        { name: 'test_is_even_odd', code: `assert not is_even(${k + 1})` },
      ],
    };
  },
  (rng) => {
    const hi = rng.int(5, 20);
    return {
      name: 'clamp',
      lines: ['def clamp(x, lo, hi):', '    return max(lo, min(x, hi))'],
      tests: [{ name: 'test_clamp', code: `assert clamp(${hi + rng.int(1, 9)}, 0, ${hi}) == ${hi}` }],
    };
  },
  (rng) => {
    const w = rng.pick(WORDS);
    return {
      name: 'shout',
      lines: ['def shout(s):', "    return s.upper() + '!'"],
      tests: [{ name: 'test_shout', code: `assert shout('${w}') == '${w.toUpperCase()}!'` }],
    };
  },
  (rng) => {
    const words = rng.sample(WORDS, rng.int(2, 4));
    return {
      name: 'count_words',
      lines: ['def count_words(s):', '    return len(s.split())'],
      tests: [{ name: 'test_count_words', code: `assert count_words('${words.join(' ')}') == ${words.length}` }],
    };
  },
  (rng) => {
    const k = rng.int(1, 50);
    return {
      name: 'negate',
      lines: ['def negate(x):', '    return -x'],
      tests: [{ name: 'test_negate', code: `assert negate(${k}) == -${k}` }],
    };
  },
  (rng) => {
    const whole = rng.pick([4, 5, 10, 20]);
    const part = rng.int(1, whole);
    return {
      name: 'percent',
      lines: ['def percent(part, whole):', '    return round(100 * part / whole)'],
      tests: [{ name: 'test_percent', code: `assert percent(${part}, ${whole}) == ${Math.round((100 * part) / whole)}` }],
    };
  },
];
