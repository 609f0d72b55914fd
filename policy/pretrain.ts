// The base policy pi0: a seeded recipe. `npx tsx policy/pretrain.ts --out models/pi0`
//
// Initialises the model and trains it with SFT on a pretraining mix: the out-of-domain suite (so pi0 is good at
// it and forgetting can be measured) plus a LIMITED amount of terminal data drawn from seeds the campaigns do
// not use, stopped early so that pi0 is only partly competent in-domain (PivotRL needs states where it
// sometimes succeeds). Writes the checkpoint folder (no optimiser state), recipe.json and SHA256.
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { LocalStore } from '../store';
import { generateOodSuite, oodCorrect, renderOodAnswer, renderOodPrompt } from '../tasks/ood';
import { generateTerminalSuite } from '../tasks/terminal/suite';
import { TEMPLATES } from '../tasks/terminal/templates';
import { Rng, seedOf } from '../core/rng';
import { DONE_ACTION, expertSteps, renderAction, renderTerminalPrompt } from '../tasks/terminal/render';
import { initBackend } from './backend';
import { checkpointHash, saveCheckpoint } from './checkpoint';
import { Model, countParams, initParams, makeModel, paramsFrom } from './model';
import { mixSeed, rng } from './rng';
import { sample } from './sample';
import { DEFAULT_MODEL, SftExample } from './schemas';
import { charTokenizer } from './tokenizer';
import { trainStep, zeroAdam } from './train';

const { values: a } = parseArgs({
  options: {
    out: { type: 'string', default: 'models/pi0' },
    seed: { type: 'string', default: '20250101' },
    steps: { type: 'string', default: '450' },
    /** Steps alternate between the sources (each step's loss is a mean over its own tokens). */
    'terminal-batch': { type: 'string', default: '32' },
    'ood-batch': { type: 'string', default: '128' },
    /** Every this many steps an OOD step, terminal steps otherwise (2: terminal, OOD, terminal, OOD, ...). */
    'ood-every': { type: 'string', default: '3' },
    /** Terminal data: tasks from seed --terminal-seed (campaigns and tests use small seeds). */
    'terminal-tasks': { type: 'string', default: '400' },
    'terminal-seed': { type: 'string', default: '1001' },
    /**
     * 'transcript': one document per trajectory (the final prompt followed by "done"), trained on every token
     * like LM pretraining: each action is learnt in context at the cost of one sequence per trajectory.
     * 'turns': one (prompt, action) example per turn, loss on the action only.
     */
    'terminal-format': { type: 'string', default: 'transcript' },
    'ood-items': { type: 'string', default: '2000' },
    'ood-seed': { type: 'string', default: '1002' },
    lr: { type: 'string', default: '0.003' },
    'eval-every': { type: 'string', default: '150' },
    /** Competence is reported on the training turns of these terminal seeds (the demo campaign's is 1). */
    'report-seeds': { type: 'string', default: '1' },
    'report-tasks': { type: 'string', default: '96' },
  },
});
const num = (k: keyof typeof a) => Number(a[k]);
const seed = num('seed');
const started = performance.now();
const backend = await initBackend();

/**
 * The terminal turns of a suite as (prompt, completion, expert action), including the final "done", with every
 * valid variant of the action the template knows (re-drawn the way tasks/terminal/suite.ts draws the task).
 */
function terminalExamples(suiteSeed: number, tasks: number) {
  return generateTerminalSuite({ seed: suiteSeed, trainTasks: tasks, heldoutTasks: 0 }).train.flatMap((traj, i) => {
    const drawn = TEMPLATES[i % TEMPLATES.length].draw(new Rng(seedOf(suiteSeed, 'train', i)));
    const steps = expertSteps(traj);
    const turns = steps.map((s, t) => ({
      prompt: renderTerminalPrompt(traj.task.goal, steps.slice(0, t)),
      action: s.action,
      variants: drawn.steps[t]?.map((v) => v.action) ?? [s.action],
    }));
    for (const x of turns) if (!x.variants.includes(x.action)) throw new Error(`${traj.id}: re-drawn variants miss '${x.action}'`);
    turns.push({ prompt: renderTerminalPrompt(traj.task.goal, steps), action: DONE_ACTION, variants: [DONE_ACTION] });
    return turns.map((x) => ({ ...x, completion: renderAction(x.action), template: traj.task.template }));
  });
}

