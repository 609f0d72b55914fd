// Which tool calls are shell commands, so that a terminal trajectory imported without its task can be replayed: the
// `bash` tool of PivotRL's own data, and the shell tools of other agents (SWE-agent's `bash`, OpenHands'
// `execute_bash`, Codex-style `shell` with a command string).
const SHELL_TOOLS = new Set(['bash', 'shell', 'execute_bash']);
/** Arguments a shell call may carry beside its command that do not change what runs. */
const IGNORED_KEYS = new Set(['timeout', 'description']);

/**
 * The command of a call to a shell tool, or null when the call is not one command (another tool, no command string,
 * or other arguments, e.g. OpenHands' `is_input`, which types into a running process).
 */
export function shellCommandOf(call: { name: string; arguments: string }): string | null {
  if (!SHELL_TOOLS.has(call.name)) return null;
  const args = JSON.parse(call.arguments) as unknown;
  if (args === null || typeof args !== 'object' || Array.isArray(args)) return null;
  const { command, ...rest } = args as Record<string, unknown>;
  if (typeof command !== 'string' || command.trim() === '') return null;
  return Object.keys(rest).every((k) => IGNORED_KEYS.has(k)) ? command : null;
}
