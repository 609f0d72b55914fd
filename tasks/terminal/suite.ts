// The terminal suite: expert trajectories (OpenAI chat format, `bash` tool calls) for training, and
// held-out tasks for evaluation. Seeded: the same options give the same suite.
//
// Held-out splits: by instance (held-out tasks come from their own seed stream, drawn again if one equals a
// training task) and, with `heldoutTemplates`, by template (those templates give held-out tasks only).
import { Rng, seedOf } from '../../core/rng';
import type { ChatMessage, HeldoutTask, TerminalTask, Trajectory } from '../../core/schemas';
import { TEMPLATES, type DrawnTask, type Template } from './templates';
import { bashTranscript } from '../transcript';

export const TERMINAL_SYSTEM_PROMPT =
  'You are a terminal agent working in /work. Call the bash tool with one command per turn; reply "done" when the goal is met.';

export interface SuiteOptions {
  seed: number;
  trainTasks: number;
  heldoutTasks: number;
  /** Templates kept out of training: held-out tasks come from these only (split by template). */
  heldoutTemplates?: string[];
}

function toTask(id: string, template: string, drawn: DrawnTask): TerminalTask {
  return {
    id,
    template,
    goal: drawn.goal,
    files: drawn.files,
    dirs: drawn.dirs,
    check: drawn.check,
    maxTurns: drawn.steps.length + 2,
  };
}

/** The expert picks one valid action per step. */
function expertMessages(drawn: DrawnTask, rng: Rng): ChatMessage[] {
  return bashTranscript(
    TERMINAL_SYSTEM_PROMPT,
    drawn.goal,
    drawn.steps.map((variants) => rng.pick(variants)),
  );
}

function templatesFor(names: string[] | undefined): { train: readonly Template[]; heldout: readonly Template[] } {
  if (!names?.length) return { train: TEMPLATES, heldout: TEMPLATES };
  const unknown = names.filter((n) => !TEMPLATES.some((t) => t.name === n));
  if (unknown.length)
    throw new Error(`unknown terminal template(s): ${unknown.join(', ')} (known: ${TEMPLATES.map((t) => t.name).join(', ')})`);
  const train = TEMPLATES.filter((t) => !names.includes(t.name));
  if (!train.length) throw new Error('heldoutTemplates leaves no terminal template for training');
  return { train, heldout: TEMPLATES.filter((t) => names.includes(t.name)) };
}

/** A task's identity: two draws with the same goal and files are the same instance. */
const fingerprint = (drawn: DrawnTask) => JSON.stringify([drawn.goal, drawn.files]);

/** Tasks are drawn round-robin over templates; held-out tasks come from a separate seed stream. */
export function generateTerminalSuite(opts: SuiteOptions): {
  train: Extract<Trajectory, { domain: 'terminal' }>[];
  heldout: Extract<HeldoutTask, { domain: 'terminal' }>[];
} {
  const templates = templatesFor(opts.heldoutTemplates);
  const train: Extract<Trajectory, { domain: 'terminal' }>[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < opts.trainTasks; i++) {
    const template = templates.train[i % templates.train.length];
    const rng = new Rng(seedOf(opts.seed, 'train', i));
    const drawn = template.draw(rng);
    seen.add(fingerprint(drawn));
    const id = `terminal-${opts.seed}-train-${i}`;
    train.push({ id, domain: 'terminal', task: toTask(id, template.name, drawn), messages: expertMessages(drawn, rng) });
  }
  const heldout: Extract<HeldoutTask, { domain: 'terminal' }>[] = [];
  for (let i = 0; i < opts.heldoutTasks; i++) {
    const template = templates.heldout[i % templates.heldout.length];
    let rng = new Rng(seedOf(opts.seed, 'heldout', i));
    let drawn = template.draw(rng);
    for (let retry = 1; seen.has(fingerprint(drawn)) && retry <= 20; retry++) {
      rng = new Rng(seedOf(opts.seed, 'heldout', i, retry));
      drawn = template.draw(rng);
    }
    seen.add(fingerprint(drawn));
    const task = toTask(`terminal-${opts.seed}-heldout-${i}`, template.name, drawn);
    heldout.push({ domain: 'terminal', task, messages: expertMessages(drawn, rng) });
  }
  return { train, heldout };
}
