// Benchmark of the functional SWE verifier (run: `npx tsx bench/verify-swe.ts [--turns 24] [--concurrency 2]`).
// Turns of the SWE suite, each with distinct samples labelled as meant to be equivalent (the template's other
// valid actions for that step, harmless rewrites) or not (decoy edits, no-ops, extra side effects); prints the
// verified samples per second, the time per sample, how often the tests had to run, and the agreement with intent.
// The last line printed is one JSON object. Containers carry a bench-only owner label and are removed at the end.
import { parseArgs } from 'node:util';
import { connectEngine, ensureImage } from '../sandboxes/engine';
import { Rng, seedOf } from '../core/rng';
import type { Sample, Turn } from '../core/schemas';
import { reapSandboxes } from '../sandboxes/reaper';
import { SWE_IMAGE } from '../sandboxes/swe';
import { generateSweSuite } from '../tasks/swe/suite';
import { sweTurns } from '../tasks/swe/render';
import { SWE_TEMPLATES } from '../tasks/swe/templates';
import { SweVerifier } from '../verifiers/swe';

const SEED = 11;
const SAMPLES_PER_TURN = 8;

const { values: args } = parseArgs({
  options: {
    turns: { type: 'string', default: '24' },
    concurrency: { type: 'string', default: '2' },
  },
});
const TURNS = Number(args.turns);
const CONCURRENCY = Number(args.concurrency);
const OWNER = `bench-verify-swe-${process.pid}`;

interface BenchItem {
  turn: Turn;
  samples: Sample[];
  intended: (0 | 1)[];
}

function buildBatch(): BenchItem[] {
  const trajectories = Math.ceil(TURNS / 5) + 1;
  const { train } = generateSweSuite({ seed: SEED, trainTasks: trajectories, heldoutTasks: 0 });
  const items: BenchItem[] = [];
  for (const [i, traj] of train.entries()) {
    // The suite draws task i from this seed stream: the same draw gives the step's other variants and decoys.
    const drawn = SWE_TEMPLATES.find((t) => t.name === traj.task.template)!.draw(new Rng(seedOf(SEED, 'swe', 'train', i)));
    for (const turn of sweTurns(traj)) {
      if (items.length >= TURNS) return items;
      const step = drawn.steps[turn.index];
      const texts = new Map<string, 0 | 1>([[turn.expert, 1]]);
      // The step's other valid actions: every edit or test run; a look only where it prints the same lines.
      const expertOutput = step.variants.find((v) => v.action === turn.expert)?.output;
      for (const v of step.variants) if (step.kind === 'edit' || step.kind === 'test' || v.output === expertOutput) texts.set(v.action, 1);
      for (const a of [`{ ${turn.expert}; }`, `${turn.expert} # again`]) if (texts.size < SAMPLES_PER_TURN / 2) texts.set(a, 1);
      for (const d of step.decoys) if (texts.size < SAMPLES_PER_TURN) texts.set(d, 0);
      for (const a of ['true', `${turn.expert}; touch stray.tmp`, 'ls -l', 'cat -n run_tests.py'])
        if (texts.size < SAMPLES_PER_TURN && !texts.has(a)) texts.set(a, 0);
      const entries = [...texts];
      items.push({
        turn,
        samples: entries.map(([text], index) => ({ turnId: turn.id, index, text, logprobs: [] })),
        intended: entries.map(([, r]) => r),
      });
    }
  }
  return items;
}

const r1 = (x: number) => Math.round(x * 10) / 10;

async function main(): Promise<void> {
  const docker = connectEngine();
  await ensureImage(docker, SWE_IMAGE);
  const items = buildBatch();
  const samples = items.reduce((n, it) => n + it.samples.length, 0);
  console.log(`swe verify bench: ${items.length} turns, ${samples} samples, concurrency ${CONCURRENCY}, ${SWE_IMAGE}`);
  const verifier = new SweVerifier({ docker, concurrency: CONCURRENCY, owner: OWNER });
  await verifier.verifyBatch(items.slice(0, 1).map(({ turn, samples }) => ({ turn, samples: samples.slice(0, 2) }))); // warm-up
  const t0 = performance.now();
  const verdicts = await verifier.verifyBatch(items.map(({ turn, samples }) => ({ turn, samples })));
  const seconds = (performance.now() - t0) / 1000;
  const s = verifier.stats;
  let k = 0;
  const agree = { equivalentsRewarded: 0, equivalents: 0, missesRewarded: 0, misses: 0, masked: 0, surprises: [] as string[] };
  for (const it of items) {
    it.samples.forEach((sample, j) => {
      const v = verdicts[k++];
      if (v.reward === null) agree.masked++;
      if (it.intended[j] === 1) agree.equivalents++;
      else agree.misses++;
      if (it.intended[j] === 1 && v.reward === 1) agree.equivalentsRewarded++;
      if (it.intended[j] === 0 && v.reward === 1) agree.missesRewarded++;
      if (v.reward !== it.intended[j] && agree.surprises.length < 8)
        agree.surprises.push(`${it.turn.id} ${JSON.stringify(sample.text)} -> ${v.reward} (${v.reason}: ${v.detail})`);
    });
  }
  const result = {
    turns: items.length,
    samples,
    seconds: Math.round(seconds * 100) / 100,
    samplesPerSecond: r1(samples / seconds),
    msPerSample: r1((seconds * 1000) / samples),
    msPerExecutedSample: r1((seconds * 1000) / (s.actionsRun - s.statesOpened)),
    meanStateOpenMs: r1(s.openMs / s.statesOpened),
    meanActionMs: r1(s.actionMs / s.actionsRun),
    actionsRun: s.actionsRun,
    samplesReused: s.samplesReused,
    concurrency: CONCURRENCY,
    ...agree,
  };
  console.log(`  ${samples} samples in ${result.seconds} s: ${result.samplesPerSecond} samples/s, ${result.msPerSample} ms per sample`);
  console.log(`  turn state open ${result.meanStateOpenMs} ms; action (+ tests when needed) ${result.meanActionMs} ms`);
  console.log(
    `  equivalents rewarded ${agree.equivalentsRewarded}/${agree.equivalents}, near misses rewarded ${agree.missesRewarded}/${agree.misses}`,
  );
  for (const x of agree.surprises) console.log(`  surprise: ${x}`);
  console.log(JSON.stringify(result));
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => reapSandboxes(connectEngine(), OWNER));
