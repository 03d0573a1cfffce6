// The SutureLease reconciler (leader only): grants leases (core grantLeases over every lease), writes the holder's
// scoped RBAC and isolation NetworkPolicy while a lease is granted and removes them otherwise, audits the holder's
// effective rights, and writes status. Level-based: every lease change re-evaluates every lease, so deleting or
// expiring a lease hands its scope to the one waiting. A lease's generated objects in its own namespace are owned by
// it; the others are found by label and deleted explicitly (no finalizer: a lease can always be deleted, also while
// Suture is down; what it leaves behind is found by label when Suture is back).
import type { Condition, KubeObject, SutureLease, SutureLeaseStatus } from '../../api/types.js';
import { type AuditResult, type RbacObjects, auditHolder, impersonates } from '../../core/generate/audit.js';
import type { KindCatalog } from '../../core/generate/kinds.js';
import { type IsolationConfig, buildIsolationPolicy } from '../../core/generate/network.js';
import { type ScopedRules, buildLeaseRbac, leaseNeeds } from '../../core/generate/rbac.js';
import { type LeaseGrantLookup, LeaseGrants } from '../../core/lease-grants.js';
import type { LeaseGrant } from '../../core/leases.js';
import { subjectName } from '../../core/selectors.js';
import type { Snapshot } from '../../core/types.js';
import { validateLease } from '../../core/validate.js';
import { type ObjectClient, splitKey } from '../../kube/client.js';
import { KubeError } from '../../kube/errors.js';
import { compareResourceVersions } from '../../kube/resource-version.js';
import { LogKeys } from '../../observability/keys.js';
import type { Logger } from '../../observability/logger.js';
import type { Clock } from '../../runtime/clock.js';
import { setCondition } from '../conditions.js';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../reconciler.js';
import { deleteObject, difference, ensureObject, refOf, statusPatch, sutureRef } from './apply.js';
import type { GeneratedObjects } from './generated.js';
import type { LeaseStore } from './stores.js';

export const LeaseConditions = { Granted: 'Granted', LeastPrivilege: 'LeastPrivilege' } as const;
/** Default interval of the rights audit when nothing else changes. */
export const DEFAULT_AUDIT_INTERVAL_MS = 10 * 60 * 1000;

export interface LeaseReconcilerDeps {
  client: ObjectClient;
  leases: LeaseStore;
  generated: GeneratedObjects;
  /** The cluster as cached (conflicts: an existing object matching two leases is proof). */
  snapshot: () => Snapshot;
  /** Kinds → resources, from discovery. */
  catalog: () => KindCatalog;
  /** Every Role, ClusterRole and binding, for the rights audit. */
  rbac: () => Promise<RbacObjects>;
  /** The API server's addresses for `network: Isolate`; undefined when they cannot be found. */
  isolation: () => Promise<IsolationConfig | undefined>;
  clock: Clock;
  auditIntervalMs?: number;
}

type LeaseRef = { namespace: string; name: string };

function errorsMessage(errors: readonly { path: string; message: string }[]): string {
  return errors.map((e) => `${e.path}: ${e.message}`).join('; ');
}

function leaseKey(lease: SutureLease): string {
  return `${lease.metadata.namespace ?? ''}/${lease.metadata.name ?? ''}`;
}

