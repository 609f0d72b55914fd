// Procedurally generated terminal tasks. Each template draws a task (initial files, goal, final check)
// and the expert's steps; each step lists several valid actions with the output each one prints, and
// the generator picks one per step. Later steps often need what an earlier output showed (find, then act).
import { Rng } from '../../core/rng';
import type { TaskFile } from '../../core/schemas';

export interface ActionVariant {
  action: string;
  output: string;
}

export interface DrawnTask {
  goal: string;
  files: TaskFile[];
  dirs: string[];
  check: string;
  /** Per expert step, the valid actions (the expert uses one of them). */
  steps: ActionVariant[][];
}

export interface Template {
  name: string;
  draw(rng: Rng): DrawnTask;
}

const WORDS = [
  'alpha',
  'beta',
  'gamma',
  'delta',
  'notes',
  'report',
  'data',
  'draft',
  'todo',
  'main',
  'cache',
  'build',
  'old',
  'new',
  'final',
  'plan',
  'list',
  'memo',
  'log',
  'index',
] as const;
const SUBDIRS = ['a', 'b', 'c', 'old', 'new', 'tmp', 'x', 'y'] as const;
const KEYS = ['port', 'host', 'user', 'mode', 'level', 'name', 'size', 'color'] as const;

const name = (rng: Rng): string => `${rng.pick(WORDS)}${rng.int(1, 9)}`;
const names = (rng: Rng, k: number): string[] => {
  const out = new Set<string>();
  while (out.size < k) out.add(name(rng));
  return [...out];
};
const lines = (rng: Rng, n: number): string => Array.from({ length: n }, () => `${name(rng)},${rng.int(0, 99)}`).join('\n') + '\n';
const byteSorted = (items: string[]): string[] => [...items].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
const listing = (entries: string[]): string => byteSorted(entries).join('\n') + '\n';
const quiet = (...actions: string[]): ActionVariant[] => actions.map((action) => ({ action, output: '' }));

const nestedDir: Template = {
  name: 'nested_dir',
  draw(rng) {
    const [a, b, c, moved, ...others] = names(rng, 6);
    // One .txt file among files of other kinds: the goal does not name it, the listing shows it.
    const entries = [`${moved}.txt`, ...others.map((o, i) => `${o}.${['csv', 'md'][i % 2]}`)];
    const dir = `${a}/${b}/${c}`;
    return {
      goal: `create the directory ${dir} and move the only .txt file here into it`,
      files: entries.map((path) => ({ path, content: `${path}\n`, mode: 0o644 })),
      dirs: [],
      check: `test -d ${dir} && test -f ${dir}/${moved}.txt && ! test -e ${moved}.txt && test "$(ls | wc -l)" = ${entries.length}`,
      steps: [
        [
          { action: 'ls', output: listing(entries) },
          { action: 'ls -a', output: listing(['.', '..', ...entries]) },
        ],
        quiet(`mkdir -p ${dir}`, `mkdir ${a} && mkdir ${a}/${b} && mkdir ${dir}`),
        quiet(`mv ${moved}.txt ${dir}/`, `mv ${moved}.txt ${dir}/${moved}.txt`),
      ],
    };
  },
};

const copyFound: Template = {
  name: 'copy_found',
  draw(rng) {
    const [target, ...others] = names(rng, 4);
    const subs = rng.sample(SUBDIRS, 3);
    const home = rng.pick(subs);
    const files = [
      { path: `docs/${home}/${target}.txt`, content: `${target} ${rng.int(100, 999)}\n`, mode: 0o644 },
      ...others.map((o, i) => ({ path: `docs/${subs[i % subs.length]}/${o}.txt`, content: `${o}\n`, mode: 0o644 })),
    ];
    const found = `docs/${home}/${target}.txt\n`;
    return {
      goal: `copy ${target}.txt (somewhere under docs) into backup/`,
      files,
      dirs: [],
      check: `cmp docs/${home}/${target}.txt backup/${target}.txt`,
      steps: [
        [
          { action: `find docs -name ${target}.txt`, output: found },
          { action: `find docs -type f -name ${target}.txt`, output: found },
        ],
        quiet('mkdir backup', 'mkdir -p backup'),
        quiet(`cp docs/${home}/${target}.txt backup/`, `cp docs/${home}/${target}.txt backup/${target}.txt`),
      ],
    };
  },
};

