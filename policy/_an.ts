import { LocalStore } from '../store';
import { initBackend } from './backend';
import { loadCheckpoint } from './checkpoint';
import { sample } from './sample';
import { generateTerminalSuite } from '../tasks/terminal/suite';
import { expertSteps, renderTerminalPrompt } from '../tasks/terminal/render';
await initBackend(() => {});
const run = process.argv[2];
const tr = await loadCheckpoint(new LocalStore('/tmp/pv/runs'), run);
const turns = generateTerminalSuite({ seed: 1, trainTasks: 96, heldoutTasks: 0 }).train.flatMap((traj) => {
  const steps = expertSteps(traj);
  return steps.map((s, t) => ({
    key: `${traj.task.template}#${t}`,
    prompt: renderTerminalPrompt(traj.task.goal, steps.slice(0, t)),
    action: s.action,
  }));
});
const out = sample(
  tr.model,
  turns.map((t) => t.prompt),
  { n: 1, temperature: 0, topP: 1, maxTokens: 48, stop: ['\n'], seed: 0 },
);
const by = new Map<string, [number, number]>();
turns.forEach((t, i) => {
  const e = by.get(t.key) ?? [0, 0];
  e[1]++;
  if (out.completions[i][0].text === t.action) e[0]++;
  by.set(t.key, e);
});
for (const [k, [h, n]] of [...by.entries()].sort()) console.log(k.padEnd(20), `${h}/${n}`);
turns.slice(0, 24).forEach((t, i) => console.log(JSON.stringify(t.action), '->', JSON.stringify(out.completions[i][0].text)));
