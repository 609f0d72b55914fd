// The base policy pi0: a seeded recipe. `npx tsx policy/pretrain.ts --out models/pi0`
//
// Starts from --init (a checkpoint folder, verified against its SHA256 manifest; by default models/pi0/base, the
// pi0 of the previous recipe, kept with its own recipe.json and PROVENANCE.md) or, with --init none, from a
// seeded initialisation, and trains it with SFT on a pretraining mix: the out-of-domain suite (so pi0 is good at
// it and forgetting can be measured) plus a LIMITED number of steps on each agentic suite (terminal, SWE, tool)
// drawn from seeds the campaigns do not use (thousands of distinct tasks, so ids are not memorised), stopped
// early so that pi0 is only partly competent in-domain
// (PivotRL needs states where it sometimes succeeds). Writes the checkpoint folder (no optimiser state),
// recipe.json and SHA256. With --snapshots DIR, every evaluation also saves the checkpoint of that step there
// (the learning rate is constant after warm-up and the data draws are sequential, so the checkpoint at step N of
// a longer run is the one `--steps N` gives).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { LocalStore } from '../store';
import type { Trajectory } from '../core/schemas';
import { generateOodSuite, oodCorrect, renderOodAnswer, renderOodPrompt } from '../tasks/ood';
import { ACTION_TOKENS, promptOf, turnsOf } from '../tasks/domains';
import { SUITES, templateVariants, trainTrajectories, type SuiteName } from '../tasks/suites';
import { DONE_ACTION } from '../tasks/actions';
import { expertSteps, renderAction, renderTerminalPrompt } from '../tasks/terminal/render';
import { verifyToolTurn } from '../verifiers/tool';
import { initBackend } from './backend';
import { checkpointHash, importCheckpointDir, loadCheckpoint, saveCheckpoint } from './checkpoint';
import { Model, countParams, initParams, makeModel, paramsFrom } from './model';
import { mixSeed, rng } from './rng';
import { sample } from './sample';
import { DEFAULT_MODEL, SftExample } from './schemas';
import { charTokenizer } from './tokenizer';
import { trainStep, zeroAdam, type Trainee } from './train';

const { values: a } = parseArgs({
  options: {
    out: { type: 'string', default: 'models/pi0' },
    init: { type: 'string', default: 'models/pi0/base' },
    seed: { type: 'string', default: '20250101' },
    steps: { type: 'string', default: '150' },
    /** The step schedule: a cycle of sources with their number of steps per cycle. */
    mix: { type: 'string', default: 'terminal:4,copy:1,ood:1,swe:1,tool:1' },
    /** Examples per step of each source. */
    'terminal-batch': { type: 'string', default: '32' },
    'swe-batch': { type: 'string', default: '32' },
    'tool-batch': { type: 'string', default: '32' },
    'ood-batch': { type: 'string', default: '64' },
    'copy-batch': { type: 'string', default: '64' },
    /** Pretraining data: tasks of each suite from seed --data-seed (campaigns and tests use small seeds). */
    'terminal-tasks': { type: 'string', default: '2000' },
    'swe-tasks': { type: 'string', default: '600' },
    'tool-tasks': { type: 'string', default: '3000' },
    'data-seed': { type: 'string', default: '1001' },
    'ood-items': { type: 'string', default: '2000' },
    'ood-seed': { type: 'string', default: '1002' },
    'copy-items': { type: 'string', default: '40000' },
    /** Continued pretraining from --init: a fine-tuning rate (0.003 from a fresh initialisation). */
    lr: { type: 'string', default: '0.001' },
    'eval-every': { type: 'string', default: '50' },
    snapshots: { type: 'string' },
    /** Competence is reported on the training turns of these suite seeds (the campaigns' is 1). */
    'report-seeds': { type: 'string', default: '1' },
    'report-terminal-tasks': { type: 'string', default: '96' },
    'report-swe-tasks': { type: 'string', default: '54' },
    'report-tool-tasks': { type: 'string', default: '60' },
  },
});
const num = (k: keyof typeof a) => Number(a[k]);
const seed = num('seed');
const started = performance.now();
const backend = await initBackend();
type Example = { prompt: string; completion: string };

/**
 * A suite's pretraining examples. Terminal: one document per trajectory (the final prompt followed by "done"),
 * trained on every token like LM pretraining, so each action is learnt in context. SWE and tool prompts condense
 * or drop older steps, so their examples are one (prompt, action) pair per turn, loss on the action only.
 */
function suiteExamples(suite: SuiteName, trajectories: Trajectory[]): Example[] {
  if (suite === 'terminal')
    return trajectories.map((traj) => ({
      prompt: '',
      completion: renderTerminalPrompt(traj.task.goal, expertSteps(traj)) + renderAction(DONE_ACTION),
    }));
  return trajectories.flatMap((traj) => turnsOf(traj).map((t) => ({ prompt: promptOf(t, t.history), completion: renderAction(t.expert) })));
}

