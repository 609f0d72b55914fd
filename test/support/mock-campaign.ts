// The campaign workflow with its activities mocked: for the workflow's unit tests on a real dev server, and for
// recording the histories that the replay test replays (test/histories/record.ts).
import { Worker, type NativeConnection } from '@temporalio/worker';
import type { CpuActivities, GpuActivities } from '../../activities';
import type { CampaignConfig } from '../../core/config';
import { WORKFLOWS_PATH } from '../../workers/workflows-path';

/** A campaign config whose inputs are never read (the activities are mocks). */
export function mockConfig(opts: { steps: number; queue: string; address: string; stepsPerRun?: number }): CampaignConfig {
  return {
    name: 'wf-unit',
    seed: 1,
    method: 'pivotrl',
    data: { trajectories: ['/dev/null'], heldoutTasks: '/dev/null', ood: '/dev/null', shardSize: 64 },
    store: { kind: 'local', root: '/tmp/unused' },
    policy: { base: '/models/pi0', temperature: 1, topP: 1, maxActionTokens: 16, sampler: { kind: 'local' } },
    profile: { k: 4, lambdaDiff: 0.6, selection: 'pivots' },
    verifier: 'functional',
    train: {
      steps: opts.steps,
      batchPivots: 2,
      groupSize: 4,
      lr: 1e-3,
      clipEps: 0.2,
      klBeta: 0,
      leaveOneOut: false,
      maxGradNorm: 1,
      weightDecay: 0,
    },
    evaluate: { heldoutTasks: 2, oodItems: 2, every: 0, curveEpisodes: true, heldoutTurns: 0, turnSamples: 4, oodDrift: false },
    verify: { concurrency: 1, actionTimeoutMs: 1000, wordOverlap: 0.6 },
    temporal: {
      address: opts.address,
      namespace: 'default',
      cpuQueue: `${opts.queue}-cpu`,
      gpuQueue: `${opts.queue}-gpu`,
      stepsPerRun: opts.stepsPerRun ?? 10,
    },
  };
}

/** How the mocked ingest's turns are verified. */
export const MOCK_VERIFICATION = {
  turns: { sandbox: 2, replay: 1, backend: 0, arguments: 1, message: 0 },
  unrebuilt: { swe_repository: 1, earlier_step_not_shell: 0, action_not_shell: 0 },
};

/** Mocked stage activities that record which queue ran what; `gate` holds every update until it resolves. */
export function mockActivities(calls: string[], opts: { gate?: Promise<void>; shards?: number } = {}) {
  const record = (queue: string, name: string) => calls.push(`${queue}:${name}`);
  const shards = opts.shards ?? 1;
  const cpu = {
    ingest: async () => {
      record('cpu', 'ingest');
      return {
        trajectories: 2,
        turns: 4 * shards,
        shards,
        badRecords: 1,
        verification: MOCK_VERIFICATION,
        badExamples: [],
        quarantine: 'q',
        heldout: 'h',
        heldoutCount: 2,
        ood: 'o',
        oodPrompts: 'op',
        oodCount: 2,
        baseCheckpoint: 'ck/0',
      };
    },
    selectPivots: async () => {
      record('cpu', 'selectPivots');
      return {
        summary: { candidates: 4, pivots: 2, allZero: 1, allOne: 1, tooEasy: 0, unverified: 0, pivotRate: 0.5, meanReward: 0.5 },
        profiles: 'p',
        pivots: 'pv',
        muHistogram: [],
      };
    },
    drawBatch: async () => (record('cpu', 'drawBatch'), { turns: 'bt', prompts: 'bp', count: 2 }),
    verify: async (input: { out: string }) => {
      record('cpu', 'verify');
      return { out: input.out, samples: 8, rewarded: 4, masked: 0, meanReward: 0.5, zeroVarianceGroups: 0, byReason: {} };
    },
    startEpisodes: async () => (record('cpu', 'startEpisodes'), { episodes: 'e0', prompts: 'p0', active: 2 }),
    stepEpisodes: async () => (record('cpu', 'stepEpisodes'), { episodes: 'e1', prompts: 'p1', active: 0 }),
    scoreEpisodes: async () => (
      record('cpu', 'scoreEpisodes'),
      { episodes: 2, successes: 1, successRate: 0.5, actions: 2, byTemplate: {} }
    ),
    scoreOod: async (input: { out?: string }) => (
      record('cpu', 'scoreOod'),
      { items: 2, correct: 2, accuracy: 1, byKind: {}, ...(input.out && { oodItems: input.out }) }
    ),
    selectHeldoutStates: async (input: { heldoutTurns: number; out: { turns: string; prompts: string } }) => (
      record('cpu', 'selectHeldoutStates'),
      { ...input.out, states: input.heldoutTurns }
    ),
    scoreHeldoutStates: async (input: { turnSamples: number; out: string }) => {
      record('cpu', 'scoreHeldoutStates');
      const rates = { n: 4, greedy: 0.5, sampled: 0.25 };
      return {
        states: 4,
        k: input.turnSamples,
        greedy: 0.5,
        sampled: 0.25,
        items: input.out,
        byTemplate: { t: rates },
        byPosition: { 0: rates },
      };
    },
  } as unknown as CpuActivities;
  const gpu = {
    generate: async (input: { out: string; sampling: { n: number } }) => {
      record('gpu', 'generate');
      return { out: input.out, samples: 4 * input.sampling.n, tokens: 10, backend: 'mock' };
    },
    measureOodDrift: async (input: { out: string }) => (record('gpu', 'measureOodDrift'), { meanNll: 1.5, items: input.out }),
    update: async (input: { step: number; out: string }) => {
      record('gpu', 'update');
      await opts.gate;
      return {
        step: input.step,
        checkpoint: input.out,
        hash: `h${input.step}`,
        items: 8,
        metrics: { loss: 0.1, policy_loss: 0.1, approx_kl: 0, clipfrac: 0, entropy: 1, grad_norm: 1, lr: 1e-3, tokens: 10, seconds: 0.1 },
      };
    },
  } as unknown as GpuActivities;
  return { cpu, gpu };
}

