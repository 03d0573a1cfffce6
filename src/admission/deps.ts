// What the admission edge needs from the rest of the program, as small interfaces so tests pass plain fakes.
// The logger is structurally the observability Logger's level methods (src/observability/logger.ts satisfies it).

export type LogFields = Readonly<Record<string, unknown>>;

export interface EdgeLogger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
}

/** Whether the replica may serve: false with a reason until the caches have synced (docs/development.md, Code principles 4). */
export type Readiness = { ready: true } | { ready: false; reason: string };

/** Milliseconds from a monotonic clock, for durations (performance.now in production). */
export type MonotonicClock = () => number;

/** Log keys the edge writes; the same names as src/observability/keys.ts. */
export const EdgeLogKeys = {
  decisionId: 'decisionId',
  verdict: 'verdict',
  operation: 'operation',
  subResource: 'subResource',
  dryRun: 'dryRun',
  durationMs: 'durationMs',
  kind: 'kind',
  namespace: 'namespace',
  name: 'name',
  subject: 'subject',
  component: 'component',
  status: 'status',
  reason: 'reason',
  error: 'error',
  phase: 'phase',
  path: 'path',
  policy: 'policy',
  suppressed: 'suppressed',
} as const;

/** An Error as log fields. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