/**
 * Copy drills: a random string, " = ", the same string. Nearly every agentic action repeats what the context
 * showed (an id, a name, a path); a small character model learns to copy (attend to what followed the earlier
 * occurrence of the current character) from these within ~1,000 steps, and from the suites alone not at all.
 */
function copyExamples(n: number, seed: number): Example[] {
  const draw = rng(seed);
  const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@._-';
  return Array.from({ length: n }, () => {
    const text = Array.from({ length: 4 + Math.floor(draw() * 28) }, () => chars[Math.floor(draw() * chars.length)]).join('');
    return { prompt: `${text} = `, completion: renderAction(text) };
  });
}

const dataSeed = num('data-seed');
const pools: Record<SuiteName | 'ood' | 'copy', Example[]> = {
  copy: copyExamples(num('copy-items'), mixSeed(dataSeed, 7)),
  terminal: suiteExamples('terminal', trainTrajectories('terminal', dataSeed, num('terminal-tasks'))),
  swe: suiteExamples('swe', trainTrajectories('swe', dataSeed, num('swe-tasks'))),
  tool: suiteExamples('tool', trainTrajectories('tool', dataSeed, num('tool-tasks'))),
  ood: generateOodSuite({ seed: num('ood-seed'), n: num('ood-items') }).map((item) => ({
    prompt: renderOodPrompt(item),
    completion: renderOodAnswer(item),
  })),
};
const schedule = String(a.mix)
  .split(',')
  .flatMap((part) => {
    const [source, count] = part.split(':');
    if (!(source in pools) || !(Number(count) >= 0))
      throw new Error(`--mix: '${part}' is not source:steps (sources: ${Object.keys(pools).join(', ')})`);
    return Array<keyof typeof pools>(Number(count)).fill(source as keyof typeof pools);
  });
if (schedule.length === 0) throw new Error('--mix: no steps in the cycle');

/** One scored turn: its prompt, the expert action, and what counts as doing the same. */
interface ScoredTurn {
  prompt: string;
  expert: string;
  accepts(text: string): boolean;
}

/** The training turns of a suite's report seed, scored by the template's known variants (or the tool verifier). */
function scoredTurns(suite: SuiteName, suiteSeed: number, tasks: number): ScoredTurn[] {
  return trainTrajectories(suite, suiteSeed, tasks).flatMap((traj, i) => {
    const variants = templateVariants(suite, suiteSeed, i);
    return turnsOf(traj).map((turn, t) => {
      const known = variants?.[t] ?? [turn.expert];
      if (!known.includes(turn.expert)) throw new Error(`${traj.id}: re-drawn variants miss '${turn.expert}'`);
      return {
        prompt: promptOf(turn, turn.history),
        expert: turn.expert,
        accepts: (text: string) => (variants ? known.includes(text) : verifyToolTurn(turn, text).reward === 1),
      };
    });
  });
}

const complete = (m: Model, prompts: string[], n: number, temperature: number, s: number, maxTokens: number) => {
  const out: string[][] = [];
  for (let i = 0; i < prompts.length; i += 32) {
    const r = sample(m, prompts.slice(i, i + 32), { n, temperature, topP: 1, maxTokens, stop: ['\n'], seed: mixSeed(s, i) });
    out.push(...r.completions.map((c) => c.map((x) => x.text)));
  }
  return out;
};

/** Greedy and sampled (temperature 1, K = 8, as profiling draws) success, and the share of mixed turns. */
function competence(m: Model, turns: ScoredTurn[], s: number, maxTokens: number) {
  const K = 8;
  const greedy = complete(
    m,
    turns.map((t) => t.prompt),
    1,
    0,
    s,
    maxTokens,
  );
  const sampled = complete(
    m,
    turns.map((t) => t.prompt),
    K,
    1,
    s,
    maxTokens,
  );
  let hits = 0;
  let total = 0;
  let mixed = 0;
  sampled.forEach((texts, i) => {
    const k = texts.filter((x) => turns[i].accepts(x)).length;
    total += k;
    if (k > 0 && k < K) mixed++;
  });
  greedy.forEach((texts, i) => (hits += turns[i].accepts(texts[0]) ? 1 : 0));
  const n = Math.max(1, turns.length);
  return { turns: turns.length, greedy: hits / n, sampled: total / (n * K), mixedTurns: mixed / n };
}

function oodAccuracy(m: Model, items: ReturnType<typeof generateOodSuite>) {
  const out = complete(
    m,
    items.map((x) => renderOodPrompt(x)),
    1,
    0,
    0,
    48,
  );
  return items.filter((x, i) => oodCorrect(x, out[i][0])).length / items.length;
}