const renameFile: Template = {
  name: 'rename',
  draw(rng) {
    const [from, to, other] = names(rng, 3);
    const entries = [`${from}.txt`, `${other}.txt`];
    return {
      goal: `rename ${from}.txt to ${to}.txt`,
      files: entries.map((path) => ({ path, content: `${path} ${rng.int(1, 99)}\n`, mode: 0o644 })),
      dirs: [],
      check: `test -f ${to}.txt && ! test -e ${from}.txt && test -f ${other}.txt`,
      steps: [
        [
          { action: 'ls', output: listing(entries) },
          { action: 'ls -a', output: listing(['.', '..', ...entries]) },
        ],
        quiet(`mv ${from}.txt ${to}.txt`, `cp ${from}.txt ${to}.txt && rm ${from}.txt`),
      ],
    };
  },
};

const countLines: Template = {
  name: 'count_lines',
  draw(rng) {
    const file = `${name(rng)}.csv`;
    const n = rng.int(3, 19);
    return {
      goal: `write the number of lines of ${file} into count.txt`,
      files: [{ path: file, content: lines(rng, n), mode: 0o644 }],
      dirs: [],
      check: `test "$(cat count.txt)" = ${n}`,
      steps: [
        [
          { action: `wc -l ${file}`, output: `${n} ${file}\n` },
          { action: `wc -l < ${file}`, output: `${n}\n` },
        ],
        quiet(`echo ${n} > count.txt`, `printf '${n}\\n' > count.txt`),
      ],
    };
  },
};

const cleanupLogs: Template = {
  name: 'cleanup_logs',
  draw(rng) {
    const [l1, l2, keep] = names(rng, 3);
    const entries = [`${l1}.log`, `${l2}.log`, `${keep}.txt`];
    return {
      goal: 'delete every .log file in logs/ and keep the rest',
      files: entries.map((e) => ({ path: `logs/${e}`, content: `${e}\n`, mode: 0o644 })),
      dirs: [],
      check: `test -f logs/${keep}.txt && ! ls logs | grep -q '[.]log$'`,
      steps: [
        [{ action: 'ls logs', output: listing(entries) }],
        quiet('rm logs/*.log', `rm logs/${l1}.log logs/${l2}.log`, `find logs -name '*.log' -delete`),
      ],
    };
  },
};

const appendLine: Template = {
  name: 'append_line',
  draw(rng) {
    const file = `${name(rng)}.txt`;
    const word = name(rng);
    const content = lines(rng, rng.int(1, 3));
    const total = content.split('\n').length; // existing lines + the new one
    return {
      goal: `append the line ${word} to ${file}`,
      files: [{ path: file, content, mode: 0o644 }],
      dirs: [],
      check: `test "$(tail -n 1 ${file})" = ${word} && test "$(wc -l < ${file})" = ${total}`,
      steps: [[{ action: `cat ${file}`, output: content }], quiet(`echo ${word} >> ${file}`, `printf '${word}\\n' >> ${file}`)],
    };
  },
};

const grepValue: Template = {
  name: 'grep_value',
  draw(rng) {
    const keys = rng.sample(KEYS, 4);
    const values = keys.map(() => `${rng.pick(WORDS)}${rng.int(10, 99)}`);
    const i = rng.int(0, keys.length - 1);
    const content = keys.map((k, j) => `${k}=${values[j]}`).join('\n') + '\n';
    const hit = `${keys[i]}=${values[i]}\n`;
    return {
      goal: `write the value of ${keys[i]} in config.ini into value.txt`,
      files: [{ path: 'config.ini', content, mode: 0o644 }],
      dirs: [],
      check: `test "$(cat value.txt)" = ${values[i]}`,
      steps: [
        [
          { action: `grep ${keys[i]}= config.ini`, output: hit },
          { action: `grep ^${keys[i]}= config.ini`, output: hit },
        ],
        quiet(`echo ${values[i]} > value.txt`, `printf '${values[i]}\\n' > value.txt`),
      ],
    };
  },
};

const runScript: Template = {
  name: 'run_script',
  draw(rng) {
    const script = `${name(rng)}.sh`;
    const word = name(rng);
    return {
      goal: `make ${script} executable, then run it`,
      files: [{ path: script, content: `#!/bin/sh\necho ${word} > out.txt\necho ok\n`, mode: 0o644 }],
      dirs: [],
      check: `test -x ${script} && test "$(cat out.txt)" = ${word}`,
      steps: [
        quiet(`chmod +x ${script}`, `chmod 755 ${script}`),
        [
          { action: `./${script}`, output: 'ok\n' },
          { action: `sh ./${script}`, output: 'ok\n' },
        ],
      ],
    };
  },
};

export const TEMPLATES: readonly Template[] = [nestedDir, copyFound, renameFile, countLines, cleanupLogs, appendLine, grepValue, runScript];
