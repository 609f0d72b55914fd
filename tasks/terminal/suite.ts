// The terminal suite: expert trajectories (OpenAI chat format, `bash` tool calls) for training, and
// held-out tasks for evaluation. Seeded: the same options give the same suite.
import { Rng, seedOf } from '../../core/rng';
import type { ChatMessage, HeldoutTask, TerminalTask, Trajectory } from '../../core/schemas';
import { TEMPLATES, type DrawnTask } from './templates';
import { bashTranscript } from '../transcript';

export const TERMINAL_SYSTEM_PROMPT =
  'You are a terminal agent working in /work. Call the bash tool with one command per turn; reply "done" when the goal is met.';

export interface SuiteOptions {
  seed: number;
  trainTasks: number;
  heldoutTasks: number;
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

/** Tasks are drawn round-robin over templates; held-out tasks come from a separate seed stream. */
export function generateTerminalSuite(opts: SuiteOptions): {
  train: Extract<Trajectory, { domain: 'terminal' }>[];
  heldout: Extract<HeldoutTask, { domain: 'terminal' }>[];
} {
  const train: Extract<Trajectory, { domain: 'terminal' }>[] = [];
  for (let i = 0; i < opts.trainTasks; i++) {
    const template = TEMPLATES[i % TEMPLATES.length];
    const rng = new Rng(seedOf(opts.seed, 'train', i));
    const drawn = template.draw(rng);
    const id = `terminal-${opts.seed}-train-${i}`;
    train.push({ id, domain: 'terminal', task: toTask(id, template.name, drawn), messages: expertMessages(drawn, rng) });
  }
  const heldout: Extract<HeldoutTask, { domain: 'terminal' }>[] = [];
  for (let i = 0; i < opts.heldoutTasks; i++) {
    const template = TEMPLATES[i % TEMPLATES.length];
    const drawn = template.draw(new Rng(seedOf(opts.seed, 'heldout', i)));
    heldout.push({ domain: 'terminal', task: toTask(`terminal-${opts.seed}-heldout-${i}`, template.name, drawn) });
  }
  return { train, heldout };
}
