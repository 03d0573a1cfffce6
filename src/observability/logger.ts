// The structured logger: JSON lines through winston, created by a factory and passed in (no module singleton).
import type { Writable } from 'node:stream';
import winston from 'winston';
import { LogKeys } from './keys.js';

export const LogLevels = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LogLevels)[number];

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level: LogLevel;
  /** Where JSON lines go; default stderr. */
  stream?: Writable;
  /** Fields on every line (e.g. {component: "suture"}). */
  base?: LogFields;
}

/** An Error as log fields: its message, and name, status and cause when present. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { [LogKeys.error]: String(error) };
  const fields: Record<string, unknown> = { [LogKeys.error]: error.message, [LogKeys.errorKind]: error.name };
  const cause: unknown = error.cause;
  if (cause !== undefined) fields.cause = cause instanceof Error ? cause.message : JSON.stringify(cause);
  return fields;
}

/** Errors in fields become plain data (winston's json format writes an Error as {}). */
function plainFields(fields: LogFields | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (fields === undefined) return out;
  for (const [key, value] of Object.entries(fields)) {
    if (value instanceof Error) Object.assign(out, errorFields(value));
    else out[key] = value;
  }
  return out;
}

function wrap(inner: winston.Logger): Logger {
  const at =
    (level: LogLevel) =>
    (message: string, fields?: LogFields): void => {
      inner.log(level, message, plainFields(fields));
    };
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    child: (fields) => wrap(inner.child(plainFields(fields))),
  };
}

/** A winston JSON logger: one object per line with level, message, timestamp and the fields. */
export function createLogger(options: LoggerOptions): Logger {
  const stream = options.stream ?? process.stderr;
  const inner = winston.createLogger({
    level: options.level,
    levels: { error: 0, warn: 1, info: 2, debug: 3 },
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    defaultMeta: plainFields(options.base),
    transports: [new winston.transports.Stream({ stream })],
  });
  return wrap(inner);
}

/** One recorded line of a memory logger. */
export interface LogEntry {
  level: LogLevel;
  message: string;
  fields: Record<string, unknown>;
}

/** A logger that keeps its lines in `entries` (for tests), sharing them with its children. */
export function createMemoryLogger(entries: LogEntry[] = [], base: LogFields = {}): Logger & { entries: LogEntry[] } {
  const at =
    (level: LogLevel) =>
    (message: string, fields?: LogFields): void => {
      entries.push({ level, message, fields: { ...plainFields(base), ...plainFields(fields) } });
    };
  return {
    entries,
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    child: (fields) => createMemoryLogger(entries, { ...base, ...fields }),
  };
}

/** A logger that drops everything. */
export function createNullLogger(): Logger {
  const drop = (): void => undefined;
  const logger: Logger = { error: drop, warn: drop, info: drop, debug: drop, child: () => logger };
  return logger;
}
