// The strict (exact-match) verifier used by the ablation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Sample, Turn } from '../../core/schemas';
import { createVerifier } from '../../verifiers';

const turn = (id: string, expert: string): Turn => ({
  id,
  trajectoryId: 't',
  index: 0,
  domain: 'terminal',
  task: { id: 'task', template: 'x', goal: 'g', files: [], dirs: [], check: 'true', maxTurns: 8 },
  history: [],
  expert,
});
const sample = (turnId: string, index: number, text: string): Sample => ({ turnId, index, text, logprobs: [] });

test('strict verifier: exact match after trimming, everything else 0', async () => {
  const v = createVerifier('strict');
  assert.equal(v.kind, 'strict');
  const progress: number[] = [];
  const verdicts = await v.verifyBatch(
    [
      {
        turn: turn('a', 'ls -a'),
        samples: [
          sample('a', 0, 'ls -a'),
          sample('a', 1, '  ls -a\n'),
          sample('a', 2, 'ls  -a'),
          sample('a', 3, 'ls'),
          sample('a', 4, ' \n'),
        ],
      },
      { turn: turn('b', 'mkdir -p a/b\n'), samples: [sample('b', 0, 'mkdir -p a/b'), sample('b', 1, 'mkdir a && mkdir a/b')] },
      { turn: turn('c', 'pwd'), samples: [] },
    ],
    { onProgress: (n) => progress.push(n) },
  );
  assert.deepEqual(
    verdicts.map((v) => [v.turnId, v.index, v.reward, v.reason]),
    [
      ['a', 0, 1, 'exact_match'],
      ['a', 1, 1, 'exact_match'],
      ['a', 2, 0, 'not_exact'],
      ['a', 3, 0, 'not_exact'],
      ['a', 4, 0, 'empty_action'],
      ['b', 0, 1, 'exact_match'],
      ['b', 1, 0, 'not_exact'],
    ],
  );
  assert.deepEqual(progress, [1, 2, 3]);
});

test('strict verifier: an aborted signal rejects', async () => {
  const ctl = new AbortController();
  ctl.abort(new Error('stop'));
  await assert.rejects(createVerifier('strict').verifyBatch([{ turn: turn('a', 'ls'), samples: [] }], { signal: ctl.signal }), /stop/);
});
