// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection package does it:
//  - a candidate takes the Lease when it is free (no holder) or expired, and counts the transition;
//  - the leader renews renewTime every retryPeriod; if it cannot renew for renewDeadline it steps down (before its
//    lease could expire at leaseDuration, so two leaders never overlap while clocks tick at the same rate);
//  - expiry is judged by when this candidate *observed* the record last change, not by the renewTime written in it,
//    so clock skew between replicas does not matter;
//  - every write carries the resourceVersion read (optimistic concurrency): of two candidates, one wins, the other
//    gets a Conflict and tries again next period;
//  - on graceful stop the leader releases the Lease (empty holder) so a successor need not wait for expiry.
import type { KubeObject } from '../api/types.js';
import type { ObjectClient, ObjectRef } from '../kube/client.js';
import { isAlreadyExists, isConflict, isNotFound } from '../kube/errors.js';
import { LogKeys } from '../observability/keys.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Clock } from '../runtime/clock.js';
import { systemClock } from '../runtime/clock.js';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export type LeaseObject = KubeObject & { spec?: LeaseSpec };

export interface LeaderElectionConfig {
  namespace: string;
  name: string;
  /** Unique per replica: the pod name, or hostname-pid. */
  identity: string;
  /** How long a lease lasts without renewal. Default 10 s (written as whole seconds, at least 1). */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it steps down. Default 8 s; must be < leaseDurationMs. */
  renewDeadlineMs?: number;
  /** Time between attempts to acquire or renew. Default 2 s. */
  retryPeriodMs?: number;
  /** Release the Lease on stop(). Default true. */
  releaseOnStop?: boolean;
}

export interface LeaderCallbacks {
  onStartedLeading(): void | Promise<void>;
  onStoppedLeading(): void | Promise<void>;
  /** Another holder (or "" for none) was observed. */
  onNewLeader?(identity: string): void;
  /** This leader found its Lease gone (someone deleted it) and created it again. */
  onLeaseRecreated?(lease: LeaseObject): void;
}

export interface LeaderElectorDeps {
  client: ObjectClient;
  logger: Logger;
  metrics?: Metrics;
  clock?: Clock;
}

export const defaultLeaseDurationMs = 10_000;
export const defaultRenewDeadlineMs = 8_000;
export const defaultRetryPeriodMs = 2_000;

type Attempt = 'held' | 'other' | 'failed';

