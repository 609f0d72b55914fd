// Every import arrow points down the floors of ARCHITECTURE.md, no module imports itself through others, Temporal stays
// out of the libraries, dockerode stays in sandboxes/, and workflow code imports only what the workflow bundle can run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const SKIPPED_DIRS = new Set(['node_modules', '.git', '.pivotrl', 'data', 'reports', 'models']);

// Lowest first: a file may import its own floor or any floor below it, never one above.
const FLOORS: readonly (readonly string[])[] = [
  ['core'],
  ['policy', 'verifiers', 'sandboxes', 'tasks', 'formats', 'pivotrl', 'store'],
  ['pipeline', 'experiment'],
  ['activities'],
  ['workflows'],
  ['cli', 'workers', 'bench', 'harness', 'deploy'],
  ['test'],
];
const TEMPORAL_FREE = ['core', 'pivotrl', 'policy', 'tasks', 'formats', 'store', 'sandboxes', 'verifiers', 'pipeline', 'experiment'];
// What workflow code may load at run time besides pure modules (whose own run-time imports are as pure). Temporal's
// workflow bundle carries @temporalio/common (search attribute keys come from there, as its documentation shows).
const WORKFLOW_PACKAGES = new Set(['@temporalio/workflow', '@temporalio/common', 'zod']);

// Violations that other parts of issue #16 are removing: `file -> import as written`, and the part that removes it.
// The integrator empties this list when every part has landed; nothing new goes in.
const KNOWN_VIOLATIONS: Readonly<Record<string, string>> = {};

interface Import {
  file: string; // relative to the root, posix separators
  specifier: string; // as written
  target: string; // a root-relative .ts file, or the package name for bare specifiers
  line: number;
  typeOnly: boolean;
}

// The import statements of one file: static imports and re-exports, dynamic import() and require() with a literal.
function importsOf(file: string, source: string): Omit<Import, 'target'>[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: Omit<Import, 'target'>[] = [];
  const add = (node: ts.Node, specifier: ts.Expression | undefined, typeOnly: boolean) => {
    if (!specifier || !ts.isStringLiteralLike(specifier)) return;
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    found.push({ file, specifier: specifier.text, line, typeOnly });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const named = clause?.namedBindings;
      const allNamedAreTypes =
        !!named && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
      add(node, node.moduleSpecifier, !!clause && (clause.isTypeOnly || (!clause.name && allNamedAreTypes)));
    } else if (ts.isExportDeclaration(node)) {
      const named = node.exportClause;
      const allNamedAreTypes =
        !!named && ts.isNamedExports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
      add(node, node.moduleSpecifier, node.isTypeOnly || allNamedAreTypes);
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      if (ts.isLiteralTypeNode(arg)) add(node, arg.literal, true);
    } else if (ts.isCallExpression(node)) {
      const dynamic = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const required = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      if (dynamic || required) add(node, node.arguments[0], false);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

// A relative specifier resolves to `X.ts` or `X/index.ts` among the files; a bare one to its package name.
function resolve(file: string, specifier: string, files: ReadonlySet<string>): string {
  if (!specifier.startsWith('.')) {
    const parts = specifier.split('/');
    return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  }
  const base = posix.normalize(posix.join(posix.dirname(file), specifier)).replace(/\.(ts|js)$/, '');
  for (const candidate of [`${base}.ts`, `${base}/index.ts`]) if (files.has(candidate)) return candidate;
  return posix.normalize(posix.join(posix.dirname(file), specifier));
}

const folderOf = (file: string) => file.split('/')[0];
const floorOf = (file: string) => FLOORS.findIndex((folders) => folders.includes(folderOf(file)));
const isLocal = (target: string, files: ReadonlySet<string>) => files.has(target);
const describe = (i: Import) => `${i.file}:${i.line} imports '${i.specifier}'`;

// Every cycle in the graph of local imports (type-only ones included: a cycle of types is still two modules that
// cannot be understood one without the other), each reported once from its smallest file.
function cycles(imports: readonly Import[], files: ReadonlySet<string>): string[][] {
  const edges = new Map<string, Set<string>>();
  for (const i of imports) {
    if (!isLocal(i.target, files) || i.target === i.file) continue;
    if (!edges.has(i.file)) edges.set(i.file, new Set());
    edges.get(i.file)!.add(i.target);
  }
  // Tarjan's strongly connected components; each component of two or more files holds at least one cycle.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let next = 0;
  const connect = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) components.push(component.sort());
    }
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) connect(v);
  // One concrete cycle per component, by a shortest path back to its first file.
  return components.map((component) => {
    const inside = new Set(component);
    const start = component[0];
    const previous = new Map<string, string>();
    const queue = [start];
    while (queue.length > 0) {
      const v = queue.shift()!;
      for (const w of [...(edges.get(v) ?? [])].sort()) {
        if (!inside.has(w) || previous.has(w)) continue;
        previous.set(w, v);
        if (w === start) queue.length = 0;
        else queue.push(w);
      }
    }
    const path: string[] = [];
    for (let v = previous.get(start)!; v !== start; v = previous.get(v)!) path.unshift(v);
    return [start, ...path, start];
  });
}

