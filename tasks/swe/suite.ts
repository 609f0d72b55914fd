// The SWE suite: expert trajectories (OpenAI chat format, `bash` tool calls) that repair small Python repositories,
// for training, and held-out repositories for evaluation. Seeded: the same options give the same suite.
//
// Held-out splits: by instance (default: held-out repositories come from their own seed stream, drawn again if one
// happens to equal a training repository) and, with `heldoutTemplates`, by template (those templates give
// held-out tasks only, never training trajectories).
import { Rng, seedOf } from '../../core/rng';
import type { ChatMessage, HeldoutTask, SweTask, Trajectory } from '../../core/schemas';
import { TEST_COMMAND } from './runner';
import { bashTranscript } from '../transcript';
import { SWE_TEMPLATES, type DrawnSweTask, type SweTemplate } from './templates';

export type SweTrajectory = Extract<Trajectory, { domain: 'swe' }>;

export const SWE_SYSTEM_PROMPT =
  'You are a software engineer in a Python repository in /work. Call the bash tool with one single-line command per turn; ' +
  `${TEST_COMMAND} runs the tests. Reply "done" when they all pass.`;

export interface SweSuiteOptions {
  seed: number;
  trainTasks: number;
  heldoutTasks: number;
  /** Templates kept out of training: held-out tasks come from these only (split by template). */
  heldoutTemplates?: string[];
}

/** The task a template's draw describes (its repository, tests and harness). */
export function sweTaskOf(id: string, template: string, drawn: DrawnSweTask): SweTask {
  return {
    id,
    template,
    goal: drawn.goal,
    files: drawn.files,
    testCommand: TEST_COMMAND,
    tests: drawn.tests,
    testFiles: drawn.testFiles,
    maxTurns: drawn.steps.length + 3,
  };
}

/** The expert picks one valid action per step. */
function expertMessages(drawn: DrawnSweTask, rng: Rng): ChatMessage[] {
  return bashTranscript(
    SWE_SYSTEM_PROMPT,
    drawn.goal,
    drawn.steps.map((s) => rng.pick(s.variants)),
  );
}

/** A repository's identity: two draws with the same files are the same instance. */
const fingerprint = (files: DrawnSweTask['files']) => JSON.stringify(files.map((f) => [f.path, f.content]));

function templatesFor(names: string[] | undefined): { train: readonly SweTemplate[]; heldout: readonly SweTemplate[] } {
  if (!names?.length) return { train: SWE_TEMPLATES, heldout: SWE_TEMPLATES };
  const unknown = names.filter((n) => !SWE_TEMPLATES.some((t) => t.name === n));
  if (unknown.length)
    throw new Error(`unknown SWE template(s): ${unknown.join(', ')} (known: ${SWE_TEMPLATES.map((t) => t.name).join(', ')})`);
  const train = SWE_TEMPLATES.filter((t) => !names.includes(t.name));
  if (!train.length) throw new Error('heldoutTemplates leaves no template for training');
  return { train, heldout: SWE_TEMPLATES.filter((t) => names.includes(t.name)) };
}

/** Tasks are drawn round-robin over templates; held-out tasks come from a separate seed stream. */
export function generateSweSuite(opts: SweSuiteOptions): { train: SweTrajectory[]; heldout: HeldoutTask[] } {
  const templates = templatesFor(opts.heldoutTemplates);
  const train: SweTrajectory[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < opts.trainTasks; i++) {
    const template = templates.train[i % templates.train.length];
    const rng = new Rng(seedOf(opts.seed, 'swe', 'train', i));
    const drawn = template.draw(rng);
    seen.add(fingerprint(drawn.files));
    const id = `swe-${opts.seed}-train-${i}`;
    train.push({ id, domain: 'swe', task: sweTaskOf(id, template.name, drawn), messages: expertMessages(drawn, rng) });
  }
  const heldout: HeldoutTask[] = [];
  for (let i = 0; i < opts.heldoutTasks; i++) {
    const template = templates.heldout[i % templates.heldout.length];
    let rng = new Rng(seedOf(opts.seed, 'swe', 'heldout', i));
    let drawn = template.draw(rng);
    for (let retry = 1; seen.has(fingerprint(drawn.files)) && retry <= 20; retry++) {
      rng = new Rng(seedOf(opts.seed, 'swe', 'heldout', i, retry));
      drawn = template.draw(rng);
    }
    seen.add(fingerprint(drawn.files));
    const task = sweTaskOf(`swe-${opts.seed}-heldout-${i}`, template.name, drawn);
    heldout.push({ domain: 'swe', task, messages: expertMessages(drawn, rng) });
  }
  return { train, heldout };
}
