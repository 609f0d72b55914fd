// Functional verifier of the tool-use domain, in-process (no sandbox). A sampled action earns 1 when it does what
// the expert's action does at that state:
// - the same decision: tool calls, or a message to the user;
// - calls: matched to the expert's as a set (maximum bipartite matching, order free) on tool name and arguments
//   compared as JSON (verifiers/json.ts); then both batches are applied to the true backend state of the turn
//   (the task's initial state with the expert's earlier calls replayed) and must leave equivalent states, with
//   no call failing where the expert's succeeded, and each call's output carrying what the matched expert
//   call's output carried (a search may find more, not less);
// - messages: word overlap (F1 of content words) at least the threshold, and every fact of the expert's message
//   present: words with a digit or an @ (ids, amounts, emails) and words of the data the tools returned so far
//   (statuses, product names, cities), so that "O1 is shipped" and "O1 is delivered" differ.
import { throwIfAborted } from '../core/abort';
import type { Sample, Step, Turn, Verdict, VerifierKind } from '../core/schemas';
import type { ShopState, ToolTask } from '../core/domains/tool';
import { parseAction, type Call, type ToolAction } from '../tasks/tool/action';
import { stepState, toolNames } from '../tasks/tool/episode';
import { applyCalls, stateDifference } from '../tasks/tool/shop';
import { DEFAULT_WORD_OVERLAP, allWords, contentWords, factWords, missingFacts, normaliseWord, wordOverlap } from '../tasks/tool/words';
import { compareJson } from './json';
import { maxMatching } from './matching';
import type { VerifierDeps, VerifyBatchOptions, VerifyItem, Verifier } from './verifier';

export type Outcome = Pick<Verdict, 'reward' | 'reason' | 'detail'>;

const fail = (reason: Verdict['reason'], detail: string): Outcome => ({ reward: 0, reason, detail });
const pass = (detail: string): Outcome => ({ reward: 1, reason: 'equivalent', detail });

const parseOrThrow = (text: string, where: string): ToolAction => {
  const p = parseAction(text);
  if (!p.ok) throw new Error(`${where}: ${p.error}`);
  return p.action;
};

/** The true backend state at a turn: the initial state with the expert's earlier actions replayed (null: no backend). */
export function turnState(task: ToolTask, history: readonly Step[]): ShopState | null {
  let state = task.backend?.state ?? null;
  history.forEach((h, t) => (state = stepState(task, state, parseOrThrow(h.action, `${task.id}: history step ${t}`)).state));
  return state;
}

/** The words of the data the tools returned so far (string and number values, error messages aside). */
export function observedWords(history: readonly Step[]): Set<string> {
  const words = new Set<string>();
  const walk = (v: unknown, key: string): void => {
    if (key === 'error') return;
    if (typeof v === 'string') allWords(v).forEach((w) => words.add(w));
    else if (typeof v === 'number') words.add(normaliseWord(String(v)));
    else if (Array.isArray(v)) v.forEach((x) => walk(x, key));
    else if (v && typeof v === 'object') Object.entries(v).forEach(([k, x]) => walk(x, k));
  };
  for (const line of history.flatMap((h) => h.output.split('\n'))) {
    try {
      walk(JSON.parse(line), '');
    } catch {
      // not JSON: no data words
    }
  }
  return words;
}

/** The facts of the expert's message: ids, amounts and emails, and the words it took from the tools' data. */
const messageFacts = (expert: string, observed: Set<string>): string[] => [
  ...new Set([...factWords(expert), ...contentWords(expert).filter((w) => observed.has(w))]),
];

function compareMessages(expert: string, sample: string, observed: Set<string>, threshold: number): Outcome {
  const missing = missingFacts(sample, messageFacts(expert, observed));
  if (missing.length) return fail('message_differs', `the message lacks ${missing.join(', ')}`);
  const overlap = wordOverlap(expert, sample);
  if (overlap < threshold) return fail('message_differs', `word overlap ${overlap.toFixed(2)} < ${threshold}`);
  return pass(`word overlap ${overlap.toFixed(2)}`);
}