/** The shared mocks plus the baselines' activities (SFT, end-to-end RL, random turns), recording their calls too. */
export function mockMethodActivities(
  calls: string[],
  opts: { shards?: number; /** SFT's validation loss of a checkpoint (default 1). */ valLoss?: (checkpoint: string) => number } = {},
) {
  const acts = mockActivities(calls, opts);
  const record = (queue: string, name: string) => calls.push(`${queue}:${name}`);
  const update = async (input: { step: number; out: string }) => ({
    step: input.step,
    checkpoint: input.out,
    hash: `h${input.step}`,
    items: 8,
    metrics: { loss: 0.1, policy_loss: 0.1, approx_kl: 0, clipfrac: 0, entropy: 1, grad_norm: 1, lr: 1e-3, tokens: 10, seconds: 0.1 },
  });
  Object.assign(acts.cpu as object, {
    selectTurns: async (input: { out: string }) => (
      record('cpu', 'selectTurns'),
      {
        summary: { candidates: 4, pivots: 4, allZero: 0, allOne: 0, tooEasy: 0, unverified: 4, pivotRate: 1, meanReward: 0 },
        profiles: '',
        pivots: input.out,
        muHistogram: [],
      }
    ),
    startTrainingEpisodes: async (input: { tasks: number; group: number }) => (
      record('cpu', 'startTrainingEpisodes'),
      { episodes: 'te0', prompts: 'tp0', active: input.tasks * input.group }
    ),
    splitSftTurns: async (input: { out: { train: string; val: string } }) => (
      record('cpu', 'splitSftTurns'),
      { ...input.out, trainTurns: 36, valTurns: 4, valTrajectories: 1 }
    ),
    scoreRollouts: async (input: { out: string }) => (
      record('cpu', 'scoreRollouts'),
      { out: input.out, episodes: 8, actions: 8, meanReward: 0.25, zeroVarianceGroups: 0.5 }
    ),
  } satisfies Partial<CpuActivities>);
  Object.assign(acts.gpu as object, {
    sftUpdate: async (input: { step: number; out: string }) => (record('gpu', 'sftUpdate'), update(input)),
    episodeUpdate: async (input: { step: number; out: string }) => (record('gpu', 'episodeUpdate'), update(input)),
    sftValLoss: async (input: { checkpoint: string }) => {
      record('gpu', 'sftValLoss');
      return { checkpoint: input.checkpoint, loss: opts.valLoss?.(input.checkpoint) ?? 1, tokens: 10, sequences: 4 };
    },
  } satisfies Partial<Record<keyof GpuActivities, unknown>>);
  return acts;
}

/** Runs `fn` while a CPU worker (workflows + CPU mocks) and a GPU worker (GPU mocks) poll `queue`-cpu / -gpu. */
export async function withMockWorkers<T>(
  connection: NativeConnection,
  queue: string,
  acts: ReturnType<typeof mockActivities>,
  fn: () => Promise<T>,
  opts: { workflowsPath?: string } = {},
): Promise<T> {
  const cpu = await Worker.create({
    connection,
    taskQueue: `${queue}-cpu`,
    workflowsPath: opts.workflowsPath ?? WORKFLOWS_PATH,
    activities: acts.cpu,
  });
  const gpu = await Worker.create({ connection, taskQueue: `${queue}-gpu`, activities: acts.gpu });
  return gpu.runUntil(cpu.runUntil(fn()));
}