const terminalTurns = terminalExamples(num('terminal-seed'), num('terminal-tasks'));
const terminal =
  a['terminal-format'] === 'turns'
    ? terminalTurns
    : generateTerminalSuite({ seed: num('terminal-seed'), trainTasks: num('terminal-tasks'), heldoutTasks: 0 }).train.map((traj) => ({
        prompt: '',
        completion: renderTerminalPrompt(traj.task.goal, expertSteps(traj)) + renderAction(DONE_ACTION),
      }));
const ood = generateOodSuite({ seed: num('ood-seed'), n: num('ood-items') }).map((item) => ({
  prompt: renderOodPrompt(item),
  completion: renderOodAnswer(item),
}));
const oodEval = generateOodSuite({ seed: mixSeed(seed, 3), n: 200 });
const terminalEval = terminalExamples(mixSeed(seed, 4), 48).filter((x) => x.action !== DONE_ACTION);

const config = { ...DEFAULT_MODEL };
const named = initParams(config, seed);
const model = makeModel(config, charTokenizer(), paramsFrom(config, named));
tf.dispose(Object.values(named));
const tr = { model, adam: zeroAdam(model), step: 0 };
console.log(
  `pi0 recipe: backend ${backend}, ${countParams(config)} parameters, ${terminal.length} terminal ${a['terminal-format']}s ` +
    `(${terminalTurns.length} turns), ` +
    `${ood.length} OOD items, ${num('steps')} steps`,
);

/** Greedy exact match: the fraction of prompts whose completion equals the answer. */
function exactMatch(m: Model, items: { prompt: string; answer: string }[], correct = (x: string, y: string) => x === y) {
  let hits = 0;
  for (let i = 0; i < items.length; i += 64) {
    const chunk = items.slice(i, i + 64);
    const out = sample(
      m,
      chunk.map((x) => x.prompt),
      { n: 1, temperature: 0, topP: 1, maxTokens: 48, stop: ['\n'], seed: 0 },
    );
    chunk.forEach((x, j) => (hits += correct(out.completions[j][0].text, x.answer) ? 1 : 0));
  }
  return hits / items.length;
}
const evaluate = () => ({
  ood: exactMatch(
    model,
    oodEval.map((x) => ({ prompt: renderOodPrompt(x), answer: x.answer })),
    (text, answer) => oodCorrect({ id: '', kind: '', prompt: '', answer }, text),
  ),
  terminal: exactMatch(
    model,
    terminalEval.map((x) => ({ prompt: x.prompt, answer: x.action })),
  ),
});

