// Kubernetes Events (core/v1) on the objects Suture judges and manages, aggregated so a storm of denials does not
// flood the API server. As client-go's EventCorrelator does in spirit:
//  - events are grouped by involved object + type + reason; the first of a group is written at once, later ones in
//    the aggregation window only bump `count` (and show the latest message), written at most once per flush interval;
//  - a token bucket caps all writes (creates and updates); a write without a token is postponed, never lost, unless
//    more than maxGroups groups are pending (then it is dropped and counted);
//  - record() never throws and never blocks: failures are logged and counted.
import { randomBytes } from 'node:crypto';
import type { KubeObject } from '../api/types.js';
import type { Clock } from '../runtime/clock.js';
import { systemClock } from '../runtime/clock.js';
import type { ObjectClient } from '../kube/client.js';
import { isNotFound } from '../kube/errors.js';
import { LogKeys } from './keys.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export const EventTypes = { Normal: 'Normal', Warning: 'Warning' } as const;
export type EventType = (typeof EventTypes)[keyof typeof EventTypes];

export interface EventSpec {
  type: EventType;
  /** UpperCamelCase, e.g. Denied, Granted, Compiled. */
  reason: string;
  /** One line a human can act on; truncated to 1024 characters. */
  message: string;
  /** What was done, e.g. Admit, Reconcile. */
  action?: string;
}

/** A core/v1 Event as Suture writes it. */
export interface CoreEvent extends KubeObject {
  involvedObject: { apiVersion: string; kind: string; namespace?: string; name: string; uid?: string; resourceVersion?: string };
  reason: string;
  message: string;
  type: EventType;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  source: { component: string };
  reportingComponent: string;
  reportingInstance: string;
  action?: string;
}

/** Where Events go: the API server (objectClientEventSink) or a test double. */
export interface EventSink {
  create(event: CoreEvent): Promise<void>;
  /** Updates count, message and lastTimestamp of an existing Event; rejects with NotFound if it expired. */
  update(namespace: string, name: string, change: Pick<CoreEvent, 'count' | 'message' | 'lastTimestamp'>): Promise<void>;
}

export interface EventRecorder {
  /** Records an event on `target`; returns at once. */
  record(target: KubeObject, event: EventSpec): void;
  /** Writes every pending aggregate now and waits for writes in flight. */
  flush(): Promise<void>;
}

export interface EventRecorderOptions {
  /** source.component / reportingComponent, e.g. "suture". */
  component: string;
  /** reportingInstance: the pod name. */
  instance: string;
  /** Similar events within this window aggregate into one Event. Default 10 min. */
  windowMs?: number;
  /** Minimum time between updates of one aggregated Event. Default 10 s. */
  flushIntervalMs?: number;
  /** Token bucket: burst and refill per second for all writes. Default 25 and 1/s. */
  burst?: number;
  refillPerSecond?: number;
  /** Cap on event groups tracked at once. Default 4096. */
  maxGroups?: number;
}

export interface EventRecorderDeps {
  sink: EventSink;
  logger: Logger;
  metrics?: Metrics;
  clock?: Clock;
}

interface Group {
  namespace: string;
  name: string;
  event: CoreEvent;
  /** Count already written; undefined until the Event exists. */
  written: number | undefined;
  firstAt: number;
  timer: unknown;
  /** A write is in flight (a second create must wait for the first). */
  sending: boolean;
}

const maxMessage = 1024;

function groupKey(target: KubeObject, event: EventSpec): string {
  const meta = target.metadata;
  const id = meta.uid ?? `${target.apiVersion}/${target.kind}/${meta.namespace ?? ''}/${meta.name ?? ''}`;
  return `${id}|${event.type}|${event.reason}`;
}

/** Event name as kubectl and client-go make it: `<object>.<unique hex>`, within 253 characters. */
function eventName(target: KubeObject, now: number): string {
  const base = (target.metadata.name ?? 'object').slice(0, 200);
  return `${base}.${now.toString(16)}${randomBytes(4).toString('hex')}`;
}

