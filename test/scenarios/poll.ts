// A bounded poll: evaluate until the outcome is good or the time is up. Clock and sleep are injected for tests.

export interface Timing {
  /** Milliseconds, monotonic enough for deadlines. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realTiming: Timing = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface PollOptions {
  readonly withinMs: number;
  readonly intervalMs?: number;
}

export interface Attempt<T> {
  readonly ok: boolean;
  readonly value: T;
}

/**
 * Calls `attempt` at once, then every `intervalMs` until it reports ok or `withinMs` has passed; returns the last
 * attempt. Always at least one attempt; never more than withinMs / intervalMs + 2 (a bound even with a frozen clock).
 */
export async function pollWithin<T>(attempt: () => Promise<Attempt<T>>, options: PollOptions, timing: Timing): Promise<Attempt<T>> {
  const interval = Math.max(1, options.intervalMs ?? 250);
  const deadline = timing.now() + options.withinMs;
  const maxAttempts = Math.ceil(options.withinMs / interval) + 2;
  let last = await attempt();
  for (let i = 1; i < maxAttempts && !last.ok; i++) {
    const left = deadline - timing.now();
    if (left <= 0) break;
    await timing.sleep(Math.min(interval, left));
    last = await attempt();
  }
  return last;
}
