// Retry delays for everything that retries: the work queue, supervised informers.

/** The delay before retry number `failures` (0-based): base·2^failures, capped. */
export function backoffDelay(failures: number, baseMs: number, maxMs: number): number {
  const exponent = Math.min(failures, 62);
  const delay = baseMs * 2 ** exponent;
  return Number.isFinite(delay) ? Math.min(delay, maxMs) : maxMs;
}
