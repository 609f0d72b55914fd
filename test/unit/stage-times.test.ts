import { test } from 'node:test';
import assert from 'node:assert/strict';
import { phaseTotals, recordCall, workOf } from '../../pipeline/stage-times';
import { startState } from '../../workflows/context';
import { mockConfig } from '../support/mock-campaign';

test("work is read from what activities return: samples, tokens, or an update's metrics.tokens", () => {
  assert.deepEqual(workOf({ samples: 64, tokens: 900 }), { samples: 64, tokens: 900 });
  assert.deepEqual(workOf({ metrics: { tokens: 512 }, checkpoint: 'x' }), { samples: 0, tokens: 512 });
  assert.deepEqual(workOf(undefined), { samples: 0, tokens: 0 });
  assert.deepEqual(workOf({ samples: 'many' }), { samples: 0, tokens: 0 });
});

test('calls add up by phase and activity; phase totals come largest first with their shares', () => {
  const progress = startState('c', mockConfig({ steps: 1, queue: 'q', address: 'x' })).progress;
  recordCall(progress, 'profile', 'verify', 3000, { samples: 64 });
  recordCall(progress, 'profile', 'verify', 1000, { samples: 32 });
  recordCall(progress, 'update', 'update', 4000, { metrics: { tokens: 100 } });
  assert.deepEqual(progress.stageTimes, {
    'profile/verify': { calls: 2, ms: 4000, samples: 96, tokens: 0 },
    'update/update': { calls: 1, ms: 4000, samples: 0, tokens: 100 },
  });
  recordCall(progress, 'ingest', 'ingest', 2000, {});
  assert.deepEqual(phaseTotals(progress.stageTimes!), [
    { phase: 'profile', ms: 4000, share: 0.4 },
    { phase: 'update', ms: 4000, share: 0.4 },
    { phase: 'ingest', ms: 2000, share: 0.2 },
  ]);
});
