// Benchmark of ingest at scale (run: `npx tsx bench/ingest.ts [--mb 1024] [--shard-size 64]`).
//
//  (a) generates a ~1 GB trajectory JSON Lines file in a temp dir (the terminal suite, repeated with varied ids,
//      stream-written), then ingests it into a temporary LocalStore in a child process: records/s, MB/s, and the
//      child's peak RSS (the kernel's maxRSS, and RSS sampled every 20 ms); target peak RSS < 300 MB;
//  (b) the baseline: the time to merely read the same file line by line in a child process (the ingest's own byte
//      reader: split on LF, check UTF-8, no parsing), and Node's readline for reference; ratio = (a) / (b);
// Everything made here is deleted at the end. The last line printed is one JSON object.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MAX_LINE_BYTES, ingest } from '../pipeline/ingest';
import { readJsonLines } from '../pipeline/jsonl-reader';
import { LocalStore } from '../store';
import { generateOodSuite } from '../tasks/ood';
import { generateTerminalSuite } from '../tasks/terminal/suite';

const MB = 1024 * 1024;

interface ChildReport {
  seconds: number;
  /** CPU time (user + system) of the job: wall time is noisy on a shared machine. */
  cpu_seconds: number;
  lines?: number;
  records?: number;
  turns?: number;
  shards?: number;
  bad?: number;
  result_bytes?: number;
  start_rss_mb: number;
  max_rss_mb: number;
  sampled_peak_rss_mb: number;
}

// ---- the child: one measured job, reporting its time and memory on stdout ------------------------------

