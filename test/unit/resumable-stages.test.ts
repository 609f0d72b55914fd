// Long stages heartbeat a resumable cursor and store finished parts; a retried attempt resumes there, repeats no
// finished work, and writes what an uninterrupted attempt writes. The activities run in the SDK's
// MockActivityEnvironment (heartbeats and attempt info as Temporal gives them), with a fake model and verifier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createGenerateActivities } from '../../activities/generate';
import { DEFAULT_MAX_TOKENS, GENERATE_CHUNK } from '../../pipeline/generate';
import { createVerifyActivities } from '../../activities/verify';
import { VERIFY_PART_TURNS } from '../../pipeline/verify';
import type { GenerateInput, VerifyInput } from '../../activities/types';
import type { Completion, PolicyEngine, SampleOptions } from '../../policy/engine';
import type { Sample, Turn, Verdict } from '../../core/schemas';
import { LocalStore, getText, putJsonl, type LocalStoreConfig } from '../../store';
import { cursorFrom, partsOf, runInParts } from '../../pipeline/parts';
import type { Verifier, VerifyItem } from '../../verifiers/verifier';
import { generateTerminalSuite } from '../../tasks/terminal/suite';
import { terminalTurns } from '../../tasks/terminal/render';
import { tempDir } from '../../harness/temp-dir';

const tempStore = (): LocalStoreConfig => ({ kind: 'local', root: tempDir('pivotrl-resume-') });

/** Runs an activity as attempt `attempt` with the given heartbeat details; returns its result (or error) and heartbeats. */
async function attempt<R>(
  fn: () => Promise<R>,
  info: { attempt: number; heartbeatDetails?: unknown },
): Promise<{ result: R | undefined; beats: unknown[]; error: Error | undefined }> {
  const env = new MockActivityEnvironment({ attempt: info.attempt, heartbeatDetails: info.heartbeatDetails });
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  try {
    return { result: (await env.run(fn)) as R, beats, error: undefined };
  } catch (error) {
    return { result: undefined, beats, error: error as Error };
  }
}

/** A model whose completions depend only on (prompt, seed, sample index); it can be told to fail on its nth call. */
function fakeEngine(failOnCall?: number) {
  const calls: number[] = [];
  const engine = {
    backend: async () => 'fake',
    sample: async (_ck: string, prompts: string[], o: SampleOptions): Promise<Completion[][]> => {
      calls.push(prompts.length);
      if (calls.length === failOnCall) throw new Error('worker lost');
      return prompts.map((p) =>
        Array.from({ length: o.n }, (_, j) => ({ text: `${p}|${o.seed}|${j}`, stop: '\n', logprobs: [-0.5, -0.25] })),
      );
    },
  } as unknown as PolicyEngine;
  return { engine, calls };
}

async function generateSetup(prompts: number) {
  const store = tempStore();
  await putJsonl(
    new LocalStore(store.root),
    'p.jsonl',
    Array.from({ length: prompts }, (_, i) => ({ id: `t${i}`, prompt: `prompt ${i}` })),
  );
  const input = (out: string): GenerateInput => ({
    campaignId: 'c',
    store,
    checkpoint: 'ck',
    prompts: 'p.jsonl',
    out,
    sampling: { n: 2, temperature: 1, topP: 1, maxTokens: 8, seed: 42 },
  });
  return { store, input };
}

test('generate: a retry resumes after the last stored chunk and writes what an uninterrupted run writes', async () => {
  const { store, input } = await generateSetup(2 * GENERATE_CHUNK + 5); // 3 chunks
  const local = new LocalStore(store.root);

  const clean = fakeEngine();
  const whole = await attempt(() => createGenerateActivities(() => clean.engine).generate(input('whole.jsonl')), { attempt: 1 });
  assert.equal(whole.error, undefined);
  assert.deepEqual(clean.calls, [GENERATE_CHUNK, GENERATE_CHUNK, 5]);

  const failing = fakeEngine(3);
  const first = await attempt(() => createGenerateActivities(() => failing.engine).generate(input('s.jsonl')), { attempt: 1 });
  assert.match(first.error?.message ?? '', /worker lost/);
  const cursor = first.beats.at(-1);
  assert.deepEqual(cursor, { done: 2, of: 3 }, 'the heartbeat carries the cursor');

  const again = fakeEngine();
  const second = await attempt(() => createGenerateActivities(() => again.engine).generate(input('s.jsonl')), {
    attempt: 2,
    heartbeatDetails: cursor,
  });
  assert.equal(second.error, undefined);
  assert.deepEqual(again.calls, [5], 'only the unfinished chunk is generated again');
  assert.equal(second.result?.resumedChunks, 2);
  assert.equal(second.result?.samples, whole.result?.samples);
  assert.equal(await getText(local, 's.jsonl'), await getText(local, 'whole.jsonl'));
  assert.deepEqual(await local.list(`${partsOf('s.jsonl')}/`), [], 'the parts are removed once the output is stored');

  // A retry of a finished stage returns its summary and samples nothing.
  const third = fakeEngine();
  const done = await attempt(() => createGenerateActivities(() => third.engine).generate(input('s.jsonl')), { attempt: 3 });
  assert.deepEqual(third.calls, []);
  assert.equal(done.result?.samples, whole.result?.samples);
});