class AggregatingRecorder implements EventRecorder {
  private readonly groups = new Map<string, Group>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly clock: Clock;
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly deps: EventRecorderDeps,
    private readonly options: Required<EventRecorderOptions>,
  ) {
    this.clock = deps.clock ?? systemClock;
    this.tokens = options.burst;
    this.refilledAt = this.clock.now();
  }

  record(target: KubeObject, spec: EventSpec): void {
    const now = this.clock.now();
    const key = groupKey(target, spec);
    const existing = this.groups.get(key);
    if (existing !== undefined && now - existing.firstAt < this.options.windowMs) {
      this.aggregate(existing, spec, now);
      return;
    }
    if (existing !== undefined) this.forget(key, existing);
    if (!this.makeRoom(now)) {
      this.deps.metrics?.eventsDropped.inc({ reason: 'overflow' });
      return;
    }
    const group = this.newGroup(target, spec, now);
    this.groups.set(key, group);
    this.write(group);
  }

  async flush(): Promise<void> {
    for (const group of this.groups.values()) {
      if (group.timer !== undefined) this.clock.clearTimeout(group.timer);
      group.timer = undefined;
      if (group.written !== group.event.count && !group.sending) this.track(this.send(group));
    }
    await Promise.all([...this.inflight]);
  }

  private newGroup(target: KubeObject, spec: EventSpec, now: number): Group {
    const meta = target.metadata;
    const namespace = meta.namespace !== undefined && meta.namespace !== '' ? meta.namespace : 'default';
    const name = eventName(target, now);
    const stamp = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const event: CoreEvent = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { namespace, name },
      involvedObject: {
        apiVersion: target.apiVersion,
        kind: target.kind,
        name: meta.name ?? '',
        ...(meta.namespace === undefined ? {} : { namespace: meta.namespace }),
        ...(meta.uid === undefined ? {} : { uid: meta.uid }),
        ...(meta.resourceVersion === undefined ? {} : { resourceVersion: meta.resourceVersion }),
      },
      reason: spec.reason,
      message: spec.message.slice(0, maxMessage),
      type: spec.type,
      count: 1,
      firstTimestamp: stamp,
      lastTimestamp: stamp,
      source: { component: this.options.component },
      reportingComponent: this.options.component,
      reportingInstance: this.options.instance,
      ...(spec.action === undefined ? {} : { action: spec.action }),
    };
    return { namespace, name, event, written: undefined, firstAt: now, timer: undefined, sending: false };
  }

  private aggregate(group: Group, spec: EventSpec, now: number): void {
    group.event.count += 1;
    group.event.message = spec.message.slice(0, maxMessage);
    group.event.lastTimestamp = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
    this.schedule(group, this.options.flushIntervalMs);
  }

  private schedule(group: Group, ms: number): void {
    if (group.timer !== undefined) return;
    group.timer = this.clock.setTimeout(() => {
      group.timer = undefined;
      this.write(group);
    }, ms);
  }

  /** Writes now if a token is available, else later. */
  private write(group: Group): void {
    if (group.sending) {
      this.schedule(group, this.options.flushIntervalMs);
      return;
    }
    if (!this.takeToken()) {
      this.schedule(group, Math.ceil(1000 / this.options.refillPerSecond));
      return;
    }
    this.track(this.send(group));
  }

  private async send(group: Group): Promise<void> {
    const count = group.event.count;
    group.sending = true;
    try {
      if (group.written === undefined) await this.deps.sink.create({ ...group.event });
      else await this.update(group);
      group.written = count;
    } catch (error) {
      this.deps.metrics?.eventsDropped.inc({ reason: 'error' });
      this.deps.logger.warn('Could not write Event', { [LogKeys.error]: error, [LogKeys.eventReason]: group.event.reason, [LogKeys.name]: group.event.involvedObject.name });
    } finally {
      group.sending = false;
    }
  }

  private async update(group: Group): Promise<void> {
    const { count, message, lastTimestamp } = group.event;
    try {
      await this.deps.sink.update(group.namespace, group.name, { count, message, lastTimestamp });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      // The Event expired (the API server keeps Events for an hour by default): write it anew.
      await this.deps.sink.create({ ...group.event });
    }
  }

  private track(write: Promise<void>): void {
    this.inflight.add(write);
    void write.finally(() => this.inflight.delete(write));
  }

  private takeToken(): boolean {
    const now = this.clock.now();
    this.tokens = Math.min(this.options.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.options.refillPerSecond);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Drops expired, fully written groups when at the cap; false if still full. */
  private makeRoom(now: number): boolean {
    if (this.groups.size < this.options.maxGroups) return true;
    for (const [key, group] of this.groups) {
      if (now - group.firstAt >= this.options.windowMs && group.written === group.event.count) this.forget(key, group);
    }
    return this.groups.size < this.options.maxGroups;
  }

  private forget(key: string, group: Group): void {
    if (group.timer !== undefined) this.clock.clearTimeout(group.timer);
    if (group.written !== group.event.count && !group.sending) this.track(this.send(group));
    this.groups.delete(key);
  }
}

export function createEventRecorder(deps: EventRecorderDeps, options: EventRecorderOptions): EventRecorder {
  return new AggregatingRecorder(deps, {
    windowMs: 10 * 60_000,
    flushIntervalMs: 10_000,
    burst: 25,
    refillPerSecond: 1,
    maxGroups: 4096,
    ...options,
  });
}

/** Writes core/v1 Events through an ObjectClient. */
export function objectClientEventSink(client: ObjectClient): EventSink {
  return {
    create: async (event) => {
      await client.create(event);
    },
    update: async (namespace, name, change) => {
      await client.mergePatch({ apiVersion: 'v1', kind: 'Event', namespace, name }, change);
    },
  };
}
