// SFT at its best, on a tiny model with real tensors: the validation split keeps every trajectory on one side, the
// validation loss (teacher-forced NLL of the expert actions) falls on a learnable split, the learning rate of the
// lowest validation loss is chosen, and early stopping stops and keeps the best checkpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { openInProcessPolicyEngine } from '../../policy/engine';
import { LocalStore, getJsonl, putJsonl } from '../../store';
import { Turn } from '../../core/schemas';
import { turnsOf } from '../../tasks/domains';
import { trainTrajectories } from '../../tasks/suites';
import { splitByTrajectory, validationLoss } from '../../pipeline/sft';
import { chooseLr, recordValidation } from '../../pipeline/sft-selection';
import { sftUpdateOnTurns } from '../../pipeline/update';
import type { SftRecord } from '../../pipeline/campaign-state';
import { tempDir } from '../../harness/temp-dir';

const TINY = { vocab: 101, ctx: 128, layers: 1, width: 32, heads: 2 };

test('validation split by trajectory; val loss falls with SFT; the lr of the lowest val loss is chosen', async (t) => {
  const dir = tempDir('pivotrl-sft-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = new LocalStore(dir);
  const engine = openInProcessPolicyEngine({ store: { kind: 'local', root: dir }, onLog: () => {} });
  t.after(() => engine.close());
  await engine.init({ out: 'pi0', config: TINY, seed: 3 });
  await putJsonl(store, 'turns.jsonl', trainTrajectories('terminal', 1, 20).flatMap(turnsOf));

  const split = await splitByTrajectory(store, 'turns.jsonl', { valFraction: 0.2, seed: 1 }, { train: 'train.jsonl', val: 'val.jsonl' });
  assert.equal(split.valTrajectories, 4);
  const side = async (key: string) => new Set((await getJsonl(store, key, (v) => Turn.parse(v))).map((x) => x.trajectoryId));
  const [train, val] = [await side('train.jsonl'), await side('val.jsonl')];
  assert.equal(val.size, 4);
  assert.equal([...val].filter((id) => train.has(id)).length, 0, 'no trajectory on both sides');

  const base = await validationLoss(store, engine, { checkpoint: 'pi0', turns: 'val.jsonl' });
  assert.ok(base.loss > 3, `an untrained model is near uniform over 101 tokens (ln 101 = 4.6): ${base.loss}`);
  const probe = async (lr: number, steps: number) => {
    let checkpoint = 'pi0';
    for (let step = 1; step <= steps; step++) {
      const out = `lr-${lr}/step-${step}`;
      await sftUpdateOnTurns(store, engine, { step, checkpoint, turns: 'train.jsonl', hp: { lr }, out });
      checkpoint = out;
    }
    return (await validationLoss(store, engine, { checkpoint, turns: 'val.jsonl' })).loss;
  };
  const sweep = [
    { lr: 1e-6, valLoss: await probe(1e-6, 4) },
    { lr: 3e-3, valLoss: await probe(3e-3, 4) },
  ];
  assert.ok(sweep[1].valLoss < base.loss - 0.2, `val loss falls with SFT: ${base.loss} -> ${sweep[1].valLoss}`);
  assert.ok(sweep[0].valLoss > sweep[1].valLoss, JSON.stringify(sweep));
  assert.equal(chooseLr(sweep), 3e-3);
});

test('lr choice: lowest validation loss; ties the smaller lr; NaN never wins', () => {
  assert.equal(
    chooseLr([
      { lr: 1e-3, valLoss: 1 },
      { lr: 3e-4, valLoss: 1 },
      { lr: 1e-2, valLoss: NaN },
    ]),
    3e-4,
  );
  assert.equal(
    chooseLr([
      { lr: 1e-3, valLoss: 0.9 },
      { lr: 3e-4, valLoss: 1 },
    ]),
    1e-3,
  );
  assert.throws(() => chooseLr([]), /no candidate/);
});

test('early stopping: stops after `patience` evaluations without a strictly lower loss, keeping the best checkpoint', () => {
  const r: SftRecord = {
    trainTurns: 1,
    valTurns: 1,
    lrSweep: [],
    lr: 1e-3,
    losses: [],
    valCurve: [{ step: 0, valLoss: 2 }],
    bestStep: 0,
    bestCheckpoint: 'pi0',
    bestHash: null,
    sinceBest: 0,
    stoppedAt: null,
  };
  const at = (step: number, valLoss: number) => recordValidation(r, { step, valLoss, checkpoint: `ck/${step}`, hash: `h${step}` }, 2);
  assert.equal(at(2, 1.5), false);
  assert.equal(at(4, 1.2), false);
  assert.equal(at(6, 1.2), false, 'an equal loss is no improvement, but patience is 2');
  assert.equal(at(8, 1.3), true);
  assert.deepEqual([r.bestStep, r.bestCheckpoint, r.bestHash, r.stoppedAt, r.sinceBest], [4, 'ck/4', 'h4', 8, 2]);
});
