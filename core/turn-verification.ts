// How each candidate turn is verified, and why an imported turn's state could not be rebuilt: what ingest counts and
// reports (the ingest summary, `pivotrl ingest --check`, the campaign's progress).
import { z } from 'zod';

/**
 * - `sandbox`: executed in a sandbox at the state its task's files and the expert's earlier actions make (terminal, SWE);
 * - `replay`: executed in a sandbox of an image after the expert's earlier commands ran there (terminal data
 *   imported without its task);
 * - `backend`: tool calls compared by name and arguments, then run on the task's simulated backend;
 * - `arguments`: tool calls compared by name and arguments only (NeMo-Gym's argument comparison; no backend);
 * - `message`: a reply to the user, compared by the message rule (word overlap and facts).
 */
export const TurnVerification = z.enum(['sandbox', 'replay', 'backend', 'arguments', 'message']);
export type TurnVerification = z.infer<typeof TurnVerification>;

/**
 * Why a terminal or SWE turn's state could not be rebuilt, so that it is verified by argument comparison instead:
 * - `swe_repository`: an SWE record (a reference patch or an instance id) without the repository and its tests;
 * - `earlier_step_not_shell`: an earlier step called a tool other than the shell, which cannot be executed again;
 * - `action_not_shell`: the action itself is not one shell command (another tool, or several calls at once).
 */
export const UnrebuiltReason = z.enum(['swe_repository', 'earlier_step_not_shell', 'action_not_shell']);
export type UnrebuiltReason = z.infer<typeof UnrebuiltReason>;

const Count = z.number().int().nonnegative();

export const VerificationCounts = z.object({
  /** Turns by how they are verified. */
  turns: z.record(TurnVerification, Count),
  /** Of the `arguments` turns, those from terminal or SWE data whose state could not be rebuilt, by reason. */
  unrebuilt: z.record(UnrebuiltReason, Count),
});
export type VerificationCounts = z.infer<typeof VerificationCounts>;

export const noVerifications = (): VerificationCounts => ({
  turns: Object.fromEntries(TurnVerification.options.map((k) => [k, 0])) as VerificationCounts['turns'],
  unrebuilt: Object.fromEntries(UnrebuiltReason.options.map((k) => [k, 0])) as VerificationCounts['unrebuilt'],
});

/** Counts one turn into `counts`. */
export function countVerification(counts: VerificationCounts, how: TurnVerification, unrebuilt?: UnrebuiltReason): void {
  counts.turns[how]++;
  if (unrebuilt) counts.unrebuilt[unrebuilt]++;
}

/** The sum of several counts (e.g. every source file's). */
export function addVerifications(into: VerificationCounts, more: VerificationCounts): VerificationCounts {
  for (const k of TurnVerification.options) into.turns[k] += more.turns[k];
  for (const k of UnrebuiltReason.options) into.unrebuilt[k] += more.unrebuilt[k];
  return into;
}

const unrebuiltTotal = (c: VerificationCounts) => UnrebuiltReason.options.reduce((n, k) => n + c.unrebuilt[k], 0);

/** "replay 3, arguments 2, message 1 (state not rebuilt: 2 — swe_repository 2)": the non-zero counts. */
export function formatVerifications(c: VerificationCounts): string {
  const nonZero = <K extends string>(keys: readonly K[], of: Record<K, number>) =>
    keys.filter((k) => of[k] > 0).map((k) => `${k} ${of[k]}`);
  const turns = nonZero(TurnVerification.options, c.turns).join(', ') || 'no turns';
  const n = unrebuiltTotal(c);
  return n ? `${turns} (state not rebuilt, compared instead: ${n} — ${nonZero(UnrebuiltReason.options, c.unrebuilt).join(', ')})` : turns;
}
