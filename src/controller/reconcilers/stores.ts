// What the admission handler reads on EVERY replica: compiled policies, leases with their grant, compiled
// exceptions. Each store is fed by an informer and compiles on the replica itself, so a follower serves the same
// decisions as the leader; only the status-writing reconcilers are leader-only. The stores also count what the
// handler reports (policy decisions, exception uses) until a StatusFlusher writes the counts into status.
import type { FieldError, SutureException, SutureLease, SuturePolicy } from '../../api/types.js';
import { type CompiledException, type CompiledPolicy, compileException, compilePolicy } from '../../core/policy.js';
import type { LeaseState } from '../../core/types.js';
import { DEFAULT_MAX_EXCEPTION_SECONDS } from '../../core/validate.js';
import { LogKeys } from '../../observability/keys.js';
import type { Logger } from '../../observability/logger.js';
import type { Clock } from '../../runtime/clock.js';
import type { Informer, InformerEvent } from '../../state/informer.js';
import type { LeaseChange } from './predicates.js';

type Listener<C = undefined> = (key: string, change: C) => void;

/** Listeners told the key of every object that changed (for reconcilers that depend on a store). */
class Listeners<C = undefined> {
  private readonly set = new Set<Listener<C>>();

  add(listener: Listener<C>): () => void {
    this.set.add(listener);
    return () => this.set.delete(listener);
  }

