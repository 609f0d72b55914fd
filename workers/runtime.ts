// The Temporal Runtime of a worker process, installed once: its logs through the pino logger (workers/log.ts) and,
// when PIVOTRL_METRICS_ADDRESS is set, the SDK's and the campaigns' metrics on a Prometheus endpoint (/metrics).
import { Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { IllegalStateError } from '@temporalio/common';
import { createLogger, sdkLevelOf, sdkLogger, type Logger } from './log';
import { telemetryEnv, type TelemetryEnv } from './env';

let installed: Logger | undefined;

/**
 * Installs the Runtime with this process's logger and metrics exporter (settings: `env`, default the environment's
 * PIVOTRL_LOG_LEVEL and PIVOTRL_METRICS_ADDRESS) before any connection or worker exists; later calls return the
 * first one's. Returns the logger every worker line of this process goes to.
 */
export function installRuntime(env: Partial<TelemetryEnv> = telemetryEnv()): Logger {
  if (installed) return installed;
  const logger = createLogger({ level: env.PIVOTRL_LOG_LEVEL });
  const level = sdkLevelOf(env.PIVOTRL_LOG_LEVEL ?? 'info');
  try {
    Runtime.install({
      logger: sdkLogger(logger),
      telemetryOptions: {
        // Rust core's logs come through the same logger; at info, only its warnings (as the SDK's default filter).
        logging: { filter: makeTelemetryFilterString({ core: level === 'INFO' ? 'WARN' : level }), forward: {} },
        ...(env.PIVOTRL_METRICS_ADDRESS && {
          metrics: { prometheus: { bindAddress: env.PIVOTRL_METRICS_ADDRESS, countersTotalSuffix: true } },
        }),
      },
    });
    if (env.PIVOTRL_METRICS_ADDRESS) logger.info(`metrics on http://${env.PIVOTRL_METRICS_ADDRESS}/metrics`);
  } catch (err) {
    if (env.PIVOTRL_METRICS_ADDRESS && /metrics exporter/.test(String(err)))
      throw new Error(`PIVOTRL_METRICS_ADDRESS=${env.PIVOTRL_METRICS_ADDRESS}: ${(err as Error).message}`);
    if (!(err instanceof IllegalStateError)) throw err;
    // Something (e.g. a test's Temporal server) started the default Runtime first: its logger and no metrics stay.
    logger.warn('the Temporal Runtime was already running: its logs and metrics settings stay as they were');
  }
  installed = logger;
  return logger;
}

/** This process's logger (installing the Runtime with the environment's settings if nothing did yet). */
export const workerLogger = (): Logger => installRuntime();
