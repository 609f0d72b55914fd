// The tool-use suite: expert trajectories (OpenAI chat format: assistant tool_calls, tool outputs computed by the
// simulated backend, a final reply) for training, and held-out tasks for evaluation. Held out two ways: whole
// templates that training never sees, and new instances (another seed stream) of the training templates.
// Seeded: the same options give the same suite.
import { Rng, seedOf } from '../../core/rng';
import type { ChatMessage, HeldoutTask, Trajectory } from '../../core/schemas';
import type { ToolTask } from '../../core/domains/tool';
import { messageOfAction, parseAction, type ToolAction } from './action';
import { stepState } from './episode';
import { shopTools } from './shop';
import { DEFAULT_HELDOUT_TEMPLATES, TOOL_TEMPLATES, type DrawnToolTask, type ToolTemplate } from './templates';

export type ToolTrajectory = Extract<Trajectory, { domain: 'tool' }>;

export const TOOL_SYSTEM_PROMPT =
  'You are a shop assistant. Call the tools to look up and change orders, products and customers; ' +
  'when the request is handled, reply to the user once with the answer.';

export interface ToolSuiteOptions {
  seed: number;
  trainTasks: number;
  heldoutTasks: number;
  /** Templates used only for held-out tasks (default DEFAULT_HELDOUT_TEMPLATES). */
  heldoutTemplates?: readonly string[];
}

const parseOrThrow = (text: string, where: string): ToolAction => {
  const p = parseAction(text);
  if (!p.ok) throw new Error(`${where}: ${p.error}: ${text}`);
  return p.action;
};

/** The task: the expected final state is the initial state with the first variant of every step applied. */
export function toolTaskOf(id: string, template: string, drawn: DrawnToolTask): ToolTask {
  const base: ToolTask = {
    id,
    template,
    goal: drawn.goal,
    maxTurns: drawn.steps.length + 2,
    tools: shopTools(),
    backend: { kind: 'shop', state: drawn.state },
    check: { state: drawn.state, facts: drawn.facts },
  };
  let state = drawn.state;
  drawn.steps.forEach((variants, t) => (state = stepState(base, state, parseOrThrow(variants[0], `${id} step ${t}`)).state));
  return { ...base, check: { state, facts: drawn.facts } };
}

function expertMessages(task: ToolTask, drawn: DrawnToolTask, rng: Rng): ChatMessage[] {
  const messages: ChatMessage[] = [
    { role: 'system', content: TOOL_SYSTEM_PROMPT },
    { role: 'user', content: drawn.goal },
  ];
  let state = drawn.state;
  drawn.steps.forEach((variants, t) => {
    const action = parseOrThrow(rng.pick(variants), `${task.id} step ${t}`);
    messages.push(messageOfAction(action, `call_${t}`));
    const r = stepState(task, state, action);
    state = r.state;
    r.outputs.forEach((o, k) => messages.push({ role: 'tool', tool_call_id: `call_${t}_${k}`, content: o.output }));
  });
  return messages;
}

const fingerprint = (t: ToolTask): string => JSON.stringify([t.template, t.goal, t.backend]);

export function generateToolSuite(opts: ToolSuiteOptions): { train: ToolTrajectory[]; heldout: HeldoutTask[] } {
  const heldoutOnly = new Set(opts.heldoutTemplates ?? DEFAULT_HELDOUT_TEMPLATES);
  const unknown = [...heldoutOnly].filter((n) => !TOOL_TEMPLATES.some((t) => t.name === n));
  if (unknown.length) throw new Error(`unknown tool templates: ${unknown.join(', ')}`);
  const trainTemplates = TOOL_TEMPLATES.filter((t) => !heldoutOnly.has(t.name));
  if (trainTemplates.length === 0 && opts.trainTasks > 0) throw new Error('every tool template is held out');

  const train: ToolTrajectory[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < opts.trainTasks; i++) {
    const template = trainTemplates[i % trainTemplates.length];
    const rng = new Rng(seedOf(opts.seed, 'tool', 'train', i));
    const drawn = template.draw(rng);
    const id = `tool-${opts.seed}-train-${i}`;
    const task = toolTaskOf(id, template.name, drawn);
    seen.add(fingerprint(task));
    train.push({ id, domain: 'tool', task, messages: expertMessages(task, drawn, rng) });
  }

  // Held-out tasks: round-robin over every template, from their own seed stream; an instance that training has
  // (same template, goal and shop) is drawn again.
  const heldout: HeldoutTask[] = [];
  for (let i = 0; i < opts.heldoutTasks; i++) {
    const template: ToolTemplate = TOOL_TEMPLATES[i % TOOL_TEMPLATES.length];
    const id = `tool-${opts.seed}-heldout-${i}`;
    let rng: Rng, drawn: DrawnToolTask, task: ToolTask;
    let attempt = 0;
    do {
      rng = new Rng(seedOf(opts.seed, 'tool', 'heldout', i, attempt++));
      drawn = template.draw(rng);
      task = toolTaskOf(id, template.name, drawn);
    } while (seen.has(fingerprint(task)));
    heldout.push({ domain: 'tool', task, messages: expertMessages(task, drawn, rng) });
  }
  return { train, heldout };
}