// ---- training: steps alternate between terminal and OOD batches, drawn with a seeded generator. Separate
// steps keep the short OOD answers from being drowned by the long transcripts in a token-mean loss.
const draw = rng(mixSeed(seed, 1));
const log: Record<string, number>[] = [];
let examplesSeen = 0;
for (let step = 1; step <= num('steps'); step++) {
  const isTerminal = step % num('ood-every') !== 0;
  const pool = isTerminal ? terminal : ood;
  const n = num(isTerminal ? 'terminal-batch' : 'ood-batch');
  const examples: SftExample[] = [];
  for (let i = 0; i < n; i++) {
    const x = pool[Math.floor(draw() * pool.length)];
    examples.push({ prompt: x.prompt, completion: x.completion });
  }
  examplesSeen += n;
  const m = trainStep(tr, 'sft', examples, { lr: num('lr'), warmupSteps: 20, weightDecay: 0.1 });
  if (step % num('eval-every') === 0 || step === num('steps')) {
    const e = evaluate();
    log.push({ step, loss: m.loss, ood: e.ood, terminal: e.terminal });
    console.log(
      `step ${step} loss ${m.loss.toFixed(3)} | greedy exact match: OOD ${(e.ood * 100).toFixed(1)}%, ` +
        `terminal ${(e.terminal * 100).toFixed(1)}% | ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );
  }
}

// ---- competence on the training turns of the report seeds. Lower bounds of what the functional verifier will
// accept: exact match with the expert's action, and match with any valid variant the template knows.
const competence: Record<string, unknown> = {};
for (const s of String(a['report-seeds']).split(',').map(Number)) {
  const turns = terminalExamples(s, num('report-tasks')).filter((x) => x.action !== DONE_ACTION);
  const greedyExact = exactMatch(
    model,
    turns.map((x) => ({ prompt: x.prompt, answer: x.action })),
  );
  const greedyAnyVariant = exactMatch(
    model,
    turns.map((x) => ({ prompt: x.prompt, answer: JSON.stringify(x.variants) })),
    (text, answer) => (JSON.parse(answer) as string[]).includes(text),
  );
  // Sampled at temperature 1, K = 8 per turn, as profiling does: mean reward and the share of turns with mixed
  // rewards (0 < successes < 8, i.e. pivot candidates before the lambda_diff cut).
  const K = 8;
  const tally = { exact: 0, variant: 0, mixedExact: 0, mixedVariant: 0 };
  for (let i = 0; i < turns.length; i += 32) {
    const chunk = turns.slice(i, i + 32);
    const out = sample(
      model,
      chunk.map((x) => x.prompt),
      { n: K, temperature: 1, topP: 1, maxTokens: 48, stop: ['\n'], seed: s },
    );
    chunk.forEach((x, j) => {
      const exact = out.completions[j].filter((c) => c.text === x.action).length;
      const variant = out.completions[j].filter((c) => x.variants.includes(c.text)).length;
      tally.exact += exact;
      tally.variant += variant;
      if (exact > 0 && exact < K) tally.mixedExact++;
      if (variant > 0 && variant < K) tally.mixedVariant++;
    });
  }
  competence[`seed${s}`] = {
    turns: turns.length,
    greedyExact,
    greedyAnyVariant,
    sampledExact: tally.exact / (turns.length * K),
    sampledAnyVariant: tally.variant / (turns.length * K),
    mixedTurnsExact: tally.mixedExact / turns.length,
    mixedTurnsAnyVariant: tally.mixedVariant / turns.length,
  };
}
const final = evaluate();
console.log(`competence on campaign turns: ${JSON.stringify(competence)}`);

// ---- write the checkpoint folder
const out = resolve(String(a.out));
await mkdir(out, { recursive: true });
const store = new LocalStore(dirname(out));
const prefix = basename(out);
// Post-training lineages start from pi0 at step 0 with fresh optimiser state (the pretraining steps are in recipe.json).
tr.step = 0;
await saveCheckpoint(store, prefix, tr, { optimizer: false });
const hash = await checkpointHash(store, prefix);
const recipe = {
  command: `npx tsx policy/pretrain.ts ${process.argv.slice(2).join(' ')}`.trim(),
  backend,
  config,
  parameters: countParams(config),
  seed,
  args: a,
  data: {
    terminalFormat: a['terminal-format'],
    terminalExamples: terminal.length,
    terminalTurns: terminalTurns.length,
    terminalTasks: num('terminal-tasks'),
    terminalSeed: num('terminal-seed'),
    oodItems: ood.length,
    oodSeed: num('ood-seed'),
  },
  steps: num('steps'),
  examplesSeen,
  evals: log,
  final: { oodExact: final.ood, terminalExact: final.terminal },
  competence,
  checkpointHash: hash,
  seconds: Math.round((performance.now() - started) / 1000),
};
await writeFile(`${out}/recipe.json`, JSON.stringify(recipe, null, 2) + '\n');
console.log(`wrote ${out} (hash ${hash}) in ${recipe.seconds} s`);