// Every rule broken by the given files (root-relative path -> source), one message per broken import or cycle.
function checkLayering(sources: ReadonlyMap<string, string>): string[] {
  const files = new Set(sources.keys());
  const imports: Import[] = [...sources].flatMap(([file, source]) =>
    importsOf(file, source).map((i) => ({ ...i, target: resolve(file, i.specifier, files) })),
  );
  const problems: string[] = [];
  const runtimeImportsOf = new Map<string, Import[]>();
  for (const i of imports) {
    if (i.typeOnly) continue;
    if (!runtimeImportsOf.has(i.file)) runtimeImportsOf.set(i.file, []);
    runtimeImportsOf.get(i.file)!.push(i);
  }

  // A module is pure when all it loads at run time is WORKFLOW_PACKAGES and other pure modules.
  const firstImpure = new Map<string, Import | null>(); // file -> the first package import that makes it impure
  const impurity = (file: string): Import | null => {
    if (firstImpure.has(file)) return firstImpure.get(file)!;
    firstImpure.set(file, null); // a cycle is reported on its own; assume pure while inside it
    for (const i of runtimeImportsOf.get(file) ?? []) {
      const found = isLocal(i.target, files) ? impurity(i.target) : WORKFLOW_PACKAGES.has(i.target) ? null : i;
      if (found) {
        firstImpure.set(file, found);
        return found;
      }
    }
    return null;
  };

  for (const file of files) if (floorOf(file) < 0) problems.push(`${file}: ${folderOf(file)}/ is on no floor (add it to FLOORS)`);
  for (const i of imports) {
    const from = folderOf(i.file);
    if (TEMPORAL_FREE.includes(from) && i.target.startsWith('@temporalio/'))
      problems.push(`${describe(i)}: ${from}/ must not depend on Temporal`);
    if (i.target === 'dockerode' && from !== 'sandboxes' && !i.typeOnly) problems.push(`${describe(i)}: only sandboxes/ talks to Docker`);
    // Each workflows/ file is checked on its own, so an impure one is named once, not by every file that loads it.
    if (from === 'workflows' && !i.typeOnly && !(isLocal(i.target, files) && folderOf(i.target) === 'workflows')) {
      const found = isLocal(i.target, files) ? impurity(i.target) : WORKFLOW_PACKAGES.has(i.target) ? null : i;
      if (found) problems.push(`${describe(i)}: workflow code loads only @temporalio/workflow and pure modules, not ${found.target}`);
    }
    if (isLocal(i.target, files) && floorOf(i.target) > floorOf(i.file))
      problems.push(`${describe(i)}: ${from}/ is below ${folderOf(i.target)}/`);
  }
  for (const cycle of cycles(imports, files)) problems.push(`import cycle: ${cycle.join(' -> ')}`);
  return problems;
}

function projectSources(): Map<string, string> {
  const sources = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && !SKIPPED_DIRS.has(entry.name)) walk(path);
      else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
        sources.set(relative(ROOT, path).split('\\').join('/'), readFileSync(path, 'utf8'));
    }
  };
  walk(ROOT);
  return sources;
}

test('the checker finds a cycle, an upward arrow, Temporal in a library, Docker outside sandboxes/ and a folder on no floor', () => {
  const problems = checkLayering(
    new Map([
      ['core/a.ts', "import { b } from './b';\nexport const a = 1;"],
      ['core/b.ts', "import type { A } from './a';\nexport const b = 2;"],
      ['policy/p.ts', "import { run } from '../workflows/w';\nimport { Client } from '@temporalio/client';"],
      ['workflows/w.ts', "import { proxyActivities } from '@temporalio/workflow';\nimport { p } from '../policy/p';"],
      ['verifiers/v.ts', "export const load = () => import('dockerode');"],
      ['sandboxes/s.ts', "import Docker from 'dockerode';"],
      ['scratch/x.ts', ''],
    ]),
  );
  assert.deepEqual(problems, [
    'scratch/x.ts: scratch/ is on no floor (add it to FLOORS)',
    "policy/p.ts:1 imports '../workflows/w': policy/ is below workflows/",
    "policy/p.ts:2 imports '@temporalio/client': policy/ must not depend on Temporal",
    "workflows/w.ts:2 imports '../policy/p': workflow code loads only @temporalio/workflow and pure modules, not @temporalio/client",
    "verifiers/v.ts:1 imports 'dockerode': only sandboxes/ talks to Docker",
    'import cycle: core/a.ts -> core/b.ts -> core/a.ts',
    'import cycle: policy/p.ts -> workflows/w.ts -> policy/p.ts',
  ]);
});

test('the checker reads type-only imports as such and ignores import-like text in strings and comments', () => {
  const problems = checkLayering(
    new Map([
      ['workflows/w.ts', "import type { P } from '../policy/p';\nimport { type Q } from '../policy/p';"],
      ['policy/p.ts', "// import { w } from '../workflows/w';\nexport const s = \"import { w } from '../workflows/w'\";"],
    ]),
  );
  assert.deepEqual(problems, []);
});

test('every import in the project points down and no module imports itself', () => {
  const problems = checkLayering(projectSources());
  const isKnown = (known: string, problem: string) => {
    const [file, specifier] = known.split(' -> ');
    return problem.startsWith(`${file}:`) && problem.includes(` imports '${specifier}'`);
  };
  const unexpected = problems.filter((p) => !Object.keys(KNOWN_VIOLATIONS).some((known) => isKnown(known, p)));
  assert.deepEqual(unexpected, [], `\n${unexpected.join('\n')}`);
  const stale = Object.keys(KNOWN_VIOLATIONS).filter((known) => !problems.some((p) => isKnown(known, p)));
  assert.deepEqual(stale, [], 'KNOWN_VIOLATIONS lists problems that are gone: remove them');
});