/** metav1.MicroTime: RFC 3339 with six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private leading = false;
  private stopped = true;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private poked = false;
  private lastRenew = 0;
  private observed: { record: string; at: number; holder: string } | undefined;
  private lease: LeaseObject | undefined;

  constructor(
    private readonly config: LeaderElectionConfig,
    private readonly callbacks: LeaderCallbacks,
    private readonly deps: LeaderElectorDeps,
  ) {
    this.clock = deps.clock ?? systemClock;
    this.leaseDurationMs = config.leaseDurationMs ?? defaultLeaseDurationMs;
    this.renewDeadlineMs = config.renewDeadlineMs ?? defaultRenewDeadlineMs;
    this.retryPeriodMs = config.retryPeriodMs ?? defaultRetryPeriodMs;
    if (this.renewDeadlineMs >= this.leaseDurationMs) throw new Error(`leader election: renewDeadline (${this.renewDeadlineMs} ms) must be shorter than leaseDuration (${this.leaseDurationMs} ms)`);
    this.logger = deps.logger.child({ [LogKeys.component]: 'leader-election', [LogKeys.lease]: `${config.namespace}/${config.name}`, [LogKeys.identity]: config.identity });
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder last observed ("" for none, undefined before the first read). */
  observedLeader(): string | undefined {
    return this.observed?.holder;
  }

  /** Tries to acquire or renew now instead of after the retry period (the Lease was just deleted: recreate it). */
  poke(): void {
    if (this.wake !== undefined) this.wake();
    else this.poked = true; // mid-attempt: the next sleep is skipped
  }

  /** Starts campaigning in the background. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** Stops campaigning; a leader releases the Lease (unless release is false, as if it crashed) and steps down. */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wake?.();
    await this.loop;
    // Also when the last attempt acquired the Lease just as stop() was called, before this replica started leading.
    const holding = this.lease?.spec?.holderIdentity === this.config.identity;
    if (holding && (options.release ?? this.config.releaseOnStop ?? true)) await this.release();
    if (this.leading) await this.stepDown('stopped');
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const attempt = await this.tryAcquireOrRenew();
      if (this.stopped) return;
      await this.afterAttempt(attempt);
      await this.sleep(this.retryPeriodMs);
    }
  }

  private async afterAttempt(attempt: Attempt): Promise<void> {
    const now = this.clock.now();
    if (attempt === 'held') {
      this.lastRenew = now;
      if (!this.leading) await this.startLeading();
      return;
    }
    if (!this.leading) return;
    if (attempt === 'other') await this.stepDown('another holder took the lease');
    else if (now - this.lastRenew >= this.renewDeadlineMs) await this.stepDown(`could not renew for ${now - this.lastRenew} ms`);
  }

  private async startLeading(): Promise<void> {
    this.leading = true;
    this.deps.metrics?.leader.set({ identity: this.config.identity }, 1);
    this.logger.info('Started leading');
    await this.invoke('onStartedLeading', () => this.callbacks.onStartedLeading());
  }

  private async stepDown(reason: string): Promise<void> {
    this.leading = false;
    this.deps.metrics?.leader.set({ identity: this.config.identity }, 0);
    this.logger.info('Stopped leading', { [LogKeys.reason]: reason });
    await this.invoke('onStoppedLeading', () => this.callbacks.onStoppedLeading());
  }

  private async invoke(name: string, callback: () => void | Promise<void>): Promise<void> {
    try {
      await callback();
    } catch (error) {
      this.logger.error(`Leader election callback ${name} failed`, { [LogKeys.error]: error });
    }
  }

  private ref(): ObjectRef {
    return { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: this.config.namespace, name: this.config.name };
  }

  private leaseSeconds(): number {
    return Math.max(1, Math.ceil(this.leaseDurationMs / 1000));
  }

  /** One round: create, renew or take over the Lease. Never throws. */
  private async tryAcquireOrRenew(): Promise<Attempt> {
    try {
      const current = await this.deps.client.find<LeaseObject>(this.ref());
      if (current === undefined) return await this.create();
      this.observe(current);
      const spec = current.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      if (holder !== '' && holder !== this.config.identity && !this.expired()) return 'other';
      return await this.write(current, holder === this.config.identity);
    } catch (error) {
      if (!isConflict(error)) this.logger.warn('Could not acquire or renew the lease', { [LogKeys.error]: error });
      return 'failed';
    }
  }

  private async create(): Promise<Attempt> {
    const now = microTime(this.clock.now());
    const lease: LeaseObject = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { namespace: this.config.namespace, name: this.config.name },
      spec: { holderIdentity: this.config.identity, leaseDurationSeconds: this.leaseSeconds(), acquireTime: now, renewTime: now, leaseTransitions: 0 },
    };
    try {
      const created = await this.deps.client.create(lease);
      this.observe(created);
      if (this.leading) {
        this.logger.warn('Recreated the leader Lease, which was deleted');
        await this.invoke('onLeaseRecreated', () => this.callbacks.onLeaseRecreated?.(created));
      }
      return 'held';
    } catch (error) {
      if (isAlreadyExists(error)) return 'failed';
      throw error;
    }
  }

  /** Renews our own lease, or takes over a free or expired one (counting a transition). */
  private async write(current: LeaseObject, renewing: boolean): Promise<Attempt> {
    const now = microTime(this.clock.now());
    const spec = current.spec ?? {};
    const transitions = spec.leaseTransitions ?? 0;
    const next: LeaseSpec = renewing
      ? { ...spec, leaseDurationSeconds: this.leaseSeconds(), renewTime: now }
      : { holderIdentity: this.config.identity, leaseDurationSeconds: this.leaseSeconds(), acquireTime: now, renewTime: now, leaseTransitions: transitions + 1 };
    const updated = await this.deps.client.replace<LeaseObject>({ ...current, spec: next });
    this.observe(updated);
    if (!renewing) this.logger.info('Acquired lease', { [LogKeys.holder]: spec.holderIdentity ?? '' });
    return 'held';
  }

  /** Remembers when the record last changed, by our clock. */
  private observe(lease: LeaseObject): void {
    this.lease = lease;
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const record = JSON.stringify([holder, spec.renewTime, spec.acquireTime, spec.leaseTransitions, spec.leaseDurationSeconds]);
    if (this.observed?.record === record) return;
    const previous = this.observed?.holder;
    this.observed = { record, at: this.clock.now(), holder };
    if (previous !== holder) this.callbacks.onNewLeader?.(holder);
  }

  private expired(): boolean {
    if (this.observed === undefined) return true;
    const seconds = this.lease?.spec?.leaseDurationSeconds ?? this.leaseSeconds();
    return this.observed.at + seconds * 1000 <= this.clock.now();
  }

  private async release(): Promise<void> {
    const lease = this.lease;
    if (lease === undefined) return;
    const now = microTime(this.clock.now());
    const spec: LeaseSpec = { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: lease.spec?.leaseTransitions ?? 0 };
    try {
      await this.deps.client.replace<LeaseObject>({ ...lease, spec });
      this.logger.info('Released lease');
    } catch (error) {
      if (!isNotFound(error)) this.logger.warn('Could not release the lease; successors wait for it to expire', { [LogKeys.error]: error });
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.poked) {
      this.poked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        this.clock.clearTimeout(handle);
        this.wake = undefined;
        resolve();
      };
      const handle = this.clock.setTimeout(done, ms);
      this.wake = done;
    });
  }
}