const reportSeeds = String(a['report-seeds']).split(',').map(Number);
const reportTasks: Record<SuiteName, number> = {
  terminal: num('report-terminal-tasks'),
  swe: num('report-swe-tasks'),
  tool: num('report-tool-tasks'),
};
const report = Object.fromEntries(
  reportSeeds.flatMap((s) =>
    SUITES.map((suite) => [`${suite}@${s}`, { suite, turns: scoredTurns(suite, s, reportTasks[suite]) }] as const),
  ),
);
const oodEval = generateOodSuite({ seed: mixSeed(seed, 3), n: 200 });
/** Evaluations during training use the first turns of each report suite (the final one uses all). */
const evaluate = (m: Model, limit = Infinity) => ({
  ood: oodAccuracy(m, oodEval),
  ...Object.fromEntries(
    Object.entries(report).map(([k, { suite, turns }]) => [k, competence(m, turns.slice(0, limit), seed, ACTION_TOKENS[suite])]),
  ),
});

/** The starting model: a checkpoint folder, or a seeded initialisation of DEFAULT_MODEL. */
async function initialModel(): Promise<{ model: Model; initHash: string | null }> {
  if (a.init === 'none') {
    const named = initParams(DEFAULT_MODEL, seed);
    const model = makeModel(DEFAULT_MODEL, charTokenizer(), paramsFrom(DEFAULT_MODEL, named));
    tf.dispose(Object.values(named));
    return { model, initHash: null };
  }
  const scratch = await mkdtemp(join(tmpdir(), 'pivotrl-pretrain-'));
  try {
    const store = new LocalStore(scratch);
    const initHash = await importCheckpointDir(String(a.init), store, 'init');
    return { model: (await loadCheckpoint(store, 'init')).model, initHash };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
const { model, initHash } = await initialModel();
const config = model.config;
const tr: Trainee = { model, adam: zeroAdam(model), step: 0 };
console.log(
  `pi0 recipe: backend ${backend}, ${countParams(config)} parameters from ${initHash ? `${a.init} (${initHash.slice(0, 12)})` : 'seeded init'}, ${num('steps')} steps of ${schedule.join(',')}; examples: ` +
    Object.entries(pools)
      .map(([k, v]) => `${k} ${v.length}`)
      .join(', '),
);

async function save(trainee: Trainee, dir: string): Promise<string> {
  const out = resolve(dir);
  await mkdir(out, { recursive: true });
  const store = new LocalStore(dirname(out));
  // Post-training lineages start from pi0 at step 0 with fresh optimiser state (the pretraining steps are in recipe.json).
  const step = trainee.step;
  trainee.step = 0;
  await saveCheckpoint(store, basename(out), trainee, { optimizer: false });
  trainee.step = step;
  return checkpointHash(store, basename(out));
}

// ---- training: each step draws one batch of one source (the schedule's cycle) with a seeded generator. Separate
// steps keep the short OOD answers from being drowned by the long transcripts in a token-mean loss.
const draw = rng(mixSeed(seed, 1));
const log: Record<string, unknown>[] = [];
const examplesSeen: Record<string, number> = {};
for (let step = 1; step <= num('steps'); step++) {
  const source = schedule[(step - 1) % schedule.length];
  const pool = pools[source];
  const n = num(`${source}-batch` as keyof typeof a);
  const examples: SftExample[] = [];
  for (let i = 0; i < n; i++) examples.push(pool[Math.floor(draw() * pool.length)]);
  examplesSeen[source] = (examplesSeen[source] ?? 0) + n;
  const m = trainStep(tr, 'sft', examples, { lr: num('lr'), warmupSteps: 20, weightDecay: 0.1 });
  if (step % num('eval-every') === 0 && step < num('steps')) {
    const e = evaluate(model, 32);
    const snapshot = a.snapshots ? await save(tr, `${a.snapshots}/step-${step}`) : undefined;
    log.push({ step, loss: m.loss, ...e, snapshot });
    console.log(`step ${step} loss ${m.loss.toFixed(3)} | ${JSON.stringify(e)} | ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
}

const final = evaluate(model);
console.log(`final: ${JSON.stringify(final)}`);

// ---- write the checkpoint folder
const out = resolve(String(a.out));
const hash = await save(tr, out);
const recipe = {
  command: `npx tsx policy/pretrain.ts ${process.argv.slice(2).join(' ')}`.trim(),
  backend,
  config,
  parameters: countParams(config),
  init: a.init === 'none' ? null : { dir: a.init, checkpointHash: initHash },
  seed,
  args: a,
  data: Object.fromEntries(Object.entries(pools).map(([k, v]) => [k, v.length])),
  steps: num('steps'),
  examplesSeen,
  evals: log,
  final,
  checkpointHash: hash,
  seconds: Math.round((performance.now() - started) / 1000),
};
await writeFile(`${out}/recipe.json`, JSON.stringify(recipe, null, 2) + '\n');
console.log(`wrote ${out} (hash ${hash}) in ${recipe.seconds} s`);
