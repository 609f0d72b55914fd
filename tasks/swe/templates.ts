// SWE task templates: each draws a small Python repository with seeded bug(s) (see bugs.ts), its tests and
// runner, and the expert's steps: look (ls), run the tests, search (grep -n), open (cat -n, nl -ba, sed -n),
// edit (a one-line sed), run the tests again. Each step lists several valid actions with the exact output each
// prints (computed here, checked against real runs by test/integration/swe-tasks.test.ts); edit steps also
// list plausible wrong edits (decoys) for tests and benchmarks.
import type { Rng } from '../../core/rng';
import type { TaskFile } from '../../core/schemas';
import type { ActionVariant } from '../terminal/templates';
import { BUG_TEMPLATES, HELPERS, type Bug, type BugTemplate, type LineEdit, type PyFunction, type PyTest } from './bugs';
import { RUNNER_FILE, RUNNER_SOURCE, TEST_COMMAND, formatTestOutput } from './runner';

/** Longest action the policy can write after a full prompt (context 256 = prompt 200 + action + stop). */
export const MAX_ACTION_CHARS = 55;

export type StepKind = 'list' | 'test' | 'search' | 'open' | 'edit';

export interface SweStep {
  kind: StepKind;
  /** Valid actions with what each prints; the expert uses one of them. */
  variants: ActionVariant[];
  /** Edit steps: one-line edits that look right but leave a test failing or break another. */
  decoys: string[];
}

export interface DrawnSweTask {
  goal: string;
  files: TaskFile[];
  testFiles: string[];
  tests: { failToPass: string[]; passToPass: string[] };
  steps: SweStep[];
}

export interface SweTemplate {
  name: string;
  draw(rng: Rng): DrawnSweTask;
}

const MODULES = ['calc', 'core', 'tools', 'utils', 'helpers', 'mathx', 'ops', 'funcs', 'shop', 'text', 'stats', 'misc'] as const;

// --------------------------------------------------------------------------------------------------------
// Shell actions and what they print (LC_ALL=C, no tty).

/** sed BRE: escape what is special (a `.` is left as is, as people write it; placeEdit checks it matches literally). */
const breEscape = (s: string) => s.replace(/[\\*[\]^$/]/g, (c) => `\\${c}`);
const replacementEscape = (s: string) => s.replace(/[\\&/]/g, (c) => `\\${c}`);
/** The regex sed will use, in JS terms: `.` any character, everything else literal. */
const breRegex = (s: string) => new RegExp(s.replace(/[\\*[\]^$/+?(){}|]/g, (c) => `\\${c}`));

