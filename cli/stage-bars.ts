// Progress bars as data: from a campaign's progress snapshot (its progress query), one bar per stage with its count,
// total and ETA; from an experiment's, one bar per campaign at its current stage. No terminal here (cli/progress-view.ts).
import type { CampaignConfig } from '../core/config';
import type { CampaignPhase, CampaignProgress } from '../pipeline/campaign-state';
import type { ChildState } from '../workflows/experiment';

export interface StageBar {
  /** A stage ("update"), or a campaign of an experiment and its stage ("pivotrl s1: update"). */
  label: string;
  value: number;
  total: number;
  /** What the count counts ("steps"); empty for a stage that is one piece of work (ingest, an evaluation). */
  unit: string;
  state: 'waiting' | 'running' | 'done' | 'failed';
  /** Seconds left, from the time the stage's activities took so far per unit done; null when unknown. */
  eta: number | null;
  /** Seconds the stage's activities took so far (the campaign's own `stageTimes`). */
  seconds: number;
  /** What the stage is doing now, or what it found. */
  note: string;
}

/** What the bars need besides the snapshot: the campaign's stages and the samples profiling draws per candidate turn. */
export interface BarPlan {
  stages: CampaignPhase[];
  profileK: number;
}

/** Where each phase comes in a run; `done` and `stopped` come after every stage. */
const ORDER: CampaignPhase[] = ['ingest', 'evaluate-base', 'profile', 'update', 'evaluate-final', 'done', 'stopped'];

/** A campaign's stages: PivotRL profiles pi0 unless it trains on random turns; SFT and E2E RL never do. */
export function barPlanOf(config: CampaignConfig): BarPlan {
  const profiles = (config.method ?? 'pivotrl') === 'pivotrl' && config.profile.selection !== 'random';
  const stages: CampaignPhase[] = ['ingest', 'evaluate-base', ...(profiles ? ['profile' as const] : []), 'update', 'evaluate-final'];
  return { stages, profileK: profiles ? config.profile.k : 0 };
}