/** Canonical JSON (keys sorted), for equality of values whatever their key order. */
const canonical = (v: unknown): string =>
  Array.isArray(v)
    ? `[${v.map(canonical).join(',')}]`
    : v && typeof v === 'object'
      ? `{${Object.keys(v)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
          .join(',')}}`
      : JSON.stringify(v);

/** The actual tool output carries the expected one: the same value, or for lists every expected item (and maybe more). */
function carries(expected: string, actual: string): boolean {
  if (expected === actual) return true;
  const [e, a] = [JSON.parse(expected) as unknown, JSON.parse(actual) as unknown];
  if (Array.isArray(e) && Array.isArray(a)) {
    const have = new Set(a.map(canonical));
    return e.every((x) => have.has(canonical(x)));
  }
  return canonical(e) === canonical(a);
}

const clip = (s: string): string => (s.length > 60 ? s.slice(0, 57) + '...' : s);

function compareCalls(task: ToolTask, truth: ShopState | null, expert: Call[], sample: Call[], threshold: number): Outcome {
  const schemaOf = (name: string) => task.tools.find((t) => t.function.name === name)?.function.parameters;
  const argDiff = (e: Call, s: Call) => compareJson(e.args, s.args, { threshold, schema: schemaOf(e.name) });
  const m = maxMatching(
    expert.length,
    sample.length,
    (i, j) => expert[i].name === sample[j].name && argDiff(expert[i], sample[j]) === null,
  );

  if (m.size === expert.length && m.size === sample.length) {
    if (truth === null) return pass('same calls (the task has no backend to compare states on)');
    const allowed = toolNames(task);
    const e = applyCalls(truth, expert, allowed);
    const s = applyCalls(truth, sample, allowed);
    for (let i = 0; i < expert.length; i++) {
      const j = m.pairs[i];
      if (e.outputs[i].ok && !s.outputs[j].ok) return fail('backend_state_differs', `${sample[j].name} failed: ${s.outputs[j].output}`);
    }
    const diff = stateDifference(e.state, s.state, threshold);
    if (diff) return fail('backend_state_differs', `the backend state differs at ${diff}`);
    for (let i = 0; i < expert.length; i++) {
      const j = m.pairs[i];
      if (!carries(e.outputs[i].output, s.outputs[j].output)) {
        return fail(
          'missing_output',
          `${sample[j].name} returned ${clip(s.outputs[j].output)} where the expert's call returned ${clip(e.outputs[i].output)}`,
        );
      }
    }
    return pass(expert.length > 1 ? `${expert.length} calls matched` : 'same call');
  }
  if (sample.length < expert.length && m.size === sample.length) {
    return fail('partial_calls', `${sample.length} of the expert's ${expert.length} calls`);
  }
  if (sample.length > expert.length && m.size === expert.length) {
    return fail('extra_calls', `${sample.length} calls where the expert made ${expert.length}`);
  }
  // Diagnose the first expert call left unmatched.
  const i = m.pairs.indexOf(-1);
  const used = new Set(m.pairs);
  const candidate = sample.find((s, j) => s.name === expert[i].name && !used.has(j));
  if (!candidate) return fail('wrong_tool', `expected ${expert[i].name}, got ${sample.map((s) => s.name).join(', ')}`);
  const d = argDiff(expert[i], candidate);
  return fail('wrong_arguments', d ? `${expert[i].name} ${d.path}: ${d.why}` : `${expert[i].name}: arguments differ`);
}

