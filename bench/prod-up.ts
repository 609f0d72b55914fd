// Start-up time of the production stack on one machine (run as root: `npx tsx bench/prod-up.ts [--repeats 1]`).
//
//  baseline: the local stack's Temporal, `deploy/local/temporal-server.sh start` (the CLI's dev server on SQLite) on a new
//            state directory, until healthy with the search attributes registered;
//  cold:     `deploy/prod/up.sh` on a new state directory with the Go binaries cached: initdb, PostgreSQL, schemas,
//            Temporal's server, namespace and search attributes, UI server, versitygw and the bucket, stack.env;
//  warm:     `deploy/prod/up.sh` again on that stack (every step checked, nothing changed).
// Each on its own state directory and ports (defaults + 4000), so a stack on the default ports is untouched; torn down
// after. Ratios: cold / baseline and warm / cold (medians over the repeats). The last line printed is one JSON object.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({ options: { repeats: { type: 'string', default: '1' } } });
const REPEATS = Number(args.repeats);
const OFFSET = 4_000; // Temporal's ports must stay <= 32767 (smallint in its SQL schema)
const port = (p: number) => String(p + OFFSET);

async function timed(script: string, argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = process.hrtime.bigint();
  await run(join(REPO, script), argv, { env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function stateDir(kind: string): string {
  const dir = mkdtempSync(join(tmpdir(), `pivotrl-bench-${kind}-`));
  chmodSync(dir, 0o755); // PostgreSQL runs as `postgres` and must reach its data directory inside
  return dir;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const r2 = (x: number) => Math.round(x * 100) / 100;

const baseline: number[] = [];
const cold: number[] = [];
const warm: number[] = [];
for (let i = 0; i < REPEATS; i++) {
  const devState = stateDir('dev');
  const devEnv = { PIVOTRL_STATE: devState, TEMPORAL_PORT: port(7233), TEMPORAL_UI_PORT: port(8233) };
  try {
    baseline.push(await timed('deploy/local/temporal-server.sh', ['start'], devEnv));
  } finally {
    await run(join(REPO, 'deploy/local/temporal-server.sh'), ['stop'], { env: { ...process.env, ...devEnv } }).catch(() => {});
    rmSync(devState, { recursive: true, force: true });
  }

  const prodState = stateDir('prod');
  const prodEnv = {
    PIVOTRL_STATE: prodState,
    PIVOTRL_PROD_TEMPORAL_PORT: port(7243),
    PIVOTRL_PROD_TEMPORAL_PORT_BASE: port(7244),
    PIVOTRL_PROD_UI_PORT: port(8243),
    PIVOTRL_S3_PORT: port(7070),
    PIVOTRL_PG_PORT: port(5432),
  };
  try {
    cold.push(await timed('deploy/prod/up.sh', [], prodEnv));
    warm.push(await timed('deploy/prod/up.sh', [], prodEnv));
  } finally {
    await run(join(REPO, 'deploy/prod/down.sh'), [], { env: { ...process.env, ...prodEnv } }).catch((e) => console.error(e));
    rmSync(prodState, { recursive: true, force: true });
  }
  console.log(
    `run ${i + 1}/${REPEATS}: baseline (dev server start) ${r2(baseline[i])} s, prod up.sh cold ${r2(cold[i])} s, warm ${r2(warm[i])} s`,
  );
}

const result = {
  bench: 'prod-up',
  repeats: REPEATS,
  baselineDevServerSeconds: r2(median(baseline)),
  coldSeconds: r2(median(cold)),
  warmSeconds: r2(median(warm)),
  coldOverBaseline: r2(median(cold) / median(baseline)),
  warmOverCold: r2(median(warm) / median(cold)),
};
console.log(`cold / baseline = ${result.coldOverBaseline}, warm / cold = ${result.warmOverCold}`);
console.log(JSON.stringify(result));