function createdKey(kind: string, obj: KubeObject): string {
  return `${kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

function holderKey(lease: SutureLease): string {
  const h = lease.spec.holder;
  return `${h.kind}\u0000${h.namespace ?? ''}\u0000${h.name}`;
}

/** The leases by holder, once per array of leases (the store hands out one array until a lease changes). */
const byHolderCache = new WeakMap<readonly SutureLease[], Map<string, SutureLease[]>>();

function leasesOfHolder(all: readonly SutureLease[], lease: SutureLease): readonly SutureLease[] {
  let index = byHolderCache.get(all);
  if (index === undefined) {
    index = new Map();
    for (const l of all) {
      const k = holderKey(l);
      const list = index.get(k);
      if (list === undefined) index.set(k, [l]);
      else list.push(l);
    }
    byHolderCache.set(all, index);
  }
  return index.get(holderKey(lease)) ?? [];
}

/** What every granted lease of the holder needs (the audit measures rights against this). */
function holderNeeds(lease: SutureLease, ofHolder: readonly SutureLease[], grants: LeaseGrantLookup, catalog: KindCatalog): ScopedRules[] {
  const held = ofHolder.filter((l) => leaseKey(l) === leaseKey(lease) || grants.get(leaseKey(l))?.phase === 'Granted');
  return held.flatMap((l) => leaseNeeds(l, catalog).needs);
}

function auditCondition(audit: AuditResult | undefined, generation: number | undefined): Parameters<typeof setCondition>[1] {
  const g = generation === undefined ? {} : { observedGeneration: generation };
  if (audit === undefined) return { type: LeaseConditions.LeastPrivilege, status: 'Unknown', reason: 'NotAudited', message: 'The holder was not audited', ...g };
  if (audit.sensitive.length > 0) {
    const what = audit.sensitive.map((e) => `${e.verbs.join(',')} ${e.resources.join(',')} in ${e.apiGroups.map((x) => (x === '' ? 'core' : x)).join(',')} via ${e.via}`).join('; ');
    // auditHolder puts the grants that impersonate first: the most dangerous right, named as such.
    const lead = audit.sensitive.some(impersonates) ? 'The holder can impersonate other identities (the most dangerous right: admission then sees only the impersonated one) and write what admission cannot protect' : 'The holder can write what admission cannot protect';
    return { type: LeaseConditions.LeastPrivilege, status: 'False', reason: 'SensitivePermissions', message: `${lead}: ${what}`, ...g };
  }
  if (audit.excess.length > 0) {
    return { type: LeaseConditions.LeastPrivilege, status: 'False', reason: 'ExcessPermissions', message: `The holder can write ${audit.excess.length} more set(s) of resources than its leases need; see status.excessPermissions`, ...g };
  }
  return { type: LeaseConditions.LeastPrivilege, status: 'True', reason: 'Scoped', message: 'The holder can write no more than its leases need', ...g };
}

interface DesiredStatus {
  grant: LeaseGrant;
  generated: KubeObject[];
  audit?: AuditResult;
  notes: string[];
}

function buildStatus(lease: SutureLease, desired: DesiredStatus, now: Date): Record<string, unknown> {
  const { grant, audit } = desired;
  const generation = lease.metadata.generation;
  const message = [grant.message, ...desired.notes].join('; ');
  let conditions: Condition[] = setCondition(
    lease.status?.conditions,
    { type: LeaseConditions.Granted, status: grant.phase === 'Granted' ? 'True' : 'False', reason: grant.reason, message, ...(generation === undefined ? {} : { observedGeneration: generation }) },
    now,
  );
  conditions = setCondition(conditions, auditCondition(audit, generation), now);
  const status: SutureLeaseStatus = {
    phase: grant.phase,
    conditions,
    grantedAt: grant.grantedAt,
    expiresAt: grant.expiresAt,
    conflictsWith: grant.conflictsWith.length > 0 ? grant.conflictsWith : undefined,
    generated: desired.generated.length > 0 ? desired.generated.map((o) => ({ kind: o.kind, ...(o.metadata.namespace === undefined ? {} : { namespace: o.metadata.namespace }), name: o.metadata.name ?? '' })) : undefined,
    excessPermissions: audit !== undefined && audit.excess.length > 0 ? audit.excess : undefined,
    observedGeneration: generation,
  };
  return status;
}

export class LeaseReconciler implements Reconciler {
  /** The object each status write returned, by uid: newer than the cache until the watch delivers it. */
  private readonly written = new Map<string, SutureLease>();
  /** The resourceVersion of each object this reconciler created, by kind, namespace and name, until its event comes. */
  private readonly created = new Map<string, string>();
  /** Grants of every lease, computed once per change of the leases (or of the objects they cover), not per reconcile. */
  private readonly grants = new LeaseGrants();

  constructor(private readonly deps: LeaseReconcilerDeps) {}

  /**
   * Whether `obj` (of `kind`) is exactly what this reconciler created (same resourceVersion): its watch event needs no
   * reconcile. Each create is recognised once.
   */
  isOwnCreate(kind: string, obj: KubeObject): boolean {
    const key = createdKey(kind, obj);
    const rv = this.created.get(key);
    if (rv === undefined) return false;
    this.created.delete(key);
    return rv === obj.metadata.resourceVersion;
  }

  /** Whether `lease` is what this reconciler's last status write of it returned (its own write, seen by the watch). */
  isOwnWrite(lease: SutureLease): boolean {
    const mine = this.written.get(lease.metadata.uid ?? '');
    return mine !== undefined && mine.metadata.resourceVersion === lease.metadata.resourceVersion;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const ref = splitKey(key);
    const cached = this.deps.leases.get(key);
    const lease = cached === undefined ? undefined : this.freshest(cached);
    if (cached === undefined) for (const [uid, mine] of this.written) if (leaseKey(mine) === key) this.written.delete(uid);
    if (lease === undefined || lease.metadata.deletionTimestamp !== undefined) {
      await this.prune(ref, [], ctx.logger);
      return;
    }
    const now = new Date(this.deps.clock.now());
    const errors = validateLease(lease);
    if (errors.length > 0) {
      await this.prune(ref, [], ctx.logger);
      const grant: LeaseGrant = { phase: 'Invalid', conflictsWith: [], reason: 'InvalidSpec', message: errorsMessage(errors) };
      await this.writeStatus(lease, buildStatus(lease, { grant, generated: [], notes: [] }, now), ctx.logger);
      return;
    }
    return this.converge(lease, now, ctx.logger);
  }

  /**
   * The cached lease, or the one this reconciler last wrote when the cache has not caught up with it yet: a status
   * judged on a stale cache would move grantedAt or flip a phase back (grants depend on the last status written).
   */
  private freshest(cached: SutureLease): SutureLease {
    const uid = cached.metadata.uid ?? '';
    const mine = this.written.get(uid);
    if (mine === undefined) return cached;
    const order = compareResourceVersions(cached.metadata.resourceVersion ?? '', mine.metadata.resourceVersion ?? '');
    if (order !== undefined && order >= 0) {
      this.written.delete(uid);
      return cached;
    }
    return order === undefined ? cached : mine;
  }

  /**
   * Every lease as freshest() sees it: the store's own array when no write of ours is ahead of it (grants are then
   * answered from what was kept), else a copy with those few replaced — not a pass over every lease.
   */
  private current(): readonly SutureLease[] {
    const stored = this.deps.leases.all();
    let copy: SutureLease[] | undefined;
    for (const mine of [...this.written.values()]) {
      const cached = this.deps.leases.get(leaseKey(mine));
      if (cached === undefined || cached.metadata.uid !== mine.metadata.uid) {
        this.written.delete(mine.metadata.uid ?? '');
        continue;
      }
      const fresh = this.freshest(cached);
      if (fresh === cached) continue;
      const at = stored.indexOf(cached);
      if (at < 0) continue;
      copy ??= [...stored];
      copy[at] = fresh;
    }
    return copy ?? stored;
  }

  /** The leases of the same holder, as freshest() sees them (indexed on the store's array, which changes less often). */
  private ofHolder(lease: SutureLease): SutureLease[] {
    return leasesOfHolder(this.deps.leases.all(), lease).map((l) => this.freshest(l));
  }

  private async converge(lease: SutureLease, now: Date, logger: Logger): Promise<ReconcileResult> {
    const all = this.current();
    const grants = this.grants.grants(all, this.deps.snapshot(), now);
    const grant = grants.get(leaseKey(lease)) ?? { phase: 'Pending', conflictsWith: [], reason: 'Pending', message: 'Not evaluated yet' };
    const catalog = this.deps.catalog();
    const plan = buildLeaseRbac(lease, catalog);
    const desired = grant.phase === 'Granted' ? [...plan.objects, ...(await this.network(lease))] : [];
    // Independent objects (Role, binding, NetworkPolicy): written at once, not one round trip after another.
    await Promise.all(desired.map((obj) => this.ensure(obj, logger)));
    await this.prune({ namespace: lease.metadata.namespace ?? '', name: lease.metadata.name ?? '' }, desired, logger);
    const audit = auditHolder(lease.spec.holder, await this.deps.rbac(), holderNeeds(lease, this.ofHolder(lease), grants, catalog));
    await this.writeStatus(lease, buildStatus(lease, { grant, generated: desired, audit, notes: grant.phase === 'Granted' ? plan.notes : [] }, now), logger);
    return { requeueAfter: this.requeueAfter(grant, now) };
  }

  /**
   * ensureObject, skipped when the generated objects' cache already holds the object as desired: a re-reconcile of an
   * unchanged lease reads nothing from the API server. When the cache is wrong (the object was just deleted or
   * edited), the watch event brings the lease back.
   */
  private async ensure(obj: KubeObject, logger: Logger): Promise<void> {
    const cached = this.deps.generated.cached(obj);
    if (cached !== undefined && difference(obj, cached) === undefined) return;
    if (cached === undefined && this.deps.generated.hasSynced()) {
      // Not generated yet as far as the synced cache knows: create it without reading first; when it exists after
      // all (the watch has not delivered it yet, or someone removed its labels), compare and write as usual.
      try {
        const made = await this.deps.client.create(obj);
        if (made.metadata.resourceVersion !== undefined) this.created.set(createdKey(obj.kind, made), made.metadata.resourceVersion);
        logger.info(`Created ${obj.kind}`, { [LogKeys.kind]: obj.kind, [LogKeys.namespace]: obj.metadata.namespace, [LogKeys.name]: obj.metadata.name });
        return;
      } catch (error) {
        if (!(error instanceof KubeError && error.reason === 'AlreadyExists')) throw error;
      }
    }
    await ensureObject(this.deps.client, obj, logger);
  }

  private requeueAfter(grant: LeaseGrant, now: Date): number {
    const audit = this.deps.auditIntervalMs ?? DEFAULT_AUDIT_INTERVAL_MS;
    const expiry = grant.phase === 'Granted' && grant.expiresAt !== undefined ? Date.parse(grant.expiresAt) - now.getTime() : Number.POSITIVE_INFINITY;
    // One second past expiry: the grant is judged at a time strictly after it.
    return Math.max(1, Math.min(audit, expiry + 1000));
  }

  private async network(lease: SutureLease): Promise<KubeObject[]> {
    if ((lease.spec.network ?? 'None') !== 'Isolate') return [];
    const config = await this.deps.isolation();
    if (config === undefined) throw new Error(`cannot isolate the holder of lease ${leaseKey(lease)}: the API server's endpoints are unknown`);
    const policy = buildIsolationPolicy(lease, config);
    return policy === undefined ? [] : [policy];
  }

  /** Deletes what was generated for the lease and is not desired (all of it when the lease is gone or not granted). */
  private async prune(ref: LeaseRef, desired: readonly KubeObject[], logger: Logger): Promise<void> {
    const keep = new Set(desired.map((o) => JSON.stringify(refOf(o))));
    for (const obj of this.deps.generated.forLease(ref)) {
      if (!keep.has(JSON.stringify(refOf(obj)))) await deleteObject(this.deps.client, obj, logger);
    }
  }

  private async writeStatus(lease: SutureLease, desired: Record<string, unknown>, logger: Logger): Promise<void> {
    const patch = statusPatch(lease.status, desired);
    if (patch === undefined) return;
    const updated = await this.deps.client.patchStatus<SutureLease>(sutureRef('SutureLease', lease), patch);
    this.written.set(updated.metadata.uid ?? lease.metadata.uid ?? '', updated);
    logger.info('Updated SutureLease status', { [LogKeys.lease]: leaseKey(lease), phase: desired['phase'], [LogKeys.holder]: subjectName(lease.spec.holder) });
  }
}


/** The API server's endpoint IPs and port, from the `default/kubernetes` EndpointSlices (for `network: Isolate`). */
export async function apiServerEndpoints(client: ObjectClient): Promise<IsolationConfig['apiServer'] | undefined> {
  const list = await client.list('discovery.k8s.io/v1', 'EndpointSlice', { namespace: 'default', labelSelector: 'kubernetes.io/service-name=kubernetes' });
  const ips = list.items.flatMap((s) => ((s['endpoints'] ?? []) as { addresses?: string[] }[]).flatMap((e) => e.addresses ?? []));
  const port = list.items.flatMap((s) => ((s['ports'] ?? []) as { port?: number }[]).map((p) => p.port)).find((p) => p !== undefined);
  return ips.length === 0 || port === undefined ? undefined : { ips, port };
}
