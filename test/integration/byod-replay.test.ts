// A terminal trajectory as users have it (plain OpenAI chat: no task, no files, no final check) is ingested and its
// turns are verified functionally in real Docker sandboxes: the state of each turn is rebuilt by running the expert's
// earlier commands in the sandbox image the record names, so a sample is judged against what the expert really saw.
// The same trajectory replayed in the wrong image (the terminal image has no python3) gives another state, where wrong
// samples pass and a right one fails: the image matters, and it is the record's that is used.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Turn, type Verdict } from '../../core/schemas';
import { requireDocker } from '../../harness/docker';
import { ingest } from '../../pipeline/ingest';
import type { DockerClient } from '../../sandboxes/engine';
import { OWNER_LABEL, reapSandboxes } from '../../sandboxes/reaper';
import { DEFAULT_IMAGE } from '../../sandboxes/sandbox';
import { SWE_IMAGE } from '../../sandboxes/swe';
import { LocalStore, getJsonl } from '../../store';
import { generateOodSuite } from '../../tasks/ood';
import { verificationOf } from '../../tasks/domains';
import { createVerifier } from '../../verifiers';
import { jsonl, shellConversation } from '../support/foreign-data';
import { tempDir } from '../../harness/temp-dir';

const OWNER = `test-byod-replay-${process.pid}`;
let docker: DockerClient;

before(async () => {
  docker = await requireDocker();
  for (const image of [DEFAULT_IMAGE, SWE_IMAGE]) {
    await docker
      .getImage(image)
      .inspect()
      .catch(() => {
        throw new Error(`sandbox image ${image} is missing: run \`make setup\` (deploy/local/images.sh builds it)`);
      });
  }
});

after(async () => {
  const left = await docker.listContainers({ all: true, filters: { label: [`${OWNER_LABEL}=${OWNER}`] } });
  await reapSandboxes(docker, OWNER);
  assert.deepEqual(left, [], 'every sandbox removed');
});

const STEPS = [
  { command: "python3 -c 'for i in range(1, 6): print(i * i)' > squares.txt", output: '' },
  { command: 'cat squares.txt', output: '1\n4\n9\n16\n25\n' },
  { command: "grep -E '[02468]$' squares.txt > even.txt", output: '' },
];
const REPLY = 'Done: even.txt holds 4 and 16.';

/** Samples per turn position: [turn index, action]. */
const SAMPLES: [number, string][] = [
  [1, 'head -n 5 squares.txt'],
  [1, 'tail -n 2 squares.txt'],
  [2, "awk '$1 % 2 == 0' squares.txt > even.txt"],
  [2, 'grep 6 squares.txt > even.txt'],
  [3, 'say even.txt now holds 4 and 16.'],
  [3, 'call bash {"command":"cat even.txt"}'],
];

test(
  'a foreign terminal trajectory is replayed in the sandbox image it names, and its turns get functional verdicts',
  { timeout: 300_000 },
  async () => {
    const dir = tempDir('pivotrl-byod-replay-');
    const trajectories = join(dir, 'chat.jsonl');
    writeFileSync(
      trajectories,
      jsonl([
        shellConversation('Write the squares of 1 to 5, then the even ones to even.txt', STEPS, REPLY, {
          id: 'named',
          sandbox_image: SWE_IMAGE,
        }),
        shellConversation('Write the squares of 1 to 5, then the even ones to even.txt', STEPS, REPLY, { id: 'default' }),
      ]),
    );
    writeFileSync(join(dir, 'heldout.jsonl'), '');
    writeFileSync(join(dir, 'ood.jsonl'), jsonl(generateOodSuite({ seed: 1, n: 2 })));
    const store = new LocalStore(join(dir, 'store'));
    const result = await ingest(store, {
      campaignId: 'byod-replay',
      trajectories: [trajectories],
      heldoutTasks: join(dir, 'heldout.jsonl'),
      ood: join(dir, 'ood.jsonl'),
      shardSize: 16,
      heldoutLimit: 1,
      oodLimit: 2,
    });
    assert.deepEqual(result.verification.turns, { sandbox: 0, replay: 6, backend: 0, arguments: 0, message: 2 });
    const turns = (await Promise.all(result.shards.map((s) => getJsonl(store, s.turns, (v) => Turn.parse(v))))).flat();
    assert.deepEqual(
      turns.map((t) => [t.id, verificationOf(t)]),
      ['named', 'default'].flatMap((id) => [
        [`${id}#0`, 'replay'],
        [`${id}#1`, 'replay'],
        [`${id}#2`, 'replay'],
        [`${id}#3`, 'message'],
      ]),
    );

    const verifier = createVerifier('functional', { docker, image: DEFAULT_IMAGE, owner: OWNER, actionTimeoutMs: 30_000, concurrency: 2 });
    const itemsOf = (id: string) =>
      [1, 2, 3].map((index) => {
        const turn = turns.find((t) => t.id === `${id}#${index}`)!;
        const samples = SAMPLES.filter(([i]) => i === index).map(([, text], k) => ({ turnId: turn.id, index: k, text, logprobs: [] }));
        return { turn, samples };
      });
    const brief = (vs: Verdict[]) => vs.map((v) => [v.turnId, v.reward, v.reason]);

    // The record's image (python3 there): the squares exist, and each sample is judged against them.
    assert.deepEqual(brief(await verifier.verifyBatch(itemsOf('named'))), [
      ['named#1', 1, 'equivalent'],
      ['named#1', 0, 'missing_output'],
      ['named#2', 1, 'equivalent'],
      ['named#2', 0, 'different_files'],
      ['named#3', 1, 'equivalent'],
      ['named#3', 0, 'call_instead_of_message'],
    ]);
    // The terminal image: the first command fails there, squares.txt is empty: the wrong samples pass, a right one fails.
    assert.deepEqual(brief(await verifier.verifyBatch(itemsOf('default'))), [
      ['default#1', 1, 'equivalent'],
      ['default#1', 1, 'equivalent'],
      ['default#2', 0, 'exit_status_differs'],
      ['default#2', 1, 'equivalent'],
      ['default#3', 1, 'equivalent'],
      ['default#3', 0, 'call_instead_of_message'],
    ]);
  },
);
