// The SWE final check runs the task's own harness, which nothing the action leaves in /work can stand in for: a
// planted stdlib module (glob.py), a usercustomize.py in the agent's HOME, or an unchecked-hash .pyc of a test file does not make the
// failing tests pass, while the fix still does.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, seedOf } from '../../core/rng';
import type { SweTask } from '../../core/schemas';
import { requireDocker } from '../../harness/docker';
import { ensureImage, type DockerClient } from '../../sandboxes/engine';
import { Sandbox } from '../../sandboxes/sandbox';
import { SWE_IMAGE, replaySweEpisode } from '../../sandboxes/swe';
import { TEST_COMMAND } from '../../tasks/swe/runner';
import { sweTaskOf } from '../../tasks/swe/suite';
import { SWE_TEMPLATES } from '../../tasks/swe/templates';

const OWNER = 'test-swe-harness';

let docker: DockerClient;
let sandbox: Sandbox;
let task: SweTask;
let expert: string[];
let names: string[];

before(async () => {
  docker = await requireDocker();
  await ensureImage(docker, SWE_IMAGE);
  sandbox = await Sandbox.create({ docker, image: SWE_IMAGE, owner: OWNER });
  const drawn = SWE_TEMPLATES[0].draw(new Rng(seedOf(35, SWE_TEMPLATES[0].name)));
  task = sweTaskOf('swe-harness', SWE_TEMPLATES[0].name, drawn);
  expert = drawn.steps.map((s) => s.variants[0].action);
  names = [...task.tests.failToPass, ...task.tests.passToPass];
});
after(async () => {
  await sandbox?.destroy();
});

/** Python that prints every test as passed and ends the process before any real test runs. */
const forgery = () =>
  [...names.map((n) => `print('PASS ${n}')`), `print('${names.length} passed, 0 failed')`, 'import os', 'os._exit(0)'].join('\n');

const plant = (path: string, content: string) => `cat > ${path} <<'EOF'\n${content}\nEOF`;

/** A fresh repository, the actions, the final check. */
async function check(actions: string[]) {
  await sandbox.reset();
  return replaySweEpisode(task, actions, { sandbox });
}

test('the fix passes the final check, stopping before it does not', { timeout: 60_000 }, async () => {
  assert.equal((await check(expert)).passed, true);
  assert.equal((await check([])).passed, false);
});

test(
  'a planted glob.py or usercustomize.py (in the agent’s HOME) does not stand in for the harness’s modules',
  { timeout: 60_000 },
  async () => {
    for (const file of ['glob.py', '.local/lib/python3.11/site-packages/usercustomize.py']) {
      const result = await check([`mkdir -p ./${file.replace(/[^/]*$/, '')}\n${plant(file, forgery())}`]);
      // The action's own run of the command is fooled (it reads /work); the final check is not.
      const own = await sandbox.run(TEST_COMMAND);
      assert.match(
        own.output,
        new RegExp(`PASS ${task.tests.failToPass[0]}`),
        `${file}: a plain run imports the planted module: ${own.output}`,
      );
      assert.equal(result.passed, false, `${file} made the final check pass`);
      assert.equal(result.tests[task.tests.failToPass[0]], 'fail', `${file}: the failing test still fails`);
    }
  },
);

test('an unchecked-hash .pyc of a test file is not loaded in place of the restored test', { timeout: 60_000 }, async () => {
  const first = [...task.testFiles].filter((p) => /^test_.*\.py$/.test(p)).sort()[0];
  assert.ok(first, 'the task has a test file');
  const compile =
    `python3 -c "import py_compile as p; p.compile('${first}', invalidation_mode=p.PycInvalidationMode.UNCHECKED_HASH)"` +
    ` && ls __pycache__`;
  const result = await check([`${plant(first, forgery())}\n${compile}`]);
  assert.match(result.outputs[0].output, /\.pyc/, `the .pyc was written: ${result.outputs[0].output}`);
  assert.equal(result.passed, false, 'the forged .pyc made the final check pass');
});
