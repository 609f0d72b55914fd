// Worker settings from the environment (the same names in deploy/ and the README).
import { z } from 'zod';
import { TemporalConfig } from '../core/config';
import { formatZodIssues } from '../core/zod-errors';
import { DEFAULT_IMAGE } from '../sandboxes/sandbox';
import { SWE_IMAGE } from '../sandboxes/swe';
import { LOG_LEVELS, type Logger } from './log';
import { parsePayloadKeys } from './payload-keys';
import { temporalSettingsOrExit, type TemporalSettings } from './connection';

/**
 * The queues default to the campaign config's (core/config.ts TemporalConfig). The server, namespace and TLS are the
 * connection settings of workers/connection.ts (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_*, profiles).
 */
const WorkerEnv = z.object({
  /** The worker host's name (sandbox label pivotrl.host, worker identity); default: the machine's host name. */
  PIVOTRL_HOST: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a host name: letters, digits, ".", "_", "-"')
    .optional(),
  /** Label pivotrl.owner of this worker's sandboxes (default: the host name); workers reap only their owner's leftovers. */
  PIVOTRL_SANDBOX_OWNER: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_", "-"')
    .optional(),
  /** Where this worker reaches an S3 artefact store, when not at the campaign config's endpoint (workers/build.ts). */
  PIVOTRL_S3_ENDPOINT: z.url().optional(),
  PIVOTRL_CPU_QUEUE: TemporalConfig.shape.cpuQueue,
  PIVOTRL_GPU_QUEUE: TemporalConfig.shape.gpuQueue,
  PIVOTRL_CPU_ACTIVITIES: z.coerce.number().int().positive().default(4),
  PIVOTRL_GPUS: z.coerce.number().int().positive().default(1),
  PIVOTRL_ALLOW_CPU: z.enum(['0', '1']).default('0'),
  PIVOTRL_SANDBOX_IMAGE: z.string().default(DEFAULT_IMAGE),
  PIVOTRL_SWE_SANDBOX_IMAGE: z.string().default(SWE_IMAGE),
  /** The payload codec's keys (workers/payload-keys.ts); payloads are stored in clear when unset. */
  PIVOTRL_PAYLOAD_KEYS: z
    .string()
    .optional()
    .superRefine((value, ctx) => {
      try {
        parsePayloadKeys(value, '');
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  /**
   * Seconds between two rounds of the CPU worker's periodic reaper, which removes stopped sandboxes of any owner and
   * host (sandboxes/reaper.ts); 0: no periodic reaper.
   */
  PIVOTRL_REAP_INTERVAL: z.coerce.number().int().min(0).max(86_400).default(60),
  /** Seconds a sandbox must have been stopped (its worker gone) before the periodic reaper removes it. */
  PIVOTRL_REAP_AFTER: z.coerce
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .default(600),
  /** Port of the liveness endpoint GET /healthz (workers/health.ts); none when unset. */
  PIVOTRL_HEALTH_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  /** Least severe level logged (workers/log.ts): trace, debug, info, warn, error, fatal or silent. */
  PIVOTRL_LOG_LEVEL: z.preprocess(
    (v) => (v === '' ? undefined : typeof v === 'string' ? v.toLowerCase() : v),
    z.enum(LOG_LEVELS).default('info'),
  ),
  /** host:port of the Prometheus endpoint GET /metrics (workers/runtime.ts), e.g. 127.0.0.1:9464; none when unset. */
  PIVOTRL_METRICS_ADDRESS: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z
      .string()
      .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'host:port, e.g. 127.0.0.1:9464 or 0.0.0.0:9464')
      .optional(),
  ),
});
export type WorkerEnv = z.infer<typeof WorkerEnv>;

/** What the Runtime's logs and metrics need (workers/runtime.ts); also read by the CLI's embedded workers. */
const TelemetryEnv = WorkerEnv.pick({ PIVOTRL_LOG_LEVEL: true, PIVOTRL_METRICS_ADDRESS: true });
export type TelemetryEnv = z.infer<typeof TelemetryEnv>;

/** The logs' and metrics' settings from the environment; a bad value throws, naming the variable. */
export function telemetryEnv(env: NodeJS.ProcessEnv = process.env): TelemetryEnv {
  const parsed = TelemetryEnv.safeParse(env);
  if (!parsed.success) throw new Error(formatZodIssues('environment', parsed.error));
  return parsed.data;
}

/** The worker's settings and its connection settings; a bad one is printed, naming the variable, and exits with status 2. */
export function workerEnv(): WorkerEnv & { temporal: TemporalSettings } {
  const parsed = WorkerEnv.safeParse(process.env);
  if (!parsed.success) {
    console.error(formatZodIssues('environment', parsed.error));
    process.exit(2);
  }
  return { ...parsed.data, temporal: temporalSettingsOrExit() };
}

/**
 * The SDK stops listening for shutdown signals at the first one. A second one would then kill the process before the
 * worker has closed its sandboxes and model threads, and it comes often: Ctrl-C reaches npx, tsx and the worker
 * alike, and tsx relays it once more. So signals are held off while the worker shuts down; a third forces the exit.
 */
export function holdSignalsWhileClosing(log: Logger): void {
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    received++;
    if (received >= 3) {
      log.error(`${signal} again: exiting without closing (leftover sandboxes are removed at the next start)`);
      process.exit(130);
    }
    if (received === 2) log.info(`${signal}: still shutting down (closing sandboxes and model threads)`);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, onSignal);
}