/** The verdict of one sampled action against the expert's at the turn's true state (computed lazily). */
export function compareToolActions(
  task: ToolTask,
  history: readonly Step[],
  truth: () => ShopState | null,
  expert: ToolAction,
  sample: string,
  threshold: number,
): Outcome {
  const parsed = parseAction(sample);
  if (!parsed.ok) return fail('unparseable', parsed.error);
  const s = parsed.action;
  if (expert.kind === 'say' && s.kind === 'say') return compareMessages(expert.text, s.text, observedWords(history), threshold);
  if (expert.kind === 'say')
    return fail(
      'call_instead_of_message',
      `the expert replied to the user; the sample called ${s.kind === 'calls' ? s.calls.map((c) => c.name).join(', ') : ''}`,
    );
  if (s.kind === 'say') return fail('message_instead_of_call', `the expert called ${expert.calls.map((c) => c.name).join(', ')}`);
  return compareCalls(task, truth(), expert.calls, s.calls, threshold);
}

export interface ToolVerifierStats {
  turns: number;
  samples: number;
  /** Samples answered from the per-turn cache or by identity with the expert action. */
  samplesReused: number;
  ms: number;
}

export class ToolVerifier implements Verifier {
  readonly kind: VerifierKind = 'functional';
  private readonly threshold: number;
  /** Counters of the last verifyBatch call. */
  stats: ToolVerifierStats = { turns: 0, samples: 0, samplesReused: 0, ms: 0 };

  constructor(deps: Pick<VerifierDeps, 'wordOverlap'> = {}) {
    this.threshold = deps.wordOverlap ?? DEFAULT_WORD_OVERLAP;
  }

  async verifyBatch(items: VerifyItem[], opts: VerifyBatchOptions = {}): Promise<Verdict[]> {
    const t0 = performance.now();
    this.stats = { turns: 0, samples: 0, samplesReused: 0, ms: 0 };
    const verdicts: Verdict[] = [];
    for (let k = 0; k < items.length; k++) {
      throwIfAborted(opts.signal);
      // Everything runs on this thread: let heartbeats and cancellation through now and then.
      if (k > 0 && k % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
      verdicts.push(...this.verifyTurn(items[k]));
      this.stats.turns++;
      opts.onProgress?.(k + 1);
    }
    this.stats.ms = performance.now() - t0;
    return verdicts;
  }

  /** The verdicts of one turn's samples, in order (synchronous: nothing leaves the process). */
  verifyTurn({ turn, samples }: VerifyItem): Verdict[] {
    if (turn.domain !== 'tool') throw new Error(`turn ${turn.id}: the tool verifier got a ${turn.domain} turn`);
    const task = turn.task;
    const expertText = turn.expert.trim();
    const expert = parseOrThrow(expertText, `turn ${turn.id}: expert action`);
    let truth: { state: ShopState | null } | null = null;
    const state = () => (truth ??= { state: turnState(task, turn.history) }).state;
    const outcomes = new Map<string, Outcome>();
    const verdict = (s: Sample, o: Outcome): Verdict => ({ turnId: turn.id, index: s.index, ...o });
    return samples.map((s) => {
      this.stats.samples++;
      const text = s.text.trim();
      let o = outcomes.get(text);
      if (o) this.stats.samplesReused++;
      else {
        if (text === '') o = fail('empty_action', '');
        else if (text === expertText) o = { reward: 1, reason: 'exact_match', detail: 'identical to the expert action' };
        else o = compareToolActions(task, turn.history, state, expert, text, this.threshold);
        outcomes.set(text, o);
      }
      return verdict(s, o);
    });
  }
}

/** For tests and tools: the verdict of one action at a turn, without a batch. */
export function verifyToolTurn(turn: Turn, sample: string, threshold = DEFAULT_WORD_OVERLAP): Outcome {
  const [v] = new ToolVerifier({ wordOverlap: threshold }).verifyTurn({
    turn,
    samples: [{ turnId: turn.id, index: 0, text: sample, logprobs: [] }],
  });
  return { reward: v.reward, reason: v.reason, detail: v.detail };
}
