// Replays expert trajectories in their sandbox and lists what disagrees with the recorded transcript.
import type { ChatMessage } from '../../core/schemas';
import { expertSteps } from '../../tasks/terminal/render';
import { mapLimit } from '../../core/concurrency';

interface Replayable<T> {
  id: string;
  task: T & { template: string };
  messages: ChatMessage[];
}

type Runner<T> = {
  replay(task: T, actions: string[]): Promise<{ passed: boolean; check: { output: string }; outputs: { output: string }[] }>;
};

/** Failed final checks and recorded outputs that differ from what the commands really print. */
export async function replayMismatches<T>(runner: Runner<T>, trajectories: Replayable<T>[]): Promise<string[]> {
  const failures: string[] = [];
  await mapLimit(trajectories, 2, async (traj) => {
    const steps = expertSteps(traj);
    const result = await runner.replay(
      traj.task,
      steps.map((s) => s.action),
    );
    if (!result.passed) failures.push(`${traj.id} (${traj.task.template}): check failed: ${result.check.output}`);
    steps.forEach((s, i) => {
      if (result.outputs[i].output !== s.output) {
        failures.push(
          `${traj.id} step ${i} \`${s.action}\`: recorded ${JSON.stringify(s.output)}, real ${JSON.stringify(result.outputs[i].output)}`,
        );
      }
    });
  });
  return failures;
}