/** Single quotes when possible; else double quotes with \, ", $ and ` escaped. */
export function shellQuote(s: string): string {
  if (!s.includes("'")) return `'${s}'`;
  return `"${s.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

export const sedEdit = (file: string, line: number | null, e: LineEdit): string =>
  `sed -i ${shellQuote(`${line ?? ''}s/${breEscape(e.from)}/${replacementEscape(e.to)}/`)} ${file}`;

const lineSplit = (content: string): string[] => content.replace(/\n$/, '').split('\n');
const numbered = (content: string): string =>
  lineSplit(content)
    .map((l, i) => `${String(i + 1).padStart(6)}\t${l}\n`)
    .join('');
const byteSorted = (xs: string[]) => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

function grepOutput(files: TaskFile[], needle: string): string {
  return byteSorted(files.filter((f) => f.path.endsWith('.py')).map((f) => f.path))
    .flatMap((path) => {
      const content = files.find((f) => f.path === path)!.content;
      return lineSplit(content)
        .map((l, i) => ({ l, i }))
        .filter(({ l }) => l.includes(needle))
        .map(({ l, i }) => `${path}:${i + 1}:${l}\n`);
    })
    .join('');
}

const fit = (variants: ActionVariant[]): ActionVariant[] => {
  const short = variants.filter((v) => v.action.length <= MAX_ACTION_CHARS);
  return short.length > 0 ? short : [variants.reduce((a, b) => (b.action.length < a.action.length ? b : a))];
};
const step = (kind: StepKind, variants: ActionVariant[], decoys: string[] = []): SweStep => ({ kind, variants: fit(variants), decoys });

// --------------------------------------------------------------------------------------------------------
// Repositories.

interface Module {
  name: string;
  /** Top-level blocks (functions, constants+function), separated by two blank lines. */
  blocks: { lines: string[]; bug?: Bug }[];
  tests: PyTest[];
  exports: string[];
}

interface Placed {
  bug: Bug;
  file: string;
  /** 1-based lines in the file: the buggy line, and the first and last line of the bug's block. */
  line: number;
  first: number;
  last: number;
}

function renderModule(m: Module): { source: string; placed: Placed[] } {
  const out: string[] = [];
  const placed: Placed[] = [];
  m.blocks.forEach((b, i) => {
    if (i > 0) out.push('', '');
    if (b.bug)
      placed.push({
        bug: b.bug,
        file: `${m.name}.py`,
        line: out.length + b.bug.at + 1,
        first: out.length + 1,
        last: out.length + b.lines.length,
      });
    out.push(...b.lines);
  });
  return { source: out.join('\n') + '\n', placed };
}

function renderTests(m: Module): string {
  const head = `from ${m.name} import ${m.exports.join(', ')}\n`;
  return head + m.tests.map((t) => `\n\ndef ${t.name}():\n    ${t.code}\n`).join('');
}

/** The line with `e.from` replaced, checking that sed's regex finds it where a literal search does. */
function editedLine(line: string, e: LineEdit): string | null {
  const at = line.indexOf(e.from);
  const m = breRegex(e.from).exec(line);
  if (at < 0 || !m || m.index !== at) return null;
  return line.slice(0, at) + e.to + line.slice(at + e.from.length);
}

/** The edit actions (line-addressed, and unaddressed when the pattern is on no other line) for `edits` of a placed bug. */
function editActions(content: string, p: Placed, edits: LineEdit[]): { action: string; content: string }[] {
  const lines = lineSplit(content);
  const out: { action: string; content: string }[] = [];
  for (const e of edits) {
    const fixed = editedLine(lines[p.line - 1], e);
    if (fixed === null) throw new Error(`${p.bug.kind}: '${e.from}' not found on line ${p.line} of ${p.file}`);
    const after = [...lines.slice(0, p.line - 1), fixed, ...lines.slice(p.line)].join('\n') + '\n';
    const elsewhere = lines.some((l, i) => i !== p.line - 1 && breRegex(e.from).test(l));
    if (!elsewhere) out.push({ action: sedEdit(p.file, null, e), content: after });
    out.push({ action: sedEdit(p.file, p.line, e), content: after });
  }
  return out;
}

/** `n` helpers whose names cannot be confused with the bugs' functions (grep 'def name' finds only its own). */
function drawHelpers(rng: Rng, n: number, avoid: string[]): PyFunction[] {
  const clash = (a: string, b: string) => a.startsWith(b) || b.startsWith(a);
  return rng
    .shuffle(HELPERS)
    .map((h) => h(rng))
    .filter((h) => !avoid.some((a) => clash(a, h.name)))
    .slice(0, n);
}

function bugModule(rng: Rng, name: string, bug: Bug, helper: PyFunction): Module {
  const blocks = [...bug.needs.map((f) => ({ lines: f.lines })), ...rng.shuffle([{ lines: bug.lines, bug }, { lines: helper.lines }])];
  const tests = rng.shuffle([...bug.failTests, ...bug.passTests, ...bug.needs.flatMap((f) => f.tests), ...helper.tests]);
  const exports = [...bug.needs.map((f) => f.name), ...rng.shuffle([bug.fn, helper.name])];
  return { name, blocks, tests, exports };
}

function plainModule(rng: Rng, name: string, helpers: PyFunction[]): Module {
  return {
    name,
    blocks: helpers.map((h) => ({ lines: h.lines })),
    tests: rng.shuffle(helpers.flatMap((h) => h.tests)),
    exports: helpers.map((h) => h.name),
  };
}

interface Repo {
  files: TaskFile[];
  testFiles: string[];
  placed: Placed[];
  /** Test names per test file, in the order the runner runs them. */
  order: string[];
}

function buildRepo(modules: Module[]): Repo {
  const files: TaskFile[] = [];
  const placed: Placed[] = [];
  const testFiles: string[] = [RUNNER_FILE];
  for (const m of modules) {
    const r = renderModule(m);
    files.push({ path: `${m.name}.py`, content: r.source, mode: 0o644 });
    files.push({ path: `test_${m.name}.py`, content: renderTests(m), mode: 0o644 });
    testFiles.push(`test_${m.name}.py`);
    placed.push(...r.placed);
  }
  files.push({ path: RUNNER_FILE, content: RUNNER_SOURCE, mode: 0o644 });
  const order = byteSorted(modules.map((m) => `test_${m.name}.py`)).flatMap((f) =>
    modules.find((m) => `test_${m.name}.py` === f)!.tests.map((t) => t.name),
  );
  return {
    files: byteSorted(files.map((f) => f.path)).map((p) => files.find((f) => f.path === p)!),
    testFiles: byteSorted(testFiles),
    placed,
    order,
  };
}

// --------------------------------------------------------------------------------------------------------
// Steps.

const listStep = (repo: Repo): SweStep => {
  const names = byteSorted(repo.files.map((f) => f.path));
  return step('list', [
    { action: 'ls', output: names.map((n) => `${n}\n`).join('') },
    { action: 'ls -a', output: ['.', '..', ...names].map((n) => `${n}\n`).join('') },
  ]);
};

const testStep = (repo: Repo, failing: Set<string>): SweStep => {
  const output = formatTestOutput(repo.order.map((name) => ({ name, outcome: failing.has(name) ? 'fail' : 'pass' })));
  return step('test', [
    { action: TEST_COMMAND, output },
    { action: `python3 ./${RUNNER_FILE}`, output },
  ]);
};

const searchStep = (files: TaskFile[], fn: string): SweStep =>
  step(
    'search',
    [`def ${fn}`, `def ${fn}(`].map((needle) => ({ action: `grep -n ${shellQuote(needle)} *.py`, output: grepOutput(files, needle) })),
  );

const openStep = (files: TaskFile[], p: Placed): SweStep => {
  const content = files.find((f) => f.path === p.file)!.content;
  const window = lineSplit(content)
    .slice(p.first - 1, p.last)
    .map((l) => `${l}\n`)
    .join('');
  return step('open', [
    { action: `cat -n ${p.file}`, output: numbered(content) },
    { action: `nl -ba ${p.file}`, output: numbered(content) },
    { action: `sed -n '${p.first},${p.last}p' ${p.file}`, output: window },
  ]);
};

/** The edit step, and the repository's files after the canonical fix. */
function editStep(files: TaskFile[], p: Placed): { step: SweStep; files: TaskFile[] } {
  const content = files.find((f) => f.path === p.file)!.content;
  const fixes = editActions(content, p, p.bug.fixes);
  const decoys = editActions(content, p, p.bug.decoys).map((d) => d.action);
  return {
    step: step(
      'edit',
      fixes.map((f) => ({ action: f.action, output: '' })),
      decoys,
    ),
    files: files.map((f) => (f.path === p.file ? { ...f, content: fixes[0].content } : f)),
  };
}

// --------------------------------------------------------------------------------------------------------
// Templates.

function singleBug(t: BugTemplate): SweTemplate {
  return {
    name: t.name,
    draw(rng) {
      const bug = t.draw(rng);
      const [mod, other] = rng.sample(MODULES, 2);
      const [h1, h2, h3] = drawHelpers(rng, 3, [bug.fn, ...bug.needs.map((f) => f.name)]);
      const repo = buildRepo([bugModule(rng, mod, bug, h1), plainModule(rng, other, [h2, h3])]);
      const [p] = repo.placed;
      const failing = new Set(bug.failTests.map((x) => x.name));
      const edit = editStep(repo.files, p);
      const steps = [
        ...(rng.next() < 0.4 ? [listStep(repo)] : []),
        testStep(repo, failing),
        searchStep(repo.files, bug.fn),
        openStep(repo.files, p),
        edit.step,
        testStep(repo, new Set()),
      ];
      return {
        goal: `fix: ${bug.issue}`,
        files: repo.files,
        testFiles: repo.testFiles,
        tests: { failToPass: [...failing], passToPass: repo.order.filter((n) => !failing.has(n)) },
        steps,
      };
    },
  };
}

/** Two bugs of different kinds, one per module: fix one, run the tests (the other still fails), fix the other. */
const twoBugs: SweTemplate = {
  name: 'two_bugs',
  draw(rng) {
    const [ta, tb] = rng.sample(BUG_TEMPLATES, 2);
    const a = ta.draw(rng);
    let b = tb.draw(rng);
    const clash = (x: string, y: string) => x.startsWith(y) || y.startsWith(x);
    for (let i = 0; clash(a.fn, b.fn); i++) {
      if (i === 50) throw new Error(`two_bugs: no name for ${tb.name} that differs from ${a.fn}`);
      b = tb.draw(rng);
    }
    const [modA, modB] = rng.sample(MODULES, 2);
    const [h1, h2] = drawHelpers(rng, 2, [a.fn, b.fn, ...a.needs.map((f) => f.name), ...b.needs.map((f) => f.name)]);
    const repo = buildRepo([bugModule(rng, modA, a, h1), bugModule(rng, modB, b, h2)]);
    const pa = repo.placed.find((p) => p.bug === a)!;
    const pb = repo.placed.find((p) => p.bug === b)!;
    const failA = a.failTests.map((x) => x.name);
    const failB = b.failTests.map((x) => x.name);
    const editA = editStep(repo.files, pa);
    const editB = editStep(editA.files, pb);
    const steps = [
      ...(rng.next() < 0.4 ? [listStep(repo)] : []),
      testStep(repo, new Set([...failA, ...failB])),
      searchStep(repo.files, a.fn),
      openStep(repo.files, pa),
      editA.step,
      testStep(repo, new Set(failB)),
      searchStep(editA.files, b.fn),
      openStep(editA.files, pb),
      editB.step,
      testStep(repo, new Set()),
    ];
    return {
      goal: `fix ${a.fn} and ${b.fn} (see the tests)`,
      files: repo.files,
      testFiles: repo.testFiles,
      tests: { failToPass: [...failA, ...failB], passToPass: repo.order.filter((n) => !failA.includes(n) && !failB.includes(n)) },
      steps,
    };
  },
};

export const SWE_TEMPLATES: readonly SweTemplate[] = [...BUG_TEMPLATES.map(singleBug), twoBugs];
