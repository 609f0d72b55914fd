// What Temporal costs a campaign (run: `npx tsx bench/overhead.ts [--steps 3] [--train-tasks 16] [--repeats 3]`).
//
//  (a) a small campaign on Temporal: a throwaway dev server, the CPU and GPU workers in this process (the same
//      wiring as workers/*.ts), wall time from start to result (server start and worker start-up not counted);
//  (b) the same stages without Temporal: the same activity functions with the same dependencies (Docker
//      sandboxes, the policy engine thread), called in the workflow's order with the workflow's inputs (its own
//      ingest, evaluation and input builders), each inside the SDK's MockActivityEnvironment so that their
//      heartbeats have somewhere to go;
//  ratio = (a) / (b), target <= 1.15. Runs alternate (b), (a), (b), (a), ... on fresh campaign ids (nothing cached);
//  the medians count. Both keep their engine thread and episode sandboxes across runs, as a worker does.
// The last line printed is one JSON object.
import { parseArgs } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createCpuActivities, createGpuActivities } from '../activities';
import type { CampaignConfig } from '../core/config';
import { seedOf } from '../core/rng';
import { campaignKeys } from '../pipeline/keys';
import { openPolicyEngine, type PolicyEngine } from '../policy/engine';
import { reapSandboxes, sandboxOwner } from '../sandboxes/reaper';
import { DEFAULT_IMAGE } from '../sandboxes/sandbox';
import { connectEngine } from '../sandboxes/engine';
import { DomainEpisodeRunner } from '../sandboxes/episodes';
import type { StoreConfig } from '../store';
import { createVerifier } from '../verifiers';
import { createCpuWorker, createGpuWorker } from '../workers/build';
import { grpoHyper, ingestAndEvaluateBase, pivotCampaign, startState } from '../workflows/campaign';
import { evaluator, samplingOf, verifyInputOf, type StageActivities } from '../workflows/evaluate';
import { startTestTemporal } from '../harness/temporal';
import { tinyCampaign } from '../harness/campaign';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '3' },
    'train-tasks': { type: 'string', default: '16' },
    repeats: { type: 'string', default: '3' },
  },
});
const STEPS = Number(args.steps);
const REPEATS = Number(args.repeats);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[Math.floor((s.length - 1) / 2)] + s[Math.ceil((s.length - 1) / 2)]) / 2;
};
const seconds = (t0: number) => (performance.now() - t0) / 1000;

/** The activities with the dependencies the workers give them, kept for all in-process runs (as a worker keeps them). */
function inProcessActivities() {
  const docker = connectEngine();
  const episodes = new DomainEpisodeRunner({ docker, image: DEFAULT_IMAGE });
  const engines = new Map<string, PolicyEngine>();
  const engineFor = (s: StoreConfig) => {
    const key = JSON.stringify(s);
    if (!engines.has(key)) engines.set(key, openPolicyEngine({ store: s, onLog: () => {} }));
    return engines.get(key)!;
  };
  return {
    cpu: createCpuActivities({ makeVerifier: (kind, o) => createVerifier(kind, { docker, image: DEFAULT_IMAGE, ...o }), episodes }),
    gpu: createGpuActivities(engineFor),
    close: async () => {
      await episodes.close();
      await Promise.all([...engines.values()].map((e) => e.close()));
    },
  };
}