async function child(job: string, file: string, dir: string, shardSize: number): Promise<void> {
  const startRss = process.memoryUsage().rss;
  let peak = startRss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const report: Partial<ChildReport> = {};
  if (job === 'read') {
    let lines = 0;
    for await (const _ of readJsonLines(file, { maxLineBytes: MAX_LINE_BYTES })) lines++;
    report.lines = lines;
  } else if (job === 'readline') {
    let lines = 0;
    for await (const _ of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) lines++;
    report.lines = lines;
  } else {
    const result = await ingest(new LocalStore(join(dir, 'store')), {
      campaignId: 'bench',
      trajectories: [file],
      heldoutTasks: join(dir, 'heldout.jsonl'),
      ood: join(dir, 'ood.jsonl'),
      shardSize,
      heldoutLimit: 100,
      oodLimit: 100,
    });
    Object.assign(report, {
      records: result.trajectories,
      turns: result.turns,
      shards: result.shards.length,
      bad: result.badRecords,
      result_bytes: Buffer.byteLength(JSON.stringify(result)),
    });
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const out: ChildReport = {
    ...report,
    seconds,
    cpu_seconds: (cpu.user + cpu.system) / 1e6,
    start_rss_mb: startRss / MB,
    max_rss_mb: process.resourceUsage().maxRSS / 1024,
    sampled_peak_rss_mb: peak / MB,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

async function runChild(job: string, file: string, dir: string, shardSize: number): Promise<ChildReport> {
  const script = fileURLToPath(import.meta.url);
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', script, '--child', job, '--file', file, '--dir', dir, '--shard-size', String(shardSize)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let stdout = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const [code] = (await once(proc, 'exit')) as [number];
  if (code !== 0) throw new Error(`bench child '${job}' exited with ${code}`);
  return JSON.parse(stdout.trim().split('\n').pop()!) as ChildReport;
}

// ---- the parent: make the input, run the jobs, report -----------------------------------------------------

/** Stream-writes trajectories of the terminal suite, with varied ids, until the file has `targetBytes`. */
async function writeInput(path: string, targetBytes: number): Promise<{ bytes: number; records: number }> {
  const suite = generateTerminalSuite({ seed: 1, trainTasks: 512, heldoutTasks: 0 });
  const out = createWriteStream(path);
  let bytes = 0;
  let records = 0;
  for (let rep = 0; bytes < targetBytes; rep++) {
    let batch = '';
    for (const t of suite.train) {
      const id = `${t.id}-r${rep}`;
      batch += JSON.stringify({ ...t, id, task: { ...t.task, id } }) + '\n';
      records++;
    }
    bytes += Buffer.byteLength(batch);
    if (!out.write(batch)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { bytes, records };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mb: { type: 'string', default: '1024' },
      'shard-size': { type: 'string', default: '64' },
      child: { type: 'string' },
      file: { type: 'string' },
      dir: { type: 'string' },
    },
  });
  const shardSize = Number(values['shard-size']);
  if (values.child) return child(values.child, values.file!, values.dir!, shardSize);

  const dir = mkdtempSync(join(tmpdir(), 'pivotrl-bench-ingest-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  process.once('SIGINT', () => (cleanup(), process.exit(130)));
  try {
    const file = join(dir, 'trajectories.jsonl');
    const suite = generateTerminalSuite({ seed: 2, trainTasks: 0, heldoutTasks: 24 });
    writeFileSync(join(dir, 'heldout.jsonl'), suite.heldout.map((t) => JSON.stringify(t) + '\n').join(''));
    writeFileSync(
      join(dir, 'ood.jsonl'),
      generateOodSuite({ seed: 2, n: 50 })
        .map((t) => JSON.stringify(t) + '\n')
        .join(''),
    );

    const t0 = performance.now();
    const input = await writeInput(file, Number(values.mb) * MB);
    const inputMb = statSync(file).size / MB;
    console.log(
      `input: ${inputMb.toFixed(0)} MB, ${input.records} trajectories, written in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );

    const read = await runChild('read', file, dir, shardSize);
    const line = (what: string, r: ChildReport) =>
      `${what}: ${r.seconds.toFixed(1)} s (cpu ${r.cpu_seconds.toFixed(1)} s), ${(inputMb / r.seconds).toFixed(0)} MB/s, peak RSS ${r.max_rss_mb.toFixed(0)} MB`;
    console.log(line('read (byte lines + UTF-8 check)', read));
    const readline = await runChild('readline', file, dir, shardSize);
    console.log(line('read (node readline, reference)', readline));

    const run = await runChild('ingest', file, dir, shardSize);
    const peak = Math.max(run.max_rss_mb, run.sampled_peak_rss_mb);
    console.log(
      `ingest: ${run.records} records -> ${run.turns} turns in ${run.shards} shards (${run.bad} bad), ${run.seconds.toFixed(1)} s (cpu ${run.cpu_seconds.toFixed(1)} s), ` +
        `${(run.records! / run.seconds).toFixed(0)} records/s, ${(inputMb / run.seconds).toFixed(1)} MB/s`,
    );
    console.log(
      `ingest memory: peak RSS ${peak.toFixed(0)} MB (maxRSS ${run.max_rss_mb.toFixed(0)}, sampled ${run.sampled_peak_rss_mb.toFixed(0)}, at start ${run.start_rss_mb.toFixed(0)}); target < 300 MB: ${peak < 300 ? 'met' : 'MISSED'}`,
    );
    console.log(`ingest result (the activity's payload): ${(run.result_bytes! / 1024).toFixed(0)} KiB`);
    console.log(
      JSON.stringify({
        input_mb: Math.round(inputMb),
        records: run.records,
        turns: run.turns,
        shards: run.shards,
        seconds: Number(run.seconds.toFixed(2)),
        records_per_s: Math.round(run.records! / run.seconds),
        mb_per_s: Number((inputMb / run.seconds).toFixed(2)),
        read_s: Number(read.seconds.toFixed(2)),
        readline_s: Number(readline.seconds.toFixed(2)),
        ratio: Number((run.seconds / read.seconds).toFixed(2)),
        cpu_s: Number(run.cpu_seconds.toFixed(2)),
        cpu_ratio: Number((run.cpu_seconds / read.cpu_seconds).toFixed(2)),
        peak_rss_mb: Math.round(peak),
        start_rss_mb: Math.round(run.start_rss_mb),
        read_peak_rss_mb: Math.round(read.max_rss_mb),
        result_kib: Math.round(run.result_bytes! / 1024),
        target_rss_met: peak < 300,
      }),
    );
  } finally {
    cleanup();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
