// NeMo-Gym pivot rows <-> our candidate turns. The per-domain mappings live beside this file; adding a domain adds
// a case to each switch (the compiler lists what is missing).
import { Turn, type Step } from '../core/schemas';
import { describeZodError } from '../core/zod-errors';
import type { CandidateProfile } from '../pivotrl/pivots';
import { NemoGymPivotRow, type NemoGymPivotRowInput, type RowParts } from './nemo-gym';
import { bashExpert, bashHistory, bashRow } from './nemo-gym-bash';
import { toolExpert, toolHistory, toolRow } from './nemo-gym-tool';
import { RecordError } from './record-error';

/** NeMo-Gym's stock single-step verifier of tool calls (name + JSON arguments); override to match your Gym config. */
export const DEFAULT_AGENT = 'single_step_tool_use_with_argument_comparison_agent';

type Provenance = NonNullable<NemoGymPivotRowInput['pivotrl']>;

/** The expert's steps before the pivot and the expert action, read from a row in the domain's terms. */
function stateOfRow(domain: Provenance['domain'], row: NemoGymPivotRowInput): { history: Step[]; expert: string } {
  const input = row.responses_create_params.input;
  switch (domain) {
    case 'terminal':
    case 'swe':
      return { history: bashHistory(input), expert: bashExpert(row.expected_action) };
    case 'tool':
      return { history: toolHistory(input), expert: toolExpert(row.expected_action) };
  }
}

/**
 * The candidate turn of a row. PivotRL needs the task to rebuild the state (a terminal task's files and final
 * check, an SWE task's repository and tests, a tool task's backend), so a row must carry
 * `pivotrl: { domain, task }`; `fallbackId` names the turn when the row has no id of its own.
 */
export function turnOfRow(row: NemoGymPivotRowInput, fallbackId: string): Turn {
  const meta = row.pivotrl;
  if (!meta) {
    throw new RecordError(
      'pivotrl',
      'missing: PivotRL needs the domain and task to rebuild the state (rows from `pivotrl export-pivots` carry them)',
    );
  }
  const { history, expert } = stateOfRow(meta.domain, row);
  const id = meta.turn_id ?? row.uuid ?? fallbackId;
  const parsed = Turn.safeParse({
    id,
    trajectoryId: meta.trajectory_id ?? id,
    index: meta.index ?? history.length,
    domain: meta.domain,
    task: meta.task,
    history,
    expert,
  });
  if (!parsed.success) {
    const { field, reason } = describeZodError(parsed.error);
    throw new RecordError(field.startsWith('task') ? `pivotrl.${field}` : field, reason);
  }
  return parsed.data;
}

function partsOf(turn: Turn): RowParts {
  switch (turn.domain) {
    case 'terminal':
    case 'swe':
      return bashRow(turn);
    case 'tool':
      return toolRow(turn);
  }
}

export interface RowOptions {
  /** `agent_ref.name`: the agent block of the NeMo-Gym config that consumes the rows. */
  agent?: string;
}

/** The row of a candidate turn, with its offline profile when given; parsed against the row contract. */
export function rowOfTurn(turn: Turn, profile?: CandidateProfile, opts: RowOptions = {}): NemoGymPivotRow {
  const parts = partsOf(turn);
  return NemoGymPivotRow.parse({
    uuid: turn.id,
    agent_ref: { type: 'responses_api_agents', name: opts.agent ?? DEFAULT_AGENT },
    responses_create_params: {
      input: parts.input,
      tools: parts.tools,
      parallel_tool_calls: parts.action.type === 'function_call_batch',
      tool_choice: 'auto',
    },
    expected_action: parts.action,
    pivotrl: {
      domain: turn.domain,
      task: turn.task,
      turn_id: turn.id,
      trajectory_id: turn.trajectoryId,
      index: turn.index,
      ...(profile && {
        profile: {
          k: profile.rewards.length,
          rewards: profile.rewards,
          n: profile.n,
          masked: profile.masked,
          mu: profile.mu,
          var: profile.var,
        },
      }),
    },
  });
}