/** The stages' activities as the workflow calls them (summary, input), each run in-process; counts the calls. */
function inProcessAct({ cpu, gpu }: ReturnType<typeof inProcessActivities>) {
  const counter = { calls: 0 };
  const call =
    <I, R>(fn: (input: I) => Promise<R>) =>
    (_summary: string, input: I): Promise<R> => {
      counter.calls++;
      return new MockActivityEnvironment().run(fn, input);
    };
  const act: StageActivities = {
    ingest: call(cpu.ingest),
    generate: call(gpu.generate),
    verify: call(cpu.verify),
    update: call(gpu.update),
    startEpisodes: call(cpu.startEpisodes),
    stepEpisodes: call(cpu.stepEpisodes),
    scoreEpisodes: call(cpu.scoreEpisodes),
    selectPivots: call(cpu.selectPivots),
    drawBatch: call(cpu.drawBatch),
    scoreOod: call(cpu.scoreOod),
    selectHeldoutStates: call(cpu.selectHeldoutStates),
    scoreHeldoutStates: call(cpu.scoreHeldoutStates),
    selectTurns: call(cpu.selectTurns),
    startTrainingEpisodes: call(cpu.startTrainingEpisodes),
    scoreRollouts: call(cpu.scoreRollouts),
    sftUpdate: call(gpu.sftUpdate),
    splitSftTurns: call(cpu.splitSftTurns),
    sftValLoss: call(gpu.sftValLoss),
    episodeUpdate: call(gpu.episodeUpdate),
    measureOodDrift: call(gpu.measureOodDrift),
  };
  return { act, counter };
}

/**
 * The campaign's procedure without Temporal: the workflow's ingest and evaluation (the same functions, given
 * in-process activities), and its profiling and update steps with inputs from the workflow's own builders.
 */
async function runInProcess(
  activities: ReturnType<typeof inProcessActivities>,
  campaignId: string,
  config: CampaignConfig,
): Promise<{ activities: number; finalHash: string | null }> {
  const { act, counter } = inProcessAct(activities);
  const keys = campaignKeys(campaignId);
  const stage = { store: config.store, campaignId };
  const state = startState(campaignId, config);
  const { hyper } = state.progress;
  const sampling = samplingOf(config);
  const verifyInput = verifyInputOf(config, stage);
  const evaluate = evaluator(act, config, campaignId, state.progress.rolloutTurns);
  const data = await ingestAndEvaluateBase(act, config, campaignId, state, () => {}, evaluate);
  for (let i = 0; i < data.shards; i++) {
    const gen = await act.generate('profile', {
      ...stage,
      checkpoint: data.baseCheckpoint,
      prompts: keys.shardPrompts(i),
      out: keys.profileSamples(i),
      sampling: sampling(config.profile.k, seedOf(config.seed, 'profile', i), hyper.temperature),
    });
    await act.verify('profile', verifyInput(keys.shardTurns(i), gen.out, keys.profileVerdicts(i)));
  }
  await act.selectPivots('select pivots', {
    ...stage,
    shards: data.shards,
    lambdaDiff: config.profile.lambdaDiff,
    out: { profiles: keys.profiles, pivots: keys.pivots },
  });
  let checkpoint = data.baseCheckpoint;
  let finalHash: string | null = null;
  for (let step = 1; step <= config.train.steps; step++) {
    const k = keys.step(step);
    const batch = await act.drawBatch('draw', {
      ...stage,
      pivots: keys.pivots,
      count: config.train.batchPivots,
      seed: seedOf(config.seed, 'batch', step),
      out: { turns: k.turns, prompts: k.prompts },
    });
    await act.generate('rollouts', {
      ...stage,
      checkpoint,
      prompts: batch.prompts,
      out: k.samples,
      sampling: sampling(config.train.groupSize, seedOf(config.seed, 'rollout', step), hyper.temperature),
    });
    await act.verify('verify', verifyInput(k.turns, k.samples, k.verdicts));
    const update = await act.update('update', {
      ...stage,
      step,
      checkpoint,
      reference: hyper.klBeta > 0 ? data.baseCheckpoint : undefined,
      batch: { turns: k.turns, samples: k.samples, verdicts: k.verdicts },
      hp: grpoHyper(config, hyper),
      leaveOneOut: config.train.leaveOneOut,
      out: keys.checkpoint(step),
      sampler: config.policy.sampler,
    });
    checkpoint = update.checkpoint;
    finalHash = update.hash;
  }
  await evaluate(`step-${config.train.steps}`, checkpoint, data.heldout, data.ood);
  return { activities: counter.calls, finalHash };
}

