// The workers' logs and telemetry settings: JSON lines or readable lines from pino, the SDK's log levels mapped onto
// pino's, the bundler's listing demoted, and PIVOTRL_LOG_LEVEL / PIVOTRL_METRICS_ADDRESS checked with a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, readableLine, sdkLevelOf, sdkLogger } from '../../workers/log';
import { telemetryEnv } from '../../workers/env';
import { installRuntime } from '../../workers/runtime';
import { createServer } from 'node:net';

const captured = (o: Parameters<typeof createLogger>[0] = {}) => {
  const lines: string[] = [];
  return { lines, logger: createLogger({ readable: false, ...o, write: (l) => void lines.push(l) }) };
};

test('a logger writes one JSON object per line with its level, name and fields; below its level nothing', () => {
  const { lines, logger } = captured({ level: 'warn' });
  logger.child({ name: 'cpu-worker' }).warn({ queue: 'q' }, 'polling');
  logger.info('dropped');
  assert.equal(lines.length, 1);
  const entry = JSON.parse(lines[0]);
  assert.deepEqual([entry.level, entry.name, entry.queue, entry.msg], [40, 'cpu-worker', 'q', 'polling']);
});

test('on a terminal a line reads as time, level, [name], message and fields', () => {
  const { lines, logger } = captured({ readable: true });
  logger.child({ name: 'gpu-worker' }).info({ step: 3, ok: true }, 'checkpoint written');
  assert.match(lines[0], /^\d\d:\d\d:\d\d\.\d{3} INFO {2}\[gpu-worker\] checkpoint written step=3 ok=true\n$/);
  assert.equal(readableLine(JSON.stringify({ level: 50, time: 0, msg: 'boom' })), '00:00:00.000 ERROR boom\n');
});

test("the SDK's logger: levels map onto pino's, metadata becomes fields, symbols and bigints are safe", () => {
  const { lines, logger } = captured({ level: 'debug' });
  const sdk = sdkLogger(logger);
  sdk.log('WARN', 'slow poll', { taskQueue: 'q', [Symbol('ts')]: 1n, nanos: 12n, error: new Error('deadline') });
  sdk.warn('No workflows registered, not polling for workflow tasks'); // a GPU worker's, on purpose: debug
  sdk.trace('below debug');
  sdk.debug('shown');
  const entries = lines.map((l) => JSON.parse(l));
  assert.deepEqual(
    entries.map((e) => [e.level, e.msg]),
    [
      [40, 'slow poll'],
      [20, 'No workflows registered, not polling for workflow tasks'],
      [20, 'shown'],
    ],
  );
  assert.equal(entries[0].error.message, 'deadline');
  assert.match(entries[0].error.stack, /Error: deadline/);
  assert.deepEqual([entries[0].taskQueue, entries[0].nanos], ['q', '12']);
  assert.deepEqual([sdkLevelOf('info'), sdkLevelOf('silent'), sdkLevelOf('trace')], ['INFO', 'ERROR', 'TRACE']);
});

test("the bundler's INFO (webpack's module listing) is logged at debug; its errors stay errors", () => {
  const { lines, logger } = captured({ level: 'info' });
  const bundler = sdkLogger(logger, { demoteInfo: true });
  bundler.info('asset workflow-bundle.js 1.2 MiB [emitted]');
  bundler.error('Module not found');
  assert.deepEqual(
    lines.map((l) => JSON.parse(l).msg),
    ['Module not found'],
  );
});

test('PIVOTRL_LOG_LEVEL and PIVOTRL_METRICS_ADDRESS: defaults, accepted values, and errors naming the variable', () => {
  assert.deepEqual(telemetryEnv({}), { PIVOTRL_LOG_LEVEL: 'info' });
  assert.deepEqual(telemetryEnv({ PIVOTRL_LOG_LEVEL: 'WARN', PIVOTRL_METRICS_ADDRESS: '0.0.0.0:9464' }), {
    PIVOTRL_LOG_LEVEL: 'warn',
    PIVOTRL_METRICS_ADDRESS: '0.0.0.0:9464',
  });
  assert.equal(telemetryEnv({ PIVOTRL_METRICS_ADDRESS: '[::1]:9464' }).PIVOTRL_METRICS_ADDRESS, '[::1]:9464');
  assert.equal(telemetryEnv({ PIVOTRL_METRICS_ADDRESS: '' }).PIVOTRL_METRICS_ADDRESS, undefined);
  assert.throws(() => telemetryEnv({ PIVOTRL_LOG_LEVEL: 'loud' }), /environment: PIVOTRL_LOG_LEVEL: /);
  assert.throws(
    () => telemetryEnv({ PIVOTRL_METRICS_ADDRESS: 'http://127.0.0.1:9464' }),
    /environment: PIVOTRL_METRICS_ADDRESS: host:port/,
  );
  assert.throws(() => telemetryEnv({ PIVOTRL_METRICS_ADDRESS: '9464' }), /PIVOTRL_METRICS_ADDRESS/);
});

test('a metrics address already in use fails the start, naming the variable', async () => {
  const busy = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => busy.once('listening', r));
  const address = `127.0.0.1:${(busy.address() as { port: number }).port}`;
  try {
    assert.throws(
      () => installRuntime({ PIVOTRL_LOG_LEVEL: 'silent', PIVOTRL_METRICS_ADDRESS: address }),
      new RegExp(`^Error: PIVOTRL_METRICS_ADDRESS=${address}: .*in use`),
    );
  } finally {
    busy.close();
  }
});