  notify(key: string, change: C, logger: Logger): void {
    for (const listener of this.set) {
      try {
        listener(key, change);
      } catch (error) {
        logger.error('Store listener failed', { [LogKeys.key]: key, [LogKeys.error]: error });
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------ policies

/** Whether the object has the generation a store compiled (a status-only write): generation predicates. */
function sameGeneration(compiled: number | undefined, object: { metadata: { generation?: number } }): boolean {
  return compiled !== undefined && compiled === object.metadata.generation;
}

/** A policy as the store holds it: the newest version's errors, and the version in force (last valid). */
export interface PolicyState {
  name: string;
  generation?: number;
  /** Errors of the newest version; empty when it compiled. */
  errors: FieldError[];
  /** The compiled version in force: the newest if valid, else the last valid one this replica saw (if any). */
  inForce?: CompiledPolicy;
}

export type PolicyVerdict = 'deny' | 'warn' | 'audit';

export interface PolicyDecisionRecord {
  at: string;
  subject: string;
  request: string;
  decisionId: string;
}

/** Decisions counted for one policy since the last flush. */
export interface DecisionDelta {
  denied: number;
  warned: number;
  audited: number;
  lastDenied?: PolicyDecisionRecord;
}

const VERDICT_FIELD: Record<PolicyVerdict, 'denied' | 'warned' | 'audited'> = { deny: 'denied', warn: 'warned', audit: 'audited' };

export class PolicyStore {
  private readonly states = new Map<string, PolicyState>();
  private inForce: CompiledPolicy[] | undefined;
  private readonly listeners = new Listeners();
  private deltas = new Map<string, DecisionDelta>();

  constructor(
    readonly informer: Informer<SuturePolicy>,
    private readonly logger: Logger,
  ) {
    informer.onEvent((event) => this.onEvent(event));
  }

  hasSynced(): boolean {
    return this.informer.hasSynced();
  }

  /** The compiled policies in force, by name. */
  /** The policies in force, sorted by name; the same array until a policy changes (decisions index it by identity). */
  policies(): CompiledPolicy[] {
    this.inForce ??= [...this.states.values()].flatMap((s) => (s.inForce === undefined ? [] : [s.inForce])).sort((a, b) => a.name.localeCompare(b.name));
    return this.inForce;
  }

  get(name: string): CompiledPolicy | undefined {
    return this.states.get(name)?.inForce;
  }

  state(name: string): PolicyState | undefined {
    return this.states.get(name);
  }

  /**
   * Called with the policy name after a policy was added, deleted or changed its spec (generation): not after status
   * writes (Ready, decision counts), which change nothing the store compiles.
   */
  onChange(listener: Listener): () => void {
    return this.listeners.add(listener);
  }

  /** The admission handler reports a deny, warn or audit of this policy (DecisionCounters). */
  countPolicyDecision(policy: string, verdict: PolicyVerdict, record: PolicyDecisionRecord): void {
    const delta = this.deltas.get(policy) ?? { denied: 0, warned: 0, audited: 0 };
    delta[VERDICT_FIELD[verdict]] += 1;
    if (verdict === 'deny' && (delta.lastDenied === undefined || delta.lastDenied.at <= record.at)) delta.lastDenied = record;
    this.deltas.set(policy, delta);
  }

  /** Hands over the counts since the last call (the flusher writes them; on failure it gives them back). */
  takeDecisions(): Map<string, DecisionDelta> {
    const taken = this.deltas;
    this.deltas = new Map();
    return taken;
  }

  /** Puts counts back that could not be written. */
  restoreDecisions(policy: string, delta: DecisionDelta): void {
    const current = this.deltas.get(policy) ?? { denied: 0, warned: 0, audited: 0 };
    const lastDenied = [current.lastDenied, delta.lastDenied].filter((r) => r !== undefined).sort((a, b) => a.at.localeCompare(b.at)).pop();
    this.deltas.set(policy, { denied: current.denied + delta.denied, warned: current.warned + delta.warned, audited: current.audited + delta.audited, ...(lastDenied === undefined ? {} : { lastDenied }) });
  }

  private onEvent(event: InformerEvent<SuturePolicy>): void {
    const name = event.object.metadata.name ?? event.key;
    const previous = this.states.get(name);
    if (event.type === 'delete') this.states.delete(name);
    else if (!sameGeneration(previous?.generation, event.object)) this.compile(name, event.object);
    else return; // a status write: nothing to compile, nobody to tell
    this.inForce = undefined;
    this.listeners.notify(name, undefined, this.logger);
  }

  private compile(name: string, policy: SuturePolicy): void {
    const previous = this.states.get(name);
    if (previous !== undefined && previous.generation !== undefined && previous.generation === policy.metadata.generation) return;
    const result = compilePolicy(policy);
    const state: PolicyState = { name, errors: result.ok ? [] : result.errors, ...(policy.metadata.generation === undefined ? {} : { generation: policy.metadata.generation }) };
    const inForce = result.ok ? result.policy : previous?.inForce;
    if (inForce !== undefined) state.inForce = inForce;
    this.states.set(name, state);
    if (!result.ok) this.logger.warn('Compiled SuturePolicy with errors; the last valid version stays in force', { [LogKeys.policy]: name, [LogKeys.count]: result.errors.length });
  }
}

// ------------------------------------------------------------------------------------------------ leases

function parseTime(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * Whether the lease is in force now, as the leader last wrote it: status.phase Granted, not past status.expiresAt
 * (followers stop enforcing at expiry without waiting for the leader), not being deleted. A lease the leader has not
 * judged yet is not enforced: nothing is enforced before it is granted.
 */
export function leaseInForce(lease: SutureLease, now: number): boolean {
  if (lease.metadata.deletionTimestamp !== undefined || lease.status?.phase !== 'Granted') return false;
  const expiresAt = parseTime(lease.status.expiresAt);
  return expiresAt === undefined || expiresAt > now;
}

/** String.prototype.localeCompare without arguments, as one reusable collator. */
const collator = new Intl.Collator();

/** The first position in `keys` (sorted by the collator) whose key is not before `key`. */
function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (collator.compare(keys[mid] ?? '', key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class LeaseStore {
  private readonly listeners = new Listeners<LeaseChange>();
  private sorted: SutureLease[] | undefined;
  /** The keys of `sorted`, in its order. */
  private keys: string[] = [];
  /** Each lease as last told to the listeners: the `before` of the next change. */
  private readonly previous = new Map<string, SutureLease>();

  constructor(
    readonly informer: Informer<SutureLease>,
    private readonly deps: { logger: Logger; clock: Clock },
  ) {
    informer.onEvent((event) => {
      this.resort(event.key);
      const before = this.previous.get(event.key);
      if (event.type === 'delete') this.previous.delete(event.key);
      else this.previous.set(event.key, event.object);
      const change: LeaseChange = { type: event.type, key: event.key, ...(before === undefined ? {} : { before }), ...(event.type === 'delete' ? {} : { after: event.object }) };
      this.listeners.notify(event.key, change, deps.logger);
    });
  }

  hasSynced(): boolean {
    return this.informer.hasSynced();
  }

  /** Every lease with whether it is granted now (DecisionSources.leases). */
  leases(): LeaseState[] {
    const now = this.deps.clock.now();
    return this.all().map((lease) => ({ lease, granted: leaseInForce(lease, now) }));
  }

  /** Every cached lease, sorted by namespace/name; the same array until a lease changes. */
  all(): SutureLease[] {
    if (this.sorted === undefined) {
      const entries = this.informer
        .list()
        .map((lease) => ({ lease, key: `${lease.metadata.namespace ?? ''}/${lease.metadata.name ?? ''}` }))
        .sort((a, b) => collator.compare(a.key, b.key));
      this.sorted = entries.map((e) => e.lease);
      this.keys = entries.map((e) => e.key);
    }
    return this.sorted;
  }

  /**
   * After an event for `key`: a new array with that one lease replaced, inserted or removed in place (a binary
   * search, not a sort: every status write is an event), or none to be sorted again on the next all().
   */
  private resort(key: string): void {
    const sorted = this.sorted;
    if (sorted === undefined) return;
    const current = this.informer.get(key);
    const lo = lowerBound(this.keys, key);
    const found = this.keys[lo] === key;
    if (!found && lo < this.keys.length && collator.compare(this.keys[lo] ?? '', key) === 0) {
      this.sorted = undefined; // two keys the collator does not tell apart: sort from scratch
      return;
    }
    const next = [...sorted];
    if (found && current !== undefined) next[lo] = current;
    else if (found) {
      next.splice(lo, 1);
      this.keys = this.keys.filter((_, i) => i !== lo);
    } else if (current !== undefined) {
      next.splice(lo, 0, current);
      this.keys = [...this.keys.slice(0, lo), key, ...this.keys.slice(lo)];
    }
    this.sorted = next;
  }

  /** `namespace/name` */
  get(key: string): SutureLease | undefined {
    return this.informer.get(key);
  }

  /** Called with the lease's key and what changed (before/after) after every change, status writes included. */
  onChange(listener: Listener<LeaseChange>): () => void {
    return this.listeners.add(listener);
  }
}

// ------------------------------------------------------------------------------------------------ exceptions

export interface ExceptionUses {
  uses: number;
  lastUsed: string;
}

export interface ExceptionState {
  name: string;
  resourceVersion?: string;
  generation?: number;
  errors: FieldError[];
  compiled?: CompiledException;
}

export class ExceptionStore {
  private readonly states = new Map<string, ExceptionState>();
  private compiled: CompiledException[] | undefined;
  private readonly listeners = new Listeners();
  private uses = new Map<string, ExceptionUses>();

  constructor(
    readonly informer: Informer<SutureException>,
    private readonly deps: { logger: Logger; clock: Clock; maxDurationSeconds?: number },
  ) {
    informer.onEvent((event) => this.onEvent(event));
  }

  get maxDurationSeconds(): number {
    return this.deps.maxDurationSeconds ?? DEFAULT_MAX_EXCEPTION_SECONDS;
  }

  hasSynced(): boolean {
    return this.informer.hasSynced();
  }

  /** Valid exceptions, expired ones included (decide ignores those at its `now`). */
  /** Compiled exceptions, sorted by name; the same array until an exception changes. */
  exceptions(): CompiledException[] {
    this.compiled ??= [...this.states.values()].flatMap((s) => (s.compiled === undefined ? [] : [s.compiled])).sort((a, b) => a.name.localeCompare(b.name));
    return this.compiled;
  }

  state(name: string): ExceptionState | undefined {
    return this.states.get(name);
  }

  onChange(listener: Listener): () => void {
    return this.listeners.add(listener);
  }

  /** The admission handler reports that an exception let a request through (DecisionCounters). */
  useException(name: string, at: string): void {
    const current = this.uses.get(name);
    this.uses.set(name, { uses: (current?.uses ?? 0) + 1, lastUsed: current === undefined || current.lastUsed < at ? at : current.lastUsed });
  }

  takeUses(): Map<string, ExceptionUses> {
    const taken = this.uses;
    this.uses = new Map();
    return taken;
  }

  restoreUses(name: string, uses: ExceptionUses): void {
    const current = this.uses.get(name);
    this.uses.set(name, { uses: (current?.uses ?? 0) + uses.uses, lastUsed: current === undefined || current.lastUsed < uses.lastUsed ? uses.lastUsed : current.lastUsed });
  }

  private onEvent(event: InformerEvent<SutureException>): void {
    const name = event.object.metadata.name ?? event.key;
    const previous = this.states.get(name);
    if (event.type === 'delete') this.states.delete(name);
    else if (!sameGeneration(previous?.generation, event.object)) this.compile(name, event.object);
    else return; // a status write (Active, uses): nothing to compile, nobody to tell
    this.compiled = undefined;
    this.listeners.notify(name, undefined, this.deps.logger);
  }

  /**
   * Compiles each generation once (status writes do not reach here). The bound on expiresAt is measured from the exception's creation (docs/concepts.md:
   * "always bounded"), so an exception valid when applied stays valid until it expires, on every replica, after
   * restarts too; extending one past the bound means applying a new one.
   */
  private compile(name: string, ex: SutureException): void {
    const previous = this.states.get(name);
    const rv = ex.metadata.resourceVersion;
    if (previous !== undefined && rv !== undefined && previous.resourceVersion === rv) return;
    const at = parseTime(ex.metadata.creationTimestamp) ?? this.deps.clock.now();
    const result = compileException(ex, at, this.maxDurationSeconds);
    const generation = ex.metadata.generation;
    const state: ExceptionState = { name, errors: result.ok ? [] : result.errors, ...(rv === undefined ? {} : { resourceVersion: rv }), ...(generation === undefined ? {} : { generation }) };
    if (result.ok) state.compiled = result.exception;
    this.states.set(name, state);
  }
}

/** The DecisionCounters the admission recorder takes: policy decisions and exception uses, into the stores. */
export function decisionCounters(policies: PolicyStore, exceptions: ExceptionStore): {
  countPolicyDecision: PolicyStore['countPolicyDecision'];
  useException: ExceptionStore['useException'];
} {
  return {
    countPolicyDecision: (policy, verdict, record) => policies.countPolicyDecision(policy, verdict, record),
    useException: (name, at) => exceptions.useException(name, at),
  };
}
