// A cancelled update stops between micro-batches and publishes nothing: the optimiser step (policy/train.ts), the
// engine in this thread and in its worker thread (policy/engine.ts), and the update stage (pipeline/update.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../policy/backend';
import { charTokenizer } from '../../policy/tokenizer';
import { initParams, makeModel, namedParams, paramsFrom } from '../../policy/model';
import { trainStep, zeroAdam, type Trainee } from '../../policy/train';
import { checkpointExists } from '../../policy/checkpoint';
import { openInProcessPolicyEngine, openPolicyEngine, type PolicyEngine } from '../../policy/engine';
import { LocalStore, putJsonl } from '../../store';
import { grpoUpdateOnPivots } from '../../pipeline/update';
import type { Sample, Turn, Verdict } from '../../core/schemas';
import { tempDir } from '../../harness/temp-dir';

await initBackend(() => {});
const tok = charTokenizer();
const TINY = { vocab: tok.vocabSize, ctx: 64, layers: 1, width: 32, heads: 2 };
const SFT = ['ls -a\n', 'pwd\n', 'cat notes.txt\n', 'mkdir out\n'].map((completion, i) => ({ prompt: `G: task ${i}\n$ `, completion }));
// A small token budget: one micro-batch per sequence, so a step has several places to stop.
const HP = { lr: 1e-2, microBatchTokens: 24 };

function tinyTrainee(): Trainee {
  const named = initParams(TINY, 5);
  const model = makeModel(TINY, tok, paramsFrom(TINY, named));
  tf.dispose(Object.values(named));
  return { model, adam: zeroAdam(model), step: 0 };
}
const weightsOf = (tr: Trainee) => namedParams(tr.model.params).map(([, v]) => Array.from(v.dataSync()));

test('a step cancelled after its first micro-batch throws AbortError and leaves weights, moments and step as they were', () => {
  const tr = tinyTrainee();
  const before = weightsOf(tr);
  const tensors = tf.memory().numTensors;
  let asked = 0;
  assert.throws(
    () => trainStep(tr, 'sft', SFT, HP, undefined, () => ++asked > 1),
    (e: Error) => e.name === 'AbortError' && /weights are unchanged/.test(e.message),
  );
  assert.equal(asked, 2, 'asked before the first micro-batch (no) and before the second (yes)');
  assert.deepEqual(weightsOf(tr), before);
  assert.equal(tr.step, 0);
  assert.equal(tr.adam.t, 0);
  assert.equal(tf.memory().numTensors, tensors, 'the gradients accumulated so far are freed');

  // Not cancelled, the same call asks once per micro-batch and once before the weights change, then trains.
  asked = 0;
  trainStep(tr, 'sft', SFT, HP, undefined, () => (asked++, false));
  assert.ok(asked >= 3, `several micro-batches (${asked} checks)`);
  assert.equal(tr.step, 1);
  assert.notDeepEqual(weightsOf(tr), before);
});

/** Runs `fn` with an engine on a fresh store holding checkpoint c/0. */
async function withEngine(open: (root: string) => PolicyEngine, fn: (engine: PolicyEngine, store: LocalStore) => Promise<void>) {
  const dir = tempDir('pivotrl-cancel-');
  const engine = open(dir);
  try {
    await engine.init({ out: 'c/0', config: TINY, seed: 3 });
    await fn(engine, new LocalStore(dir));
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const [name, open] of [
  ['in this thread', (root: string) => openInProcessPolicyEngine({ store: { kind: 'local', root }, onLog: () => {} })],
  ['in its worker thread', (root: string) => openPolicyEngine({ store: { kind: 'local', root }, onLog: () => {} })],
] as const) {
  test(`engine ${name}: an aborted step rejects with the signal's reason and publishes no checkpoint`, async () => {
    await withEngine(open, async (engine, store) => {
      const uncancelled = await engine.trainSft({ checkpoint: 'c/0', out: 'ref/1', examples: SFT, hp: HP });

      // Aborted as the call starts: the step has not begun (loading c/0 takes a moment), it stops at its first check.
      const controller = new AbortController();
      const reason = new Error('activity cancelled');
      const step = engine.trainSft({ checkpoint: 'c/0', out: 'c/1', examples: SFT, hp: HP }, { signal: controller.signal });
      controller.abort(reason);
      await assert.rejects(step, (e) => e === reason);
      assert.equal(await checkpointExists(store, 'c/1'), false);
      assert.equal(await store.exists('c/1/metrics.json'), false);

      // An abort before the call never reaches the engine; the engine then trains c/0 as if nothing had happened.
      await assert.rejects(
        engine.trainSft({ checkpoint: 'c/0', out: 'c/1', examples: SFT, hp: HP }, { signal: AbortSignal.abort(reason) }),
        (e) => e === reason,
      );
      const after = await engine.trainSft({ checkpoint: 'c/0', out: 'c/1', examples: SFT, hp: HP });
      assert.equal(after.loss, uncancelled.loss);
      assert.equal(await engine.checkpointHash('c/1'), await engine.checkpointHash('ref/1'));
    });
  });
}

test('the update stage of a cancelled activity writes neither checkpoint nor summary', async () => {
  await withEngine(
    (root) => openPolicyEngine({ store: { kind: 'local', root }, onLog: () => {} }),
    async (engine, store) => {
      const samples = await engine.sample(
        'c/0',
        SFT.map((s) => s.prompt),
        { n: 2, temperature: 1, maxTokens: 6, stop: ['\n'], seed: 1 },
      );
      const turns = SFT.map((s, i): Turn => ({
        id: `t${i}`,
        trajectoryId: `t${i}`,
        index: 0,
        domain: 'tool',
        task: {
          id: `t${i}`,
          template: 'x',
          goal: s.prompt.slice(3, -3),
          maxTurns: 2,
          tools: [],
          backend: null,
          check: { state: null, facts: [] },
        },
        history: [],
        expert: 'say hi',
      }));
      const rows: Sample[] = samples.flatMap((g, i) =>
        g.map((c, index) => ({ turnId: `t${i}`, index, text: c.text, stop: c.stop, logprobs: c.logprobs })),
      );
      const verdicts: Verdict[] = rows.map((s) => ({
        turnId: s.turnId,
        index: s.index,
        reward: s.index === 0 ? 1 : 0,
        reason: 'exact_match',
        detail: '',
      }));
      await putJsonl(store, 'b/turns.jsonl', turns);
      await putJsonl(store, 'b/samples.jsonl', rows);
      await putJsonl(store, 'b/verdicts.jsonl', verdicts);
      const input = {
        step: 1,
        checkpoint: 'c/0',
        batch: { turns: 'b/turns.jsonl', samples: 'b/samples.jsonl', verdicts: 'b/verdicts.jsonl' },
        hp: { ...HP, lr: 1e-3 },
        leaveOneOut: false,
        out: 'c/1',
      };
      const controller = new AbortController();
      const update = grpoUpdateOnPivots(store, engine, input, controller.signal);
      controller.abort(new Error('activity cancelled'));
      await assert.rejects(update, /activity cancelled/);
      assert.equal(await checkpointExists(store, 'c/1'), false);
      assert.deepEqual(await store.list('c/1/'), []);

      // The retried attempt (not cancelled) trains and publishes the step.
      const done = await grpoUpdateOnPivots(store, engine, input);
      assert.equal(done.metrics.step, 1);
      assert.equal(await checkpointExists(store, 'c/1'), true);
    },
  );
});
