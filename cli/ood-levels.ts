// Measures a checkpoint's greedy accuracy per OOD kind at candidate difficulty levels, through the evaluation's own
// generate, score and drift stages, to choose the `pivotrl generate --ood-level` at which pi0 is neither at floor nor ceiling.
//   npx tsx cli/ood-levels.ts [--checkpoint models/pi0] [--levels '0;1;2;add:3,next:1'] [--n 500] [--seed 1]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateSamples } from '../pipeline/generate';
import { scoreOod } from '../pipeline/episodes';
import { measureOodDrift } from '../pipeline/ood-drift';
import { importCheckpointDir } from '../policy/checkpoint';
import { openInProcessPolicyEngine } from '../policy/engine';
import { LocalStore, putJsonl } from '../store';
import { generateOodSuite, parseOodLevels } from '../tasks/ood';
import { oodPromptRowOf } from '../pipeline/records';

const CHECKPOINT = 'checkpoint';

/** Greedy accuracy per kind of `n` items at each of `levels` (each a `--ood-level` value). */
export async function measureOodLevels(o: { checkpoint: string; levels: string[]; n: number; seed: number }, log = console.log) {
  const scratch = await mkdtemp(join(tmpdir(), 'pivotrl-ood-levels-'));
  const engine = openInProcessPolicyEngine({ store: { kind: 'local', root: scratch }, onLog: () => {} });
  try {
    const store = new LocalStore(scratch);
    await importCheckpointDir(o.checkpoint, store, CHECKPOINT);
    const rows = [];
    for (const [i, level] of o.levels.entries()) {
      const items = generateOodSuite({ seed: o.seed, n: o.n, levels: parseOodLevels(level) });
      await putJsonl(store, `l${i}/items.jsonl`, items);
      await putJsonl(store, `l${i}/prompts.jsonl`, items.map(oodPromptRowOf));
      const sampling = { n: 1, temperature: 0, topP: 1, seed: o.seed };
      await generateSamples(store, engine, {
        checkpoint: CHECKPOINT,
        prompts: `l${i}/prompts.jsonl`,
        out: `l${i}/samples.jsonl`,
        sampling,
      });
      const score = await scoreOod(store, `l${i}/items.jsonl`, `l${i}/samples.jsonl`);
      const drift = await measureOodDrift(store, engine, { checkpoint: CHECKPOINT, items: `l${i}/items.jsonl`, out: `l${i}/drift.jsonl` });
      const kinds = Object.entries(score.byKind).map(([k, v]) => `${k} ${(100 * v).toFixed(0)}%`);
      log(
        `level ${level}: ${score.items} items, ${(100 * score.accuracy).toFixed(1)}% | ${kinds.join(' | ')} | ` +
          `reference NLL ${drift.meanNll.toFixed(3)} nats/token`,
      );
      rows.push({ level, ...score, meanNll: drift.meanNll });
    }
    return rows;
  } finally {
    await engine.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      checkpoint: { type: 'string', default: 'models/pi0' },
      levels: { type: 'string', default: '0;1;2;3' },
      n: { type: 'string', default: '500' },
      seed: { type: 'string', default: '1' },
    },
  });
  await measureOodLevels({
    checkpoint: values.checkpoint,
    levels: values.levels.split(';'),
    n: Number(values.n),
    seed: Number(values.seed),
  });
}
