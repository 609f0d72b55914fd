// What the pipeline needs to know of each domain: how an expert trajectory splits into candidate turns, and
// how a state is shown to the policy. Adding a domain adds a case here (the compiler lists what is missing).
import type { ChatPrompt } from '../core/chat-prompt';
import type { Domain, HeldoutTask, Step, Trajectory, Turn } from '../core/schemas';
import type { TurnVerification } from '../core/turn-verification';
import { parseAction } from './tool/action';
import { renderTerminalPrompt, terminalTurns } from './terminal/render';
import { renderSwePrompt, sweTurns } from './swe/render';
import { renderToolPrompt, toolConversation, toolTurns } from './tool/render';
import { SWE_SYSTEM_PROMPT } from './swe/suite';
import { TERMINAL_SYSTEM_PROMPT } from './terminal/suite';
import { TOOL_SYSTEM_PROMPT } from './tool/suite';
import { BASH_TOOL, bashConversation } from './transcript';

/** Every assistant action of the trajectory is a candidate state s_t paired with the expert action a*_t. */
export function turnsOf(traj: Trajectory): Turn[] {
  switch (traj.domain) {
    case 'terminal':
      return terminalTurns(traj);
    case 'swe':
      return sweTurns(traj);
    case 'tool':
      return toolTurns(traj);
  }
}

/** The policy's prompt at a state: the task and the steps taken so far. */
export function promptOf(ref: HeldoutTask | Turn, history: Step[]): string {
  switch (ref.domain) {
    case 'terminal':
      return renderTerminalPrompt(ref.task.goal, history);
    case 'swe':
      return renderSwePrompt(ref.task.goal, history);
    case 'tool':
      return renderToolPrompt(ref.task.goal, history);
  }
}

/**
 * The same state as a chat conversation, for a served chat model: terminal and SWE states offer the one `bash` tool
 * (their earlier commands are its calls, their outputs its results), tool-use states their task's tools.
 */
export function chatPromptOf(ref: HeldoutTask | Turn, history: Step[]): ChatPrompt {
  switch (ref.domain) {
    case 'terminal':
      return { messages: bashConversation(TERMINAL_SYSTEM_PROMPT, ref.task.goal, history), tools: [BASH_TOOL], reply: 'command' };
    case 'swe':
      return { messages: bashConversation(SWE_SYSTEM_PROMPT, ref.task.goal, history), tools: [BASH_TOOL], reply: 'command' };
    case 'tool':
      return { messages: toolConversation(TOOL_SYSTEM_PROMPT, ref.task.goal, history), tools: ref.task.tools, reply: 'action' };
  }
}

/** How the functional verifier judges a turn's samples (core/turn-verification.ts). */
export function verificationOf(turn: Turn): TurnVerification {
  switch (turn.domain) {
    case 'terminal':
      return turn.task.kind === 'replay' ? 'replay' : 'sandbox';
    case 'swe':
      return 'sandbox';
    case 'tool': {
      const expert = parseAction(turn.expert);
      if (expert.ok && expert.action.kind === 'say') return 'message';
      return turn.task.backend ? 'backend' : 'arguments';
    }
  }
}

/**
 * The generation limit of each domain's actions: its longest expert action (of every template variant) plus the stop
 * string, in characters (= tokens): terminal 69 (nested_dir's three-level `mkdir ... && mkdir ...`), SWE 56 (a
 * `sed -i` fix), tool 103 (update_address). A limit below a valid action makes it impossible to generate. The
 * sampler keeps a prompt's start and lets a row generate what its prompt leaves of pi0's 256-token context (at most
 * this limit); every turn's BOS, prompt and longest action fit (test/unit/action-budget.test.ts checks both).
 */
export const ACTION_TOKENS: Record<Domain, number> = { terminal: 69, swe: 56, tool: 103 };
