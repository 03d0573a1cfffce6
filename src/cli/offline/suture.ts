// Suture's side of the offline simulation: what its reconcilers and stores would hold after each request — policies
// compiled (status Ready), exceptions compiled (status active), leases granted by the core's grantLeases (status
// phase, conditions, conflictsWith) — and the inputs decide() reads, with budgets in an in-memory ledger.
import { API_VERSION } from '../../api/constants.js';
import type { FieldError, KubeObject, SutureException, SutureLease, SuturePolicy } from '../../api/types.js';
import { setCondition } from '../../controller/conditions.js';
import { policyStatus } from '../../controller/reconcilers/policies.js';
import { leaseInForce } from '../../controller/reconcilers/stores.js';
import { grantLeases, leaseName, type LeaseGrant } from '../../core/leases.js';
import { compileException, compilePolicy, type CompiledException, type CompiledPolicy } from '../../core/policy.js';
import type { BudgetLedger, BudgetUse, DecisionInput, IdentityConfig, LeaseState, MetricReader } from '../../core/types.js';
import type { SimCluster, SimKind } from './cluster.js';

/** Suture's namespace in the live runner; its service accounts are exempt, as kube-system's are. */
export const SUTURE_NAMESPACE = 'suture-system';

export const OFFLINE_IDENTITIES: IdentityConfig = { exemptNamespaces: ['kube-system', SUTURE_NAMESPACE], exemptUsers: [], exemptGroups: [] };

/** Budget uses recorded at the simulated instant; every use inside a window counts. */
export class MemoryLedger implements BudgetLedger {
  private readonly uses: { use: BudgetUse; at: number }[] = [];

  constructor(private readonly now: () => number) {}

  record(uses: readonly BudgetUse[]): void {
    for (const use of uses) this.uses.push({ use, at: this.now() });
  }

  used(policy: string, invariant: string, key: string, windowSeconds: number): number {
    const since = this.now() - windowSeconds * 1000;
    return this.uses.filter((u) => u.use.policy === policy && u.use.invariant === invariant && u.use.key === key && u.at > since).reduce((n, u) => n + u.use.count, 0);
  }
}

/** No Prometheus offline: a metric condition reads "never fetched". */
const NO_METRICS: MetricReader = { read: () => undefined };

function kindInfo(cluster: SimCluster, kind: string): SimKind {
  return cluster.require(API_VERSION, kind);
}

function leaseStatus(lease: SutureLease, grant: LeaseGrant, now: Date): Record<string, unknown> {
  const generation = lease.metadata.generation;
  const conditions = setCondition(lease.status?.conditions, { type: 'Granted', status: grant.phase === 'Granted' ? 'True' : 'False', reason: grant.reason, message: grant.message, ...(generation === undefined ? {} : { observedGeneration: generation }) }, now);
  return {
    phase: grant.phase,
    conditions,
    ...(grant.grantedAt === undefined ? {} : { grantedAt: grant.grantedAt }),
    ...(grant.expiresAt === undefined ? {} : { expiresAt: grant.expiresAt }),
    ...(grant.conflictsWith.length > 0 ? { conflictsWith: grant.conflictsWith } : {}),
    ...(generation === undefined ? {} : { observedGeneration: generation }),
  };
}

function exceptionStatus(ex: SutureException, compiled: CompiledException | undefined, errors: readonly FieldError[], now: Date): Record<string, unknown> {
  const active = compiled !== undefined && !compiled.expired;
  const reason = compiled === undefined ? `Invalid: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}` : active ? `Active until ${ex.spec.expiresAt}: ${compiled.reason}` : `Expired at ${ex.spec.expiresAt}`;
  const conditionReason = compiled === undefined ? 'Invalid' : active ? 'Active' : 'Expired';
  return { active, reason, conditions: setCondition(ex.status?.conditions, { type: 'Active', status: active ? 'True' : 'False', reason: conditionReason, message: reason }, now) };
}

/** Validates a Suture object as the objects.suture.dev webhook does; empty for other objects. */
export { validateSutureObject } from '../../admission/objects.js';

export class SutureSim {
  readonly budgets: MemoryLedger;
  private policies: CompiledPolicy[] = [];
  private exceptions: CompiledException[] = [];
  private leases: LeaseState[] = [];

  constructor(
    private readonly cluster: SimCluster,
    private readonly now: Date,
  ) {
    this.budgets = new MemoryLedger(() => now.getTime());
  }

  /** The reconcilers' work, once, level-based: compile, grant, write statuses. */
  reconcile(): void {
    this.policies = this.reconcilePolicies();
    this.exceptions = this.reconcileExceptions();
    this.leases = this.reconcileLeases();
  }

  /** What decide() reads. */
  input(): DecisionInput {
    return { snapshot: this.cluster.snapshot, policies: this.policies, leases: this.leases, exceptions: this.exceptions, budgets: this.budgets, metrics: NO_METRICS, identities: OFFLINE_IDENTITIES };
  }

  /** Suture objects the live runner would still wait for (a policy not Ready, a lease Pending, an exception without status). */
  notReady(): string[] {
    const out: string[] = [];
    for (const p of this.list<SuturePolicy>('SuturePolicy')) {
      const ready = p.status?.conditions?.find((c) => c.type === 'Ready');
      if (ready?.status !== 'True') out.push(`SuturePolicy ${p.metadata.name ?? ''}: ${ready?.message ?? 'not compiled'}`);
    }
    return out;
  }

  private list<T extends KubeObject>(kind: string): T[] {
    return this.cluster.list(kindInfo(this.cluster, kind), undefined) as T[];
  }

  private writeStatus(object: KubeObject, status: Record<string, unknown>): void {
    this.cluster.snapshot.upsert({ ...object, status });
  }

  private reconcilePolicies(): CompiledPolicy[] {
    const compiled: CompiledPolicy[] = [];
    for (const policy of this.list<SuturePolicy>('SuturePolicy')) {
      const r = compilePolicy(policy);
      if (r.ok) compiled.push(r.policy);
      const state = { name: policy.metadata.name ?? '', errors: r.ok ? [] : r.errors, ...(r.ok ? { inForce: r.policy } : {}) };
      this.writeStatus(policy, policyStatus(policy, state, this.now));
    }
    return compiled.sort((a, b) => a.name.localeCompare(b.name));
  }

  private reconcileExceptions(): CompiledException[] {
    const compiled: CompiledException[] = [];
    for (const ex of this.list<SutureException>('SutureException')) {
      const r = compileException(ex, this.now);
      if (r.ok) compiled.push(r.exception);
      this.writeStatus(ex, exceptionStatus(ex, r.ok ? r.exception : undefined, r.ok ? [] : r.errors, this.now));
    }
    return compiled;
  }

  private reconcileLeases(): LeaseState[] {
    const leases = this.list<SutureLease>('SutureLease');
    const grants = grantLeases(leases, this.cluster.snapshot, this.now);
    for (const lease of leases) {
      const grant = grants.get(leaseName(lease));
      if (grant !== undefined) this.writeStatus(lease, leaseStatus(lease, grant, this.now));
    }
    return this.list<SutureLease>('SutureLease').map((lease) => ({ lease, granted: leaseInForce(lease, this.now.getTime()) }));
  }
}
