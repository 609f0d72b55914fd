// The periodic reaper's choice (sandboxes/reaper.ts reapStoppedSandboxes) on a fake engine: stopped sandboxes of any
// owner go once stopped long enough, running ones never, never-started ones only after a grace period.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DockerClient } from '../../sandboxes/engine';
import { NEVER_STARTED_GRACE_MS, SANDBOX_LABEL, reapStoppedSandboxes } from '../../sandboxes/reaper';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const ago = (ms: number) => new Date(NOW - ms).toISOString();

interface Fake {
  id: string;
  status: 'running' | 'exited' | 'created' | 'dead';
  created: string;
  finished: string;
}

/** An engine holding `containers`; it lists what the filter asks for and records removals. */
function fakeEngine(containers: Fake[]) {
  const removed: string[] = [];
  let filters: unknown;
  const docker = {
    listContainers: async (o: { filters: { label: string[]; status: string[] } }) => {
      filters = o.filters;
      return containers.filter((c) => o.filters.status.includes(c.status)).map((c) => ({ Id: c.id }));
    },
    getContainer: (id: string) => {
      const c = containers.find((x) => x.id === id)!;
      return {
        inspect: async () => ({
          Created: c.created,
          State: { Status: c.status, Running: c.status === 'running', Paused: false, Restarting: false, FinishedAt: c.finished },
        }),
        remove: async (o: { force?: boolean }) => {
          assert.ok(!o.force, 'never forced: a container that started meanwhile is refused');
          removed.push(id);
        },
      };
    },
  } as unknown as DockerClient;
  return { docker, removed, filters: () => filters };
}

test('stopped sandboxes of any owner go once stopped for afterMs; running ones never', async () => {
  const zero = '0001-01-01T00:00:00Z';
  const engine = fakeEngine([
    { id: 'old-exited', status: 'exited', created: ago(3_600_000), finished: ago(11 * 60_000) },
    { id: 'fresh-exited', status: 'exited', created: ago(3_600_000), finished: ago(60_000) },
    { id: 'dead', status: 'dead', created: ago(3_600_000), finished: ago(20 * 60_000) },
    { id: 'running-for-days', status: 'running', created: ago(3 * 86_400_000), finished: zero },
    { id: 'created-long-ago', status: 'created', created: ago(11 * 60_000), finished: zero },
    { id: 'created-just-now', status: 'created', created: ago(1000), finished: zero },
  ]);
  assert.equal(await reapStoppedSandboxes(engine.docker, 10 * 60_000, NOW), 3);
  assert.deepEqual(engine.removed.sort(), ['created-long-ago', 'dead', 'old-exited']);
  assert.deepEqual(engine.filters(), { label: [`${SANDBOX_LABEL}=1`], status: ['exited', 'dead', 'created'] });
});

test('a short afterMs does not shorten the grace of a sandbox being started', async () => {
  const engine = fakeEngine([
    { id: 'starting', status: 'created', created: ago(NEVER_STARTED_GRACE_MS - 1000), finished: '0001-01-01T00:00:00Z' },
    { id: 'stopped', status: 'exited', created: ago(NEVER_STARTED_GRACE_MS), finished: ago(2000) },
  ]);
  assert.equal(await reapStoppedSandboxes(engine.docker, 1000, NOW), 1);
  assert.deepEqual(engine.removed, ['stopped']);
});