/** An experiment's shared pi0 work (workflows/pi0.ts): ingest, pi0's evaluation, then every profile side by side. */
export function pi0BarPlan(profiles: CampaignConfig[]): BarPlan {
  return { stages: ['ingest', 'evaluate-base', 'profile'], profileK: profiles.reduce((sum, c) => sum + c.profile.k, 0) };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Milliseconds the campaign's activity calls took in `phases` (keys of `stageTimes` are "<phase>/<activity>"). */
function msIn(p: CampaignProgress, ...phases: string[]): number {
  let ms = 0;
  for (const [key, t] of Object.entries(p.stageTimes ?? {})) if (phases.includes(key.split('/', 1)[0])) ms += t.ms;
  return ms;
}

/** Seconds left when `done` of `total` units took `ms`: the same time per unit for the rest. */
export function etaSeconds(ms: number, done: number, total: number): number | null {
  if (done <= 0 || done >= total || ms <= 0) return null;
  return Math.round(((ms / done) * (total - done)) / 1000);
}

function stateOf(stage: CampaignPhase, now: CampaignPhase): StageBar['state'] {
  const [i, j] = [ORDER.indexOf(stage), ORDER.indexOf(now)];
  return i < j ? 'done' : i === j ? 'running' : 'waiting';
}

/** One stage's bar. */
function stageBar(stage: CampaignPhase, p: CampaignProgress, plan: BarPlan): StageBar {
  const state = stateOf(stage, p.stage);
  const running = state === 'running';
  const base = { label: stage, state, eta: null, note: running ? (p.now ?? '') : '' };
  const whole = (note: string) => ({
    ...base,
    value: state === 'done' ? 1 : 0,
    total: 1,
    unit: '',
    note: state === 'done' ? note : base.note,
  });
  switch (stage) {
    case 'ingest':
      return {
        ...whole(`${p.candidates} candidate turns${p.badRecords ? `, ${p.badRecords} bad records` : ''}`),
        seconds: msIn(p, stage) / 1000,
      };
    case 'evaluate-base':
    case 'evaluate-final': {
      const e = stage === 'evaluate-base' ? p.before : p.after;
      const bar = whole(e ? `in-domain ${pct(e.inDomain.successRate)}, OOD ${pct(e.ood.accuracy)}` : '');
      // The final evaluation does what pi0's did, on another checkpoint: it should take about as long.
      const [baseMs, finalMs] = [msIn(p, 'evaluate-base'), msIn(p, 'evaluate-final')];
      const eta = stage === 'evaluate-final' && running && baseMs > 0 ? Math.max(0, Math.round((baseMs - finalMs) / 1000)) : null;
      return { ...bar, eta, seconds: msIn(p, stage) / 1000 };
    }
    case 'profile': {
      const total = p.candidates * plan.profileK;
      const value = p.pivots ? total : Math.min(p.rolloutTurns.profiling, total);
      const ms = msIn(p, stage);
      const s = p.pivots?.summary;
      const note = s ? `${s.pivots} pivots of ${s.candidates} turns` : base.note;
      return { ...base, value, total, unit: 'samples', eta: running ? etaSeconds(ms, value, total) : null, seconds: ms / 1000, note };
    }
    case 'update': {
      // Learning-curve evaluations happen between steps: they are part of what each step costs.
      const ms = msIn(p, 'update', 'evaluate-curve');
      const last = p.history[p.history.length - 1];
      const notes = [last ? `batch reward ${last.batchReward.toFixed(3)}` : '', p.paused ? 'PAUSED' : running ? (p.now ?? '') : ''];
      const note = notes.filter(Boolean).join(', ');
      return {
        ...base,
        value: p.step,
        total: p.steps,
        unit: 'steps',
        eta: running ? etaSeconds(ms, p.step, p.steps) : null,
        seconds: ms / 1000,
        note,
      };
    }
    default:
      throw new Error(`no bar for stage ${stage}`);
  }
}

/** The campaign's bars, one per stage of its plan, in order. */
export function campaignBars(p: CampaignProgress, plan: BarPlan): StageBar[] {
  return plan.stages.map((stage) => stageBar(stage, p, plan));
}

/** One campaign of an experiment: its state there, and its progress while it runs. */
export interface ExperimentMember {
  who: string;
  state: ChildState;
  progress?: CampaignProgress;
}

/** What following an experiment sees at one poll: pi0's shared work, then every campaign. */
export interface ExperimentSnapshot {
  pi0: ExperimentMember;
  children: ExperimentMember[];
}

/** A campaign of an experiment as one bar: its current stage's while it runs; a whole bar when done or failed. */
function memberBar(m: ExperimentMember, plan: BarPlan): StageBar {
  const stage = m.progress && m.state === 'running' ? plan.stages.find((s) => stateOf(s, m.progress!.stage) === 'running') : undefined;
  if (stage) {
    const bar = stageBar(stage, m.progress!, plan);
    return { ...bar, label: `${m.who}: ${stage}` };
  }
  const note = m.state === 'running' ? 'starting' : '';
  return { label: m.who, value: m.state === 'done' ? 1 : 0, total: 1, unit: '', state: m.state, eta: null, seconds: 0, note };
}

/** pi0's bar, one per campaign, and how many campaigns are done. */
export function experimentBars(s: ExperimentSnapshot, plans: { pi0: BarPlan; of: (who: string) => BarPlan }): StageBar[] {
  const finished = s.children.filter((c) => c.state === 'done').length;
  const all = s.children.length;
  const overall: StageBar = {
    label: 'campaigns',
    value: finished,
    total: all,
    unit: 'done',
    state: finished === all ? 'done' : 'running',
    eta: null,
    seconds: 0,
    note: s.children.some((c) => c.state === 'failed') ? `${s.children.filter((c) => c.state === 'failed').length} failed` : '',
  };
  return [overall, memberBar(s.pi0, plans.pi0), ...s.children.map((c) => memberBar(c, plans.of(c.who)))];
}

/** "1h02m", "3m20s", "45s". */
export function formatSeconds(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const MARK: Record<StageBar['state'], string> = { waiting: ' ', running: '>', done: '✓', failed: '✗' };

/** The bar as one line: mark, label, the bar itself, the count, the ETA (or the time it took) and the note. */
export function barLine(bar: StageBar, o: { labelWidth: number; barWidth: number }): string {
  const filled = bar.total > 0 ? Math.round((o.barWidth * Math.min(bar.value, bar.total)) / bar.total) : 0;
  const count = bar.unit ? `${bar.value}/${bar.total} ${bar.unit}` : bar.state;
  const time =
    bar.state === 'running'
      ? `ETA ${bar.eta === null ? '—' : formatSeconds(bar.eta)}`
      : bar.state === 'done' && bar.seconds > 0
        ? `took ${formatSeconds(bar.seconds)}`
        : '';
  const parts = [
    `${MARK[bar.state]} ${bar.label.padEnd(o.labelWidth)}`,
    '█'.repeat(filled) + '░'.repeat(o.barWidth - filled),
    count,
    time,
    bar.note,
  ];
  return parts.filter(Boolean).join('  ');
}