test('generate: parts stored after the last heartbeat that reached the server are found too', async () => {
  const { input } = await generateSetup(2 * GENERATE_CHUNK + 5);
  const failing = fakeEngine(3);
  await attempt(() => createGenerateActivities(() => failing.engine).generate(input('s.jsonl')), { attempt: 1 });
  const again = fakeEngine();
  // The worker was killed before any heartbeat got through: no details, but two chunks are in the store.
  const second = await attempt(() => createGenerateActivities(() => again.engine).generate(input('s.jsonl')), { attempt: 2 });
  assert.deepEqual(again.calls, [5]);
  assert.equal(second.result?.resumedChunks, 2);
});

/** A verifier that scores 1 when the sample is the expert's action; it can be told to fail on its nth batch. */
function fakeVerifier(failOnBatch?: number) {
  const batches: string[][] = [];
  const verifier: Verifier = {
    kind: 'functional',
    async verifyBatch(items: VerifyItem[]): Promise<Verdict[]> {
      batches.push(items.map((it) => it.turn.id));
      if (batches.length === failOnBatch) throw new Error('engine lost');
      return items.flatMap(({ turn, samples }) =>
        samples.map((s): Verdict => {
          const same = s.text === turn.expert;
          return { turnId: turn.id, index: s.index, reward: same ? 1 : 0, reason: same ? 'exact_match' : 'not_exact', detail: '' };
        }),
      );
    },
  };
  return { verifier, batches };
}

async function verifySetup() {
  const store = tempStore();
  const local = new LocalStore(store.root);
  const { train } = generateTerminalSuite({ seed: 5, trainTasks: 24, heldoutTasks: 0 });
  const turns: Turn[] = train.flatMap((t) => terminalTurns(t)).slice(0, 2 * VERIFY_PART_TURNS + 3); // 3 parts
  assert.equal(turns.length, 2 * VERIFY_PART_TURNS + 3);
  const samples: Sample[] = turns.flatMap((t) =>
    [t.expert, 'true', `${t.expert} `].map((text, index) => ({ turnId: t.id, index, text, stop: '\n', logprobs: [] })),
  );
  await putJsonl(local, 'turns.jsonl', turns);
  await putJsonl(local, 'samples.jsonl', samples);
  const input = (out: string): VerifyInput => ({
    campaignId: 'c',
    store,
    turns: 'turns.jsonl',
    samples: 'samples.jsonl',
    out,
    verifier: 'functional',
    concurrency: 2,
    actionTimeoutMs: 1000,
  });
  return { local, turns, input };
}

test('verify: a retry verifies only the turns of unfinished parts; the verdicts equal an uninterrupted run', async () => {
  const { local, turns, input } = await verifySetup();
  const clean = fakeVerifier();
  const whole = await attempt(() => createVerifyActivities(() => clean.verifier).verify(input('whole.verdicts.jsonl')), { attempt: 1 });
  assert.equal(clean.batches.flat().length, turns.length);

  const failing = fakeVerifier(3);
  const first = await attempt(() => createVerifyActivities(() => failing.verifier).verify(input('v.jsonl')), { attempt: 1 });
  assert.match(first.error?.message ?? '', /engine lost/);
  assert.deepEqual(first.beats.at(-1), { done: 2, of: 3 });

  const again = fakeVerifier();
  const second = await attempt(() => createVerifyActivities(() => again.verifier).verify(input('v.jsonl')), {
    attempt: 2,
    heartbeatDetails: first.beats.at(-1),
  });
  assert.deepEqual(
    again.batches,
    [turns.slice(2 * VERIFY_PART_TURNS).map((t) => t.id)],
    'only the turns of the unfinished part are verified again',
  );
  assert.equal(second.result?.resumedParts, 2);
  assert.deepEqual({ ...second.result, out: '', resumedParts: 0 }, { ...whole.result, out: '', resumedParts: 0 });
  assert.equal(await getText(local, 'v.jsonl'), await getText(local, 'whole.verdicts.jsonl'));
});

