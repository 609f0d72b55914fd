// What generate, export-pivots and ingest --check do (declared in data-commands.ts, loaded when one of them runs).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstIssue } from '../core/zod-errors';
import { TrajectorySource } from '../core/trajectory-source';
import { ConfigError, loadCampaignConfig } from '../pipeline/config-file';
import { exportPivots } from '../pipeline/export-pivots';
import { checkPassed, checkSources, formatBadLine, formatCheck } from '../pipeline/ingest-check';
import { LocalStore, openStore, type ArtefactStore } from '../store';
import { StoreEndpointError, storeAsWorkerReachesIt } from '../store/worker-endpoint';
import { generateOodSuite, parseOodLevels } from '../tasks/ood';
import { generateSweSuite } from '../tasks/swe/suite';
import { generateTerminalSuite } from '../tasks/terminal/suite';
import { generateToolSuite } from '../tasks/tool/suite';

function writeJsonl(path: string, rows: unknown[]): void {
  writeFileSync(path, rows.map((r) => JSON.stringify(r) + '\n').join(''));
}

function oodLevels(text: string) {
  try {
    return parseOodLevels(text);
  } catch (err) {
    throw new ConfigError(`generate: --ood-level: ${(err as Error).message}`);
  }
}

export interface GenerateOptions {
  out: string;
  seed: number;
  train: number;
  heldout: number;
  heldoutTemplates: string;
  ood: number;
  oodLevel?: string;
  sweTrain: number;
  sweHeldout: number;
  toolTrain: number;
  toolHeldout: number;
}

export function generate(o: GenerateOptions): void {
  const heldoutTemplates = o.heldoutTemplates.split(',').filter(Boolean);
  const levels = o.oodLevel === undefined ? undefined : oodLevels(o.oodLevel);
  const suite = generateTerminalSuite({ seed: o.seed, trainTasks: o.train, heldoutTasks: o.heldout, heldoutTemplates });
  mkdirSync(o.out, { recursive: true });
  writeJsonl(join(o.out, 'terminal-train.jsonl'), suite.train);
  writeJsonl(join(o.out, 'terminal-heldout.jsonl'), suite.heldout);
  writeJsonl(join(o.out, 'ood.jsonl'), generateOodSuite({ seed: o.seed, n: o.ood, levels }));
  if (o.sweTrain > 0 || o.sweHeldout > 0) {
    const swe = generateSweSuite({ seed: o.seed, trainTasks: o.sweTrain, heldoutTasks: o.sweHeldout });
    writeJsonl(join(o.out, 'swe-train.jsonl'), swe.train);
    writeJsonl(join(o.out, 'swe-heldout.jsonl'), swe.heldout);
    console.log(`wrote ${swe.train.length} SWE trajectories and ${swe.heldout.length} held-out SWE repositories to ${o.out}`);
  }
  if (o.toolTrain > 0 || o.toolHeldout > 0) {
    const tool = generateToolSuite({ seed: o.seed, trainTasks: o.toolTrain, heldoutTasks: o.toolHeldout });
    writeJsonl(join(o.out, 'tool-train.jsonl'), tool.train);
    writeJsonl(join(o.out, 'tool-heldout.jsonl'), tool.heldout);
    console.log(`wrote ${tool.train.length} tool-use trajectories and ${tool.heldout.length} held-out tool-use tasks to ${o.out}`);
  }
  console.log(`wrote ${suite.train.length} trajectories, ${suite.heldout.length} held-out tasks and ${o.ood} OOD items to ${o.out}`);
}

/**
 * The store `export-pivots` reads: a local folder (`--store`), or a campaign config's store (`--config`), local or
 * S3, reached as a worker reaches it (PIVOTRL_S3_ENDPOINT; S3 keys from the environment, as the SDK finds them).
 */
export function exportStore(o: { store?: string; config?: string }): ArtefactStore {
  if (o.store !== undefined && o.config !== undefined) throw new ConfigError('export-pivots: give --store DIR or --config FILE, not both');
  if (o.store !== undefined) return new LocalStore(o.store);
  if (o.config === undefined) throw new ConfigError('export-pivots: --store DIR or --config FILE is required');
  const { store } = loadCampaignConfig(o.config);
  try {
    return openStore(storeAsWorkerReachesIt(store, process.env.PIVOTRL_S3_ENDPOINT));
  } catch (err) {
    if (err instanceof StoreEndpointError) throw new ConfigError(`${o.config}: ${err.message}`);
    throw err;
  }
}

/** The campaign's pivots as NeMo-Gym pivot rows with their profiling statistics (formats/nemo-gym.ts). */
export async function exportPivotsCommand(o: {
  store?: string;
  config?: string;
  campaign: string;
  out: string;
  agent?: string;
}): Promise<void> {
  const result = await exportPivots(exportStore(o), o.campaign, o.out, { agent: o.agent });
  console.log(`wrote ${result.rows} pivot rows to ${result.out}`);
}

/** `pivotrl ingest --check`: the files read as a campaign's ingest would read them; exit status 1 when any line is bad. */
export async function ingestCommand(files: string[], o: { check: boolean; format: string; image?: string }): Promise<void> {
  if (!o.check) throw new ConfigError('ingest: only --check runs outside a campaign (`pivotrl run` ingests its data)');
  if (files.length === 0) throw new ConfigError('ingest --check: name at least one FILE');
  const sources = files.map((path) => {
    const parsed = TrajectorySource.safeParse({ path, format: o.format, ...(o.image && { image: o.image }) });
    if (!parsed.success) throw new ConfigError(`ingest --check: ${path}: ${firstIssue(parsed.error)}`);
    return parsed.data;
  });
  const result = await checkSources(sources, (bad) => console.log(formatBadLine(bad)));
  console.log(formatCheck(result));
  if (!checkPassed(result)) process.exitCode = 1;
}