const docker = connectEngine();
await reapSandboxes(docker, sandboxOwner(), { spareLiveProcesses: true });
const temporal = await startTestTemporal();
const tiny = tinyCampaign({ address: temporal.address, queue: 'bench', steps: STEPS, trainTasks: Number(args['train-tasks']) });
const config = tiny.config;
console.log(
  `campaign: ${tiny.candidates} candidate turns, K=${config.profile.k}, ${STEPS} steps of ${config.train.batchPivots}x${config.train.groupSize}`,
);

let t0 = performance.now();
const connection = temporal.env.nativeConnection;
const cpuWorker = await createCpuWorker({ connection, namespace: 'default', taskQueue: config.temporal.cpuQueue });
const gpuWorker = await createGpuWorker({ connection, namespace: 'default', taskQueue: config.temporal.gpuQueue, allowCpu: true });
const running = Promise.all([cpuWorker.worker.run(), gpuWorker.worker.run()]);
const workerStartup = seconds(t0);
console.log(`worker start-up (bundle, backend probe): ${workerStartup.toFixed(1)} s (not counted)`);

const local = inProcessActivities();
const times = { temporal: [] as number[], inProcess: [] as number[] };
let activities = 0;
const hashes = new Set<string | null>();
try {
  for (let r = 0; r < REPEATS; r++) {
    t0 = performance.now();
    const plain = await runInProcess(local, `bench-local-${r}-${Date.now()}`, config);
    times.inProcess.push(seconds(t0));
    activities = plain.activities;
    hashes.add(plain.finalHash);
    console.log(`in-process run ${r + 1}: ${times.inProcess.at(-1)!.toFixed(2)} s (${plain.activities} activity calls)`);

    const id = `bench-temporal-${r}-${Date.now()}`;
    t0 = performance.now();
    const handle = await temporal.env.client.workflow.start(pivotCampaign, {
      taskQueue: config.temporal.cpuQueue,
      workflowId: id,
      args: [{ campaignId: id, config }],
    });
    const result = await handle.result();
    times.temporal.push(seconds(t0));
    hashes.add(result.finalHash);
    console.log(`on Temporal run ${r + 1}: ${times.temporal.at(-1)!.toFixed(2)} s`);
  }
} finally {
  cpuWorker.worker.shutdown();
  gpuWorker.worker.shutdown();
  await running;
  await Promise.all([cpuWorker.close(), gpuWorker.close(), local.close()]);
  await temporal.stop();
}

const onTemporal = median(times.temporal);
const inProcess = median(times.inProcess);
const ratio = onTemporal / inProcess;
console.log(`Temporal ${onTemporal.toFixed(2)} s vs in-process ${inProcess.toFixed(2)} s: ratio ${ratio.toFixed(3)} (target <= 1.15)`);
if (hashes.size !== 1) console.log(`WARNING: the runs ended on different checkpoints: ${[...hashes].join(', ')}`);
console.log(
  JSON.stringify({
    ratio: Number(ratio.toFixed(4)),
    target: 1.15,
    temporalSeconds: Number(onTemporal.toFixed(3)),
    inProcessSeconds: Number(inProcess.toFixed(3)),
    activities,
    overheadPerActivityMs: Number(((1000 * (onTemporal - inProcess)) / activities).toFixed(1)),
    runs: { temporal: times.temporal.map((x) => Number(x.toFixed(3))), inProcess: times.inProcess.map((x) => Number(x.toFixed(3))) },
    workerStartupSeconds: Number(workerStartup.toFixed(2)),
    campaign: {
      candidates: tiny.candidates,
      steps: STEPS,
      k: config.profile.k,
      batch: config.train.batchPivots,
      group: config.train.groupSize,
    },
    sameFinalCheckpoint: hashes.size === 1,
  }),
);
