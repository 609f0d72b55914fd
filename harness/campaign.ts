// Harness (tests and benches): a tiny campaign with its own data, store and queues, and the shipped pi0.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { CampaignConfig } from '../core/config';
import { generateTerminalSuite } from '../tasks/terminal/suite';
import { generateOodSuite } from '../tasks/ood';
import { terminalTurns } from '../tasks/terminal/render';
import { tempDir } from './temp-dir';

export const PI0 = process.env.PIVOTRL_TEST_PI0 ?? resolve(import.meta.dirname, '../models/pi0');

// The tests' and benches' campaigns keep their data in temporary folders: workers in this process and the ones it
// starts (which inherit its environment) may read data there, in the repository and next to the base model.
process.env.PIVOTRL_DATA_ROOTS ??= [process.cwd(), tmpdir(), dirname(PI0)].join(':');

export interface TinyCampaign {
  dir: string;
  config: CampaignConfig;
  candidates: number;
}

export function tinyCampaign(opts: {
  address: string;
  queue: string;
  steps?: number;
  trainTasks?: number;
  /** Held-out expert states each evaluation scores (evaluate.heldoutTurns; default none). */
  heldoutTurns?: number;
}): TinyCampaign {
  const dir = tempDir(`pivotrl-${opts.queue}-`);
  const suite = generateTerminalSuite({ seed: 11, trainTasks: opts.trainTasks ?? 8, heldoutTasks: 4 });
  const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r) + '\n').join('');
  writeFileSync(join(dir, 'train.jsonl'), jsonl(suite.train));
  writeFileSync(join(dir, 'heldout.jsonl'), jsonl(suite.heldout));
  writeFileSync(join(dir, 'ood.jsonl'), jsonl(generateOodSuite({ seed: 11, n: 10 })));
  const config = CampaignConfig.parse({
    name: opts.queue,
    seed: 3,
    data: {
      trajectories: [join(dir, 'train.jsonl')],
      heldoutTasks: join(dir, 'heldout.jsonl'),
      ood: join(dir, 'ood.jsonl'),
      shardSize: 16,
    },
    store: { kind: 'local', root: join(dir, 'store') },
    policy: { base: PI0, maxActionTokens: 40 },
    profile: { k: 4, lambdaDiff: 1 },
    train: { steps: opts.steps ?? 2, batchPivots: 4, groupSize: 4, lr: 1e-3 },
    evaluate: { heldoutTasks: 4, oodItems: 10, heldoutTurns: opts.heldoutTurns ?? 0 },
    verify: { concurrency: 2, actionTimeoutMs: 5000 },
    temporal: { address: opts.address, namespace: 'default', cpuQueue: `${opts.queue}-cpu`, gpuQueue: `${opts.queue}-gpu` },
  });
  const candidates = suite.train.reduce((a, t) => a + terminalTurns(t).length, 0);
  return { dir, config, candidates };
}
