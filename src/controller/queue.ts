// A work queue of reconcile keys, as controller-runtime's (client-go's workqueue with a rate limiter):
//  - a key is queued at most once (de-duplication);
//  - a key is never handed to two workers at once: one added while it is processed is queued again once after done();
//  - failures re-queue a key with per-key exponential backoff (5 ms doubling up to 1000 s by default), reset by forget();
//  - addAfter() schedules a key (requeueAfter), keeping the earliest of several schedules;
//  - shutdown() wakes every waiting worker with undefined.
import { backoffDelay } from '../runtime/backoff.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import { systemClock } from '../runtime/clock.js';

export interface WorkQueueOptions {
  clock?: Clock;
  /** First retry delay. Default 5 ms. */
  baseDelayMs?: number;
  /** Cap of the retry delay. Default 1000 s. */
  maxDelayMs?: number;
  /** Told the number of waiting keys whenever it changes (for the workqueue depth gauge). */
  onDepth?: (depth: number) => void;
}

export const defaultBaseDelayMs = 5;
export const defaultMaxDelayMs = 1_000_000;

interface Delayed {
  readyAt: number;
  handle: TimerHandle;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  /** Keys that need processing: queued, or queued again while processing. */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly delayed = new Map<string, Delayed>();
  private readonly failures = new Map<string, number>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private readonly clock: Clock;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly onDepth: (depth: number) => void;
  private down = false;

  constructor(options: WorkQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.baseDelayMs = options.baseDelayMs ?? defaultBaseDelayMs;
    this.maxDelayMs = options.maxDelayMs ?? defaultMaxDelayMs;
    this.onDepth = options.onDepth ?? ((): void => undefined);
  }

  /** Queues `key` unless it is already waiting; a key being processed is queued again after done(). */
  add(key: string): void {
    if (this.down || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.queue.push(key);
    this.dispatch();
  }

  /** Queues `key` after `ms`; an earlier schedule for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.down) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const readyAt = this.clock.now() + ms;
    const existing = this.delayed.get(key);
    if (existing !== undefined && existing.readyAt <= readyAt) return;
    if (existing !== undefined) this.clock.clearTimeout(existing.handle);
    const handle = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { readyAt, handle });
  }

  /** Queues `key` after its backoff delay and counts a failure; returns the delay. */
  addRateLimited(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const delay = backoffDelay(failures, this.baseDelayMs, this.maxDelayMs);
    this.addAfter(key, delay);
    return delay;
  }

  /** Resets the failure count of `key` (after a success or a terminal error). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Failures counted for `key` since the last forget(). */
  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key, marked as processing until done(); undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    if (this.down) return Promise.resolve(undefined);
    const key = this.take();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks `key` processed; if it was added meanwhile, it is queued again. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.down || !this.dirty.has(key)) return;
    this.queue.push(key);
    this.dispatch();
  }

  /** Keys waiting to be processed (not counting keys being processed or delayed). */
  len(): number {
    return this.queue.length;
  }

  isProcessing(key: string): boolean {
    return this.processing.has(key);
  }

  isShutDown(): boolean {
    return this.down;
  }

  /** Stops the queue: cancels delayed keys, drops waiting ones and wakes every waiting get() with undefined. */
  shutdown(): void {
    if (this.down) return;
    this.down = true;
    for (const { handle } of this.delayed.values()) this.clock.clearTimeout(handle);
    this.delayed.clear();
    this.queue.length = 0;
    this.dirty.clear();
    this.onDepth(0);
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }

  private take(): string | undefined {
    const key = this.queue.shift();
    if (key === undefined) return undefined;
    this.dirty.delete(key);
    this.processing.add(key);
    this.onDepth(this.queue.length);
    return key;
  }

  private dispatch(): void {
    while (this.waiters.length > 0 && this.queue.length > 0) {
      const waiter = this.waiters.shift();
      waiter?.(this.take());
    }
    this.onDepth(this.queue.length);
  }
}
