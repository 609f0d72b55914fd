// A tool-use episode, replayed in-process against the simulated backend, and the task's final check: the
// backend ends in the expected state and the episode ends with a reply to the user that carries the facts.
import type { ShopState, ToolTask } from '../../core/domains/tool';
import type { HeldoutTask } from '../../core/schemas';
import { parseAction, type ToolAction } from './action';
import { applyCalls, stateDifference } from './shop';
import { DEFAULT_WORD_OVERLAP, missingFacts } from './words';

export interface ToolReplayResult {
  /** Per action: the tool outputs (one line per call), exit code 0 = every call succeeded, 1 = some failed, 2 = not run. */
  outputs: { output: string; exitCode: number }[];
  /** The final check after the last action. */
  passed: boolean;
  /** The episode is over: the agent replied to the user (later actions are not run). */
  ended: boolean;
  check: { passed: boolean; detail: string };
}

export const toolNames = (task: ToolTask): string[] => task.tools.map((t) => t.function.name);

const NO_BACKEND = JSON.stringify({ error: 'this task has no simulated backend' });

/** The state after applying an action (a reply changes nothing; without a backend, every call fails). */
export function stepState<S extends ShopState | null>(
  task: ToolTask,
  state: S,
  action: ToolAction,
): { state: S; outputs: { output: string; ok: boolean }[] } {
  if (action.kind === 'say') return { state, outputs: [] };
  if (state === null) return { state, outputs: action.calls.map(() => ({ output: NO_BACKEND, ok: false })) };
  return applyCalls(state, action.calls, toolNames(task)) as { state: S; outputs: { output: string; ok: boolean }[] };
}

/** The final check of a task given the final backend state and the final reply (null when there was none). */
export function checkToolTask(task: ToolTask, state: ShopState | null, reply: string | null, threshold = DEFAULT_WORD_OVERLAP) {
  const expected = task.check.state;
  const diff = expected && (state ? stateDifference(expected, state, threshold) : '(root)');
  if (diff) return { passed: false, detail: `backend state differs from the expected one at ${diff}` };
  if (reply === null) return { passed: false, detail: 'the episode did not end with a reply to the user' };
  const missing = missingFacts(reply, task.check.facts);
  if (missing.length) return { passed: false, detail: `the reply lacks ${missing.join(', ')}` };
  return { passed: true, detail: '' };
}

export function replayToolEpisode(task: ToolTask, actions: readonly string[], threshold = DEFAULT_WORD_OVERLAP): ToolReplayResult {
  let state = task.backend?.state ?? null;
  let reply: string | null = null;
  const outputs: ToolReplayResult['outputs'] = [];
  for (const text of actions) {
    if (reply !== null) {
      outputs.push({ output: 'not run: the episode ended with the reply to the user', exitCode: 2 });
      continue;
    }
    const parsed = parseAction(text);
    if (!parsed.ok) {
      outputs.push({ output: `error: ${parsed.error}`, exitCode: 2 });
      continue;
    }
    if (parsed.action.kind === 'say') {
      reply = parsed.action.text;
      outputs.push({ output: '', exitCode: 0 });
      continue;
    }
    const r = stepState(task, state, parsed.action);
    state = r.state;
    outputs.push({ output: r.outputs.map((o) => o.output).join('\n'), exitCode: r.outputs.every((o) => o.ok) ? 0 : 1 });
  }
  const check = checkToolTask(task, state, reply, threshold);
  return { outputs, passed: check.passed, ended: reply !== null, check };
}

/** Held-out tool-use episodes (an EpisodeRunner of pipeline/episodes): replayed in-process, no sandbox. */
export const toolEpisodeRunner = {
  async replay(ref: HeldoutTask, actions: string[]): Promise<ToolReplayResult> {
    if (ref.domain !== 'tool') throw new Error(`not a tool-use task: ${ref.task.id} (${ref.domain})`);
    return replayToolEpisode(ref.task, actions);
  },
};
