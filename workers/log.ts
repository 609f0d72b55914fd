// The workers' structured logs (pino): JSON lines when stdout is not a terminal, readable lines when it is; and the
// Temporal SDK's Logger interface over it, so the SDK's and Rust core's logs come out the same way.
import { pino, type Level, type Logger as Pino } from 'pino';
import type { LogLevel, LogMetadata, Logger as SdkLogger } from '@temporalio/common';

export type Logger = Pino;

/** PIVOTRL_LOG_LEVEL's values: pino's levels, lowest first, and "silent". */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const OWN_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);

/** One JSON log line as a person reads it: `12:03:04.567 INFO  [cpu-worker] message key=value ...`. */
export function readableLine(json: string): string {
  const entry = JSON.parse(json) as Record<string, unknown>;
  const time = new Date(Number(entry.time)).toISOString().slice(11, 23);
  const level = (LEVEL_NAMES[Number(entry.level)] ?? String(entry.level)).padEnd(5);
  const name = entry.name ? ` [${String(entry.name)}]` : '';
  const fields = Object.entries(entry)
    .filter(([k]) => !OWN_FIELDS.has(k))
    .map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('');
  return `${time} ${level}${name} ${String(entry.msg ?? '')}${fields}\n`;
}

/**
 * A logger at `level` (default info; workers take PIVOTRL_LOG_LEVEL, workers/env.ts). `readable` (default: stdout is a
 * terminal) prints readable lines instead of JSON; `write` replaces stdout (tests).
 */
export function createLogger(o: { level?: LogLevelName; readable?: boolean; write?: (line: string) => void; name?: string } = {}): Logger {
  const level = o.level ?? 'info';
  const write = o.write ?? ((line: string) => void process.stdout.write(line));
  const readable = o.readable ?? process.stdout.isTTY === true;
  return pino(
    { level, name: o.name, base: { pid: process.pid }, serializers: { err: pino.stdSerializers.err } },
    { write: (line: string) => write(readable ? readableLine(line) : line) },
  );
}

const PINO_LEVEL: Record<LogLevel, Level> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

/** The SDK level at or above which pino's `level` lets messages through (so core does not send what pino drops). */
export function sdkLevelOf(level: LogLevelName): LogLevel {
  if (level === 'fatal' || level === 'silent') return 'ERROR';
  return level.toUpperCase() as LogLevel;
}

/** A metadata value as a JSON field: errors with their message and stack, bigints (core's timestamps) as strings. */
const field = (v: unknown) => (v instanceof Error ? pino.stdSerializers.err(v) : typeof v === 'bigint' ? String(v) : v);

/** SDK warnings about what this project does on purpose: GPU workers run activities only. */
const EXPECTED = /^No workflows registered, not polling for workflow tasks$/;

/**
 * The Temporal SDK's Logger over pino. Metadata becomes fields (symbol keys, such as the core's timestamp, are
 * dropped); `demoteInfo` logs INFO at DEBUG (the workflow bundler's webpack listing), as are EXPECTED warnings.
 */
export function sdkLogger(logger: Logger, o: { demoteInfo?: boolean } = {}): SdkLogger {
  const log = (level: LogLevel, message: string, meta?: LogMetadata) => {
    const to = (o.demoteInfo && level === 'INFO') || EXPECTED.test(message) ? 'debug' : PINO_LEVEL[level];
    if (!logger.isLevelEnabled(to)) return;
    const fields = meta ? Object.fromEntries(Object.entries(meta).map(([k, v]) => [k, field(v)])) : {};
    logger[to](fields, message);
  };
  return {
    log,
    trace: (m, meta) => log('TRACE', m, meta),
    debug: (m, meta) => log('DEBUG', m, meta),
    info: (m, meta) => log('INFO', m, meta),
    warn: (m, meta) => log('WARN', m, meta),
    error: (m, meta) => log('ERROR', m, meta),
  };
}
