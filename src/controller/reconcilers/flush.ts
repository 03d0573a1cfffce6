// Writes the counts the admission handler reported (policy decisions, exception uses) into status, periodically and
// not on every request. Runs on EVERY replica: each adds its own counts to what status says. Each write reads the
// object fresh and patches that resourceVersion only: when another replica (or a reconciler) wrote meanwhile, the API
// server answers Conflict and the write is taken again on the new version, so no replica's increment is lost.
// Counts that cannot be written are kept for the next flush.
import type { SutureExceptionStatus, SuturePolicyStatus } from '../../api/types.js';
import type { ObjectClient } from '../../kube/client.js';
import { isConflict, isNotFound } from '../../kube/errors.js';
import { LogKeys } from '../../observability/keys.js';
import type { Logger } from '../../observability/logger.js';
import type { Clock, TimerHandle } from '../../runtime/clock.js';
import { API_VERSION } from '../../api/constants.js';
import type { DecisionDelta, ExceptionStore, ExceptionUses, PolicyStore } from './stores.js';

export const DEFAULT_FLUSH_INTERVAL_MS = 30_000;
/** Writes of one object's counts per flush when other writers keep changing it (then kept for the next flush). */
const CONFLICT_ATTEMPTS = 5;

export interface StatusFlusherDeps {
  client: ObjectClient;
  policies: PolicyStore;
  exceptions: ExceptionStore;
  logger: Logger;
  clock: Clock;
}

type Decisions = NonNullable<SuturePolicyStatus['decisions']>;

/** The decisions in status after adding `delta`. */
export function addDecisions(current: Decisions | undefined, delta: DecisionDelta): Decisions {
  const lastDenied = [current?.lastDenied, delta.lastDenied].filter((r) => r !== undefined).sort((a, b) => a.at.localeCompare(b.at)).pop();
  return {
    denied: (current?.denied ?? 0) + delta.denied,
    warned: (current?.warned ?? 0) + delta.warned,
    audited: (current?.audited ?? 0) + delta.audited,
    ...(lastDenied === undefined ? {} : { lastDenied }),
  };
}

export class StatusFlusher {
  private timer: { handle: TimerHandle } | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly deps: StatusFlusherDeps,
    private readonly intervalMs = DEFAULT_FLUSH_INTERVAL_MS,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  /** Stops the timer and writes what is left. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.deps.clock.clearTimeout(this.timer.handle);
    this.timer = undefined;
    await this.running;
    await this.flush();
  }

  /** Writes every pending count now. Never throws: what fails is kept for the next flush. */
  async flush(): Promise<void> {
    for (const [name, delta] of this.deps.policies.takeDecisions()) {
      if (!(await this.flushOne('SuturePolicy', name, (s: SuturePolicyStatus | undefined) => ({ decisions: addDecisions(s?.decisions, delta) })))) this.deps.policies.restoreDecisions(name, delta);
    }
    for (const [name, uses] of this.deps.exceptions.takeUses()) {
      if (!(await this.flushOne('SutureException', name, (s: SutureExceptionStatus | undefined) => addUses(s, uses)))) this.deps.exceptions.restoreUses(name, uses);
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    const handle = this.deps.clock.setTimeout(() => {
      this.running = this.flush().finally(() => {
        this.running = undefined;
        this.schedule();
      });
    }, this.intervalMs);
    this.timer = { handle };
  }

  /** True when written or when the object is gone (its counts go with it). */
  private async flushOne<S>(kind: 'SuturePolicy' | 'SutureException', name: string, patchOf: (status: S | undefined) => Record<string, unknown>): Promise<boolean> {
    const ref = { apiVersion: API_VERSION, kind, name };
    for (let attempt = 1; ; attempt++) {
      try {
        const current = await this.deps.client.find<{ apiVersion: string; kind: string; metadata: { resourceVersion?: string }; status?: S }>(ref);
        if (current === undefined) return true;
        const { resourceVersion } = current.metadata;
        await this.deps.client.patchStatus(ref, patchOf(current.status), resourceVersion === undefined ? {} : { resourceVersion });
        return true;
      } catch (error) {
        if (isNotFound(error)) return true;
        if (isConflict(error) && attempt < CONFLICT_ATTEMPTS) continue;
        this.deps.logger.warn(`Could not write counts to ${kind} status; keeping them for the next flush`, { [LogKeys.kind]: kind, [LogKeys.name]: name, [LogKeys.error]: error });
        return false;
      }
    }
  }
}

function addUses(status: SutureExceptionStatus | undefined, uses: ExceptionUses): Record<string, unknown> {
  const last = status?.lastUsed;
  return { uses: (status?.uses ?? 0) + uses.uses, lastUsed: last === undefined || last < uses.lastUsed ? uses.lastUsed : last };
}
