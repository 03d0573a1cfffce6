// The reconcile runtime, as controller-runtime's: one controller per kind, a work queue of keys, N workers. Each
// reconcile gets an id, a logger carrying it, exception recovery and metrics. A reconcile that throws is retried
// with per-key backoff; a TerminalError is logged and not retried; {requeueAfter} schedules the key again.
import { randomUUID } from 'node:crypto';
import { LogKeys } from '../observability/keys.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Clock } from '../runtime/clock.js';
import { systemClock } from '../runtime/clock.js';
import type { InformerEvent } from '../state/informer.js';
import { WorkQueue } from './queue.js';

/** An error retrying cannot fix (invalid spec, a reference to something that will never exist): not requeued. */
export class TerminalError extends Error {
  override get name(): string {
    return 'TerminalError';
  }
}

export interface ReconcileContext {
  /** Unique per reconcile; in every log line of it. */
  readonly id: string;
  readonly logger: Logger;
  /** Failures of this key since its last success (0 on a first try). */
  readonly attempt: number;
  readonly clock: Clock;
}

export interface ReconcileResult {
  /** Reconcile this key again after this many milliseconds (e.g. at a lease's expiry). */
  requeueAfter?: number;
}

export interface Reconciler {
  /** Reads current state for `key` (namespace/name) and converges it. Throw to retry with backoff. */
  reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void>;
}

export const ReconcileResults = { Success: 'success', Requeue: 'requeue', Error: 'error', Terminal: 'terminal' } as const;
export type ReconcileResultLabel = (typeof ReconcileResults)[keyof typeof ReconcileResults];

export interface ControllerDeps {
  logger: Logger;
  metrics?: Metrics;
  clock?: Clock;
  /** Reconcile ids; default random UUIDs. */
  newId?: () => string;
}

export interface ControllerOptions {
  /** Names the controller in logs and metrics, e.g. "suturelease". */
  name: string;
  /** Parallel workers; one key is still never reconciled by two at once. Default 1. */
  workers?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export class Controller {
  readonly queue: WorkQueue;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly newId: () => string;
  private workers: Promise<void>[] = [];

  constructor(
    private readonly reconciler: Reconciler,
    private readonly deps: ControllerDeps,
    private readonly options: ControllerOptions,
  ) {
    this.clock = deps.clock ?? systemClock;
    this.newId = deps.newId ?? randomUUID;
    this.logger = deps.logger.child({ [LogKeys.controller]: options.name });
    this.queue = new WorkQueue({
      clock: this.clock,
      ...(options.baseDelayMs === undefined ? {} : { baseDelayMs: options.baseDelayMs }),
      ...(options.maxDelayMs === undefined ? {} : { maxDelayMs: options.maxDelayMs }),
      onDepth: (depth) => deps.metrics?.workqueueDepth.set({ controller: options.name }, depth),
    });
  }

  get name(): string {
    return this.options.name;
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  /** An informer handler that enqueues the keys `map` derives from an event (default: the event's own key). */
  handler<E extends InformerEvent>(map: (event: E) => readonly string[] = (event) => [event.key]): (event: E) => void {
    return (event) => {
      for (const key of map(event)) this.queue.add(key);
    };
  }

  /** Starts the workers. */
  start(): void {
    if (this.workers.length > 0) return;
    const count = Math.max(1, this.options.workers ?? 1);
    this.workers = Array.from({ length: count }, () => this.work());
    this.logger.info('Started controller', { workers: count });
  }

  /** Shuts the queue down and waits for reconciles in progress to finish. */
  async stop(): Promise<void> {
    this.queue.shutdown();
    await Promise.all(this.workers);
    this.workers = [];
    this.logger.info('Stopped controller');
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.processOne(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  /** Runs one reconcile; never throws. */
  private async processOne(key: string): Promise<ReconcileResultLabel> {
    const id = this.newId();
    const logger = this.logger.child({ [LogKeys.key]: key, [LogKeys.reconcileId]: id });
    const started = this.clock.now();
    const ctx: ReconcileContext = { id, logger, attempt: this.queue.numRequeues(key), clock: this.clock };
    let result: ReconcileResultLabel;
    try {
      result = this.succeeded(key, await this.reconciler.reconcile(key, ctx), logger);
    } catch (error) {
      result = this.failed(key, error, logger);
    }
    this.deps.metrics?.reconciles.inc({ controller: this.options.name, result });
    this.deps.metrics?.reconcileDuration.observe({ controller: this.options.name }, (this.clock.now() - started) / 1000);
    return result;
  }

  private succeeded(key: string, outcome: ReconcileResult | void, logger: Logger): ReconcileResultLabel {
    this.queue.forget(key);
    const after = outcome?.requeueAfter;
    if (after === undefined || !(after > 0)) {
      logger.debug('Reconciled');
      return ReconcileResults.Success;
    }
    this.queue.addAfter(key, after);
    logger.debug('Reconciled; requeued', { [LogKeys.requeueAfterMs]: after });
    return ReconcileResults.Requeue;
  }

  private failed(key: string, error: unknown, logger: Logger): ReconcileResultLabel {
    if (error instanceof TerminalError) {
      this.queue.forget(key);
      logger.error('Reconcile failed with a terminal error; not retrying', { [LogKeys.error]: error });
      return ReconcileResults.Terminal;
    }
    const delayMs = this.queue.addRateLimited(key);
    this.deps.metrics?.workqueueRetries.inc({ controller: this.options.name });
    logger.error('Reconcile failed; retrying', { [LogKeys.error]: error, [LogKeys.delayMs]: delayMs, [LogKeys.attempt]: this.queue.numRequeues(key) });
    return ReconcileResults.Error;
  }
}
