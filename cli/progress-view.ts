// How a followed campaign or experiment shows its progress: live bars on a terminal (cli-progress), or a plain line
// whenever what it says changes (a log file, a pipe). Both are fed the snapshots the progress queries return.
import { format } from 'node:util';
import { MultiBar, type SingleBar } from 'cli-progress';
import type { CampaignProgress } from '../pipeline/campaign-state';
import { formatProgressLine } from './format';
import { barLine, campaignBars, experimentBars, type BarPlan, type ExperimentSnapshot, type StageBar } from './stage-bars';

export interface ProgressView<S> {
  show(snapshot: S): void;
  /** Draws the last snapshot for good (bars) and gives the terminal back. */
  stop(): void;
}

/** A terminal the bars are drawn on (process.stdout when it is a TTY). */
export type Terminal = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

const BAR_WIDTH = 24;

/** Logs each line of a snapshot whose text changed since the last snapshot (lines are told apart by their key). */
export function linesView<S>(log: (line: string) => void, linesOf: (snapshot: S) => [key: string, line: string][]): ProgressView<S> {
  const last = new Map<string, string>();
  return {
    show(snapshot) {
      for (const [key, line] of linesOf(snapshot)) {
        if (last.get(key) !== line) log(line);
        last.set(key, line);
      }
    },
    stop() {},
  };
}

const CONSOLE = ['log', 'info', 'warn', 'error', 'debug'] as const;

/**
 * Prints what this process logs while the bars are drawn (embedded workers: console lines, and Temporal's logger,
 * which writes to stderr) above the bars instead of through them. Returns the undo.
 */
function logAbove(multi: MultiBar): () => void {
  const saved = CONSOLE.map((method) => console[method]);
  const stderrWrite = process.stderr.write;
  for (const method of CONSOLE) console[method] = (...args: unknown[]) => multi.log(format(...args) + '\n');
  process.stderr.write = ((chunk: string | Uint8Array) => (multi.log(String(chunk)), true)) as typeof process.stderr.write;
  return () => {
    CONSOLE.forEach((method, i) => (console[method] = saved[i]));
    process.stderr.write = stderrWrite;
  };
}

/** Redraws one bar per row of each snapshot in place on `terminal`; a snapshot has as many rows as the first one. */
export function barsView<S>(terminal: Terminal, barsOf: (snapshot: S) => StageBar[]): ProgressView<S> {
  const multi = new MultiBar({
    stream: terminal,
    format: (_options, _params, payload: { line: string }) => payload.line,
    // No cursor hiding and no SIGINT handler of its own: Ctrl-C must still end the command, leaving a usable terminal.
    hideCursor: false,
    // Every bar is redrawn on each tick: lines logged above them move them down.
    forceRedraw: true,
    fps: 4,
  });
  let restoreLogs: (() => void) | null = null;
  const bars: SingleBar[] = [];
  return {
    show(snapshot) {
      const rows = barsOf(snapshot);
      const labelWidth = Math.max(...rows.map((r) => r.label.length));
      restoreLogs ??= logAbove(multi);
      rows.forEach((row, i) => {
        const payload = { line: barLine(row, { labelWidth, barWidth: BAR_WIDTH }) };
        if (!bars[i]) bars[i] = multi.create(row.total, row.value, payload);
        else {
          bars[i].setTotal(row.total);
          bars[i].update(row.value, payload);
        }
      });
    },
    stop() {
      if (multi.isActive) multi.update(); // prints the lines logged since the last tick
      multi.stop();
      restoreLogs?.();
    },
  };
}

/** A campaign's view: a bar per stage on `terminal` when given, else its progress line through `log`. */
export function campaignView(plan: BarPlan, o: { log: (line: string) => void; terminal?: Terminal }): ProgressView<CampaignProgress> {
  if (o.terminal) return barsView(o.terminal, (p) => campaignBars(p, plan));
  return linesView(o.log, (p) => [['campaign', `  ${formatProgressLine(p)}`]]);
}

/** A member's plain line: its progress line while it runs, else its state. */
const memberLine = (m: ExperimentSnapshot['pi0']) => (m.progress && m.state === 'running' ? formatProgressLine(m.progress) : m.state);

/** An experiment's view: pi0 and a bar per campaign on `terminal` when given, else `[who] line` lines through `log`. */
export function experimentView(
  plans: Parameters<typeof experimentBars>[1],
  o: { log: (line: string) => void; terminal?: Terminal },
): ProgressView<ExperimentSnapshot> {
  if (o.terminal) return barsView(o.terminal, (s) => experimentBars(s, plans));
  return linesView(o.log, (s) => [s.pi0, ...s.children].map((m) => [m.who, `[${m.who}] ${memberLine(m)}`]));
}