test('verify with `also`: one pass over the turns, each sample set gets the verdicts it would get alone', async () => {
  const { local, turns, input } = await verifySetup();
  // A second set of the same turns: the expert's action at index 2 of 3 (another order, another count).
  const other: Sample[] = turns.flatMap((t) =>
    ['false', 'true', t.expert].map((text, index) => ({ turnId: t.id, index, text, stop: '\n', logprobs: [] })),
  );
  await putJsonl(local, 'other.jsonl', other);
  const alone = fakeVerifier();
  const verify = (v: Verifier, i: VerifyInput) => attempt(() => createVerifyActivities(() => v).verify(i), { attempt: 1 });
  await verify(alone.verifier, input('alone.jsonl'));
  await verify(alone.verifier, { ...input('other-alone.jsonl'), samples: 'other.jsonl' });

  const once = fakeVerifier();
  const merged = await verify(once.verifier, { ...input('main.jsonl'), also: [{ samples: 'other.jsonl', out: 'other-merged.jsonl' }] });
  assert.deepEqual(
    once.batches.flat(),
    turns.map((t) => t.id),
    'every turn verified once, for both sets',
  );
  assert.equal(await getText(local, 'main.jsonl'), await getText(local, 'alone.jsonl'));
  assert.equal(await getText(local, 'other-merged.jsonl'), await getText(local, 'other-alone.jsonl'));
  assert.equal(merged.result?.samples, turns.length * 3, 'the summary is of the main set');
});

test('runInParts: once cancelled, no further part is computed or stored (a zombie attempt stops writing)', async () => {
  const store = new LocalStore(tempStore().root);
  const abort = new AbortController();
  const computed: number[] = [];
  const work = async (items: number[], start: number) => {
    computed.push(start);
    if (start === 2) abort.abort(new Error('activity cancelled'));
    return items.map((x) => x * 10);
  };
  await assert.rejects(
    runInParts(store, { prefix: 'z.parts', items: [1, 2, 3, 4, 5], size: 2, resumeFrom: 0, parse: Number, work, signal: abort.signal }),
    /activity cancelled/,
  );
  assert.deepEqual(computed, [0, 2], 'the part after the cancellation is not started');
  assert.equal(await store.exists('z.parts/part-000000.jsonl'), true);
  assert.equal(await store.exists('z.parts/part-000001.jsonl'), false, 'the part that finished after the cancellation is not stored');
});

test('runInParts: a cursor whose parts are gone is computed again; cursorFrom reads only its own shape', async () => {
  const store = new LocalStore(tempStore().root);
  const work = async (items: number[]) => items.map((x) => x * 10);
  const run = await runInParts(store, { prefix: 'x.parts', items: [1, 2, 3, 4, 5], size: 2, resumeFrom: 3, parse: Number, work });
  assert.deepEqual(run.rows, [10, 20, 30, 40, 50]);
  assert.equal(run.reused, 0);
  assert.equal(run.computed, 3);
  assert.equal(cursorFrom({ done: 2, of: 3 }), 2);
  for (const bad of [undefined, null, 3, { executed: 4 }, { done: -1 }, { done: 1.5 }, { done: '2' }]) assert.equal(cursorFrom(bad), 0);
});

test('generate: without a configured limit each chunk samples with the largest limit its prompt rows name', async () => {
  const store = tempStore();
  // Chunk 1: terminal rows (55) and one tool row (103); chunk 2: out-of-domain rows, which name none.
  const rows = Array.from({ length: GENERATE_CHUNK + 3 }, (_, i) =>
    i < GENERATE_CHUNK ? { id: `t${i}`, prompt: `p${i}`, maxTokens: i === 7 ? 103 : 55 } : { id: `o${i}`, prompt: `q${i}` },
  );
  await putJsonl(new LocalStore(store.root), 'p.jsonl', rows);
  const limits: number[] = [];
  const engine = {
    backend: async () => 'fake',
    sample: async (_ck: string, prompts: string[], o: SampleOptions): Promise<Completion[][]> => {
      limits.push(o.maxTokens);
      return prompts.map(() => [{ text: 'x', stop: '\n', logprobs: [-0.5, -0.25] }]);
    },
  } as unknown as PolicyEngine;
  const input = (maxTokens?: number): GenerateInput => ({
    campaignId: 'c',
    store,
    checkpoint: 'ck',
    prompts: 'p.jsonl',
    out: `s-${maxTokens ?? 'rows'}.jsonl`,
    sampling: { n: 1, temperature: 1, topP: 1, maxTokens, seed: 1 },
  });
  await attempt(() => createGenerateActivities(() => engine).generate(input()), { attempt: 1 });
  assert.deepEqual(limits, [103, DEFAULT_MAX_TOKENS]);
  limits.length = 0;
  await attempt(() => createGenerateActivities(() => engine).generate(input(20)), { attempt: 1 });
  assert.deepEqual(limits, [20, 20], 'a configured limit wins');
});
