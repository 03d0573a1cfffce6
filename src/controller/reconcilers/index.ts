// Wiring of the stores (every replica) and the reconcilers (leader only). main.ts calls:
//
//   const stores = createStores({ kubeConfig, logger, metrics, clock });      // every replica
//   await stores.start();                                                      // before serving admission
//   stores.hasSynced()                                                         // → /readyz
//   // admission: stores.policies.policies(), stores.leases.leases(), stores.exceptions.exceptions(),
//   //            decisionCounters(stores.policies, stores.exceptions) for the recorder
//   const flusher = new StatusFlusher({ client, policies: stores.policies, exceptions: stores.exceptions, logger, clock });
//   flusher.start();                                                           // every replica
//   const reconcilers = createReconcilers({ ...deps, stores });
//   elector callbacks: onStartedLeading → reconcilers.start(), onStoppedLeading → reconcilers.stop()
//   on CA rotation → reconcilers.requestWebhookSync()
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject, SutureException, SutureLease, SuturePolicy } from '../../api/types.js';
import { API_VERSION } from '../../api/constants.js';
import type { RbacObjects } from '../../core/generate/audit.js';
import type { KindCatalog } from '../../core/generate/kinds.js';
import type { IsolationConfig } from '../../core/generate/network.js';
import type { WebhookConfig } from '../../core/generate/webhooks.js';
import { leasesMayConflict } from '../../core/lease-grants.js';
import type { Snapshot } from '../../core/types.js';
import type { ObjectClient } from '../../kube/client.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Clock } from '../../runtime/clock.js';
import { systemClock } from '../../runtime/clock.js';
import { type Informer, createInformer } from '../../state/informer.js';
import { Controller } from '../reconciler.js';
import { ExceptionReconciler } from './exceptions.js';
import { GeneratedObjects } from './generated.js';
import { LeaseReconciler, apiServerEndpoints } from './leases.js';
import { PolicyReconciler } from './policies.js';
import { leaseKeysToReconcile, type LeaseChange, webhookInputsChanged } from './predicates.js';
import { RbacCache, leasesConcerned, rbacInformers } from './rbac-cache.js';
import { ExceptionStore, LeaseStore, PolicyStore } from './stores.js';
import { WEBHOOKS_KEY, WebhookReconciler, watchWebhookConfigurations } from './webhooks.js';
import { SELF_POLICY_KEY, SELF_SECRET_KEY, SelfReconciler, type SelfRepairs, type SelfWatchTargets, watchSelf } from './self.js';

export { decisionCounters, ExceptionStore, LeaseStore, PolicyStore } from './stores.js';
export { StatusFlusher } from './flush.js';
export { selfRepairs, type SelfRepairs } from './self.js';

export interface StoresDeps {
  kubeConfig: KubeConfig;
  logger: Logger;
  metrics?: Metrics;
  clock?: Clock;
  /** The longest an exception may last (default 24h). */
  maxExceptionSeconds?: number;
}

export interface Stores {
  policies: PolicyStore;
  leases: LeaseStore;
  exceptions: ExceptionStore;
  /** Starts the three informers (the stores subscribed at construction, so the first list is compiled). */
  start(): Promise<void>;
  stop(): Promise<void>;
  hasSynced(): boolean;
  /** Resolves true once all three caches synced, false after `timeoutMs`. */
  waitForSync(timeoutMs: number): Promise<boolean>;
}

function informerDeps(deps: { kubeConfig: KubeConfig; logger: Logger; metrics?: Metrics | undefined; clock?: Clock | undefined }): Parameters<typeof createInformer>[1] {
  return { kubeConfig: deps.kubeConfig, logger: deps.logger, ...(deps.metrics === undefined ? {} : { metrics: deps.metrics }), ...(deps.clock === undefined ? {} : { clock: deps.clock }) };
}

/** The policy, lease and exception stores every replica serves admission from. */
export function createStores(deps: StoresDeps): Stores {
  const clock = deps.clock ?? systemClock;
  const inf = informerDeps(deps);
  const policyInformer = createInformer<SuturePolicy>({ apiVersion: API_VERSION, kind: 'SuturePolicy', resource: 'suturepolicies' }, inf);
  const leaseInformer = createInformer<SutureLease>({ apiVersion: API_VERSION, kind: 'SutureLease', resource: 'sutureleases' }, inf);
  const exceptionInformer = createInformer<SutureException>({ apiVersion: API_VERSION, kind: 'SutureException', resource: 'sutureexceptions' }, inf);
  const informers: Informer[] = [policyInformer, leaseInformer, exceptionInformer];
  const policies = new PolicyStore(policyInformer, deps.logger.child({ component: 'policy-store' }));
  const leases = new LeaseStore(leaseInformer, { logger: deps.logger, clock });
  const exceptions = new ExceptionStore(exceptionInformer, { logger: deps.logger, clock, ...(deps.maxExceptionSeconds === undefined ? {} : { maxDurationSeconds: deps.maxExceptionSeconds }) });
  return {
    policies,
    leases,
    exceptions,
    start: async () => {
      await Promise.all(informers.map((i) => i.start()));
    },
    stop: async () => {
      await Promise.all(informers.map((i) => i.stop()));
    },
    hasSynced: () => informers.every((i) => i.hasSynced()),
    waitForSync: async (timeoutMs) => (await Promise.all(informers.map((i) => i.waitForSync(timeoutMs)))).every(Boolean),
  };
}

export interface ReconcilersDeps {
  kubeConfig: KubeConfig;
  client: ObjectClient;
  logger: Logger;
  metrics?: Metrics;
  clock?: Clock;
  stores: Stores;
  snapshot: () => Snapshot;
  catalog: () => KindCatalog;
  /** Every Role, ClusterRole and binding, for the rights audit. Default: from RBAC informers started with the reconcilers. */
  rbac?: () => Promise<RbacObjects>;
  /** For `network: Isolate`. Default: the `default/kubernetes` EndpointSlices, metrics port 8080. */
  isolation?: () => Promise<IsolationConfig | undefined>;
  webhooks: { config: Omit<WebhookConfig, 'caBundle'>; caBundle: () => string | undefined; ready?: () => boolean };
  /** Workers per controller. Default 1; the lease controller runs LEASE_WORKER_FACTOR times this (default 2 × 4). */
  workers?: number;
  auditIntervalMs?: number;
  /** Self-protection: how repairs of Suture's own objects are reported, and (when enabled) what to keep in place. */
  self?: {
    repairs: SelfRepairs;
    /** The self-protection policy and binding; undefined when self-protection is off (repairs are still reported). */
    desired?: () => KubeObject[];
    targets: SelfWatchTargets;
    restoreSecret?: () => Promise<KubeObject | undefined>;
    /** Wakes the leader elector (its Lease was deleted). */
    pokeElector?: () => void;
  };
}

export interface Reconcilers {
  readonly leases: Controller;
  readonly policies: Controller;
  readonly exceptions: Controller;
  readonly webhooks: Controller;
  /** Suture's own objects (self-protection); undefined when not configured. */
  readonly self: Controller | undefined;
  /** Starts the watches and workers (on becoming leader). */
  start(): Promise<void>;
  /** Stops workers and watches (on losing leadership or shutdown). */
  stop(): Promise<void>;
  /** Re-checks the webhook configurations now (after the CA rotated). */
  requestWebhookSync(): void;
}

/** Lists every Role, ClusterRole and binding (for tools that audit once; the reconcilers read an RbacCache). */
export async function listRbac(client: ObjectClient): Promise<RbacObjects> {
  const v = 'rbac.authorization.k8s.io/v1';
  const [roles, clusterRoles, roleBindings, clusterRoleBindings] = await Promise.all([
    client.list(v, 'Role'),
    client.list(v, 'ClusterRole'),
    client.list(v, 'RoleBinding'),
    client.list(v, 'ClusterRoleBinding'),
  ]);
  return { roles: roles.items, clusterRoles: clusterRoles.items, roleBindings: roleBindings.items, clusterRoleBindings: clusterRoleBindings.items };
}

function controllerDeps(deps: ReconcilersDeps): ConstructorParameters<typeof Controller>[1] {
  return { logger: deps.logger, ...(deps.metrics === undefined ? {} : { metrics: deps.metrics }), ...(deps.clock === undefined ? {} : { clock: deps.clock }) };
}

/**
 * The lease controller runs this many times the workers of the others: a lease reconcile spends its time waiting on
 * API round trips (its RBAC, its status), so 1,000 new leases need more of them in flight than two.
 */
export const LEASE_WORKER_FACTOR = 4;

/** How long a lease reconcile waits for the RBAC caches before failing (and being retried). */
const RBAC_SYNC_TIMEOUT_MS = 30_000;

function leaseController(deps: ReconcilersDeps, parts: { generated: GeneratedObjects; rbac: RbacCache | undefined }, clock: Clock): { controller: Controller; reconciler: LeaseReconciler } {
  const { rbac } = parts;
  const reconciler = new LeaseReconciler({
    client: deps.client,
    leases: deps.stores.leases,
    generated: parts.generated,
    snapshot: deps.snapshot,
    catalog: deps.catalog,
    rbac: deps.rbac ?? (() => (rbac as RbacCache).synced(RBAC_SYNC_TIMEOUT_MS)),
    isolation:
      deps.isolation ??
      (async () => {
        const apiServer = await apiServerEndpoints(deps.client);
        return apiServer === undefined ? undefined : { apiServer };
      }),
    clock,
    ...(deps.auditIntervalMs === undefined ? {} : { auditIntervalMs: deps.auditIntervalMs }),
  });
  return { reconciler, controller: new Controller(reconciler, controllerDeps(deps), { name: 'suturelease', workers: LEASE_WORKER_FACTOR * (deps.workers ?? 2) }) };
}

/**
 * Enqueues what a lease change concerns (predicates.ts): every lease when grants' inputs changed, only rivals when a
 * status write moved a grant, nothing for the lease reconciler's own status writes. Webhook configurations depend on
 * leases' specs and phases only.
 */
export function leaseChangeHandler(deps: {
  leases: LeaseStore;
  isOwnWrite: (lease: SutureLease) => boolean;
  enqueueLease: (key: string) => void;
  enqueueWebhooks: () => void;
  /** The cluster as cached, for which leases a lease may conflict with; without it a new lease concerns every lease. */
  snapshot?: () => Snapshot;
}): (key: string, change: LeaseChange) => void {
  return (_key, change) => {
    const own = change.after !== undefined && deps.isOwnWrite(change.after);
    const snapshot = deps.snapshot?.();
    const mayConflict = snapshot === undefined ? undefined : (a: SutureLease, b: SutureLease): boolean => leasesMayConflict(a, b, snapshot);
    for (const k of leaseKeysToReconcile(change, deps.leases.all(), own, mayConflict)) deps.enqueueLease(k);
    if (webhookInputsChanged(change)) deps.enqueueWebhooks();
  };
}

function selfRepairsOf(deps: ReconcilersDeps): { repairs?: SelfRepairs } {
  return deps.self === undefined ? {} : { repairs: deps.self.repairs };
}

/** The controller of Suture's own objects, with its watches (docs/security.md, self-protection). */
function selfController(deps: ReconcilersDeps): { controller: Controller; watches: Informer[] } | undefined {
  const self = deps.self;
  if (self === undefined) return undefined;
  const reconciler = new SelfReconciler({ client: deps.client, desired: self.desired ?? ((): KubeObject[] => []), repairs: self.repairs, ...(self.restoreSecret === undefined ? {} : { restoreSecret: self.restoreSecret }) });
  const controller = new Controller(reconciler, controllerDeps(deps), { name: 'self', workers: 1 });
  const watchDeps = { kubeConfig: deps.kubeConfig, logger: deps.logger, metrics: deps.metrics, clock: deps.clock };
  const watches = watchSelf(self.targets, watchDeps, {
    policy: () => controller.enqueue(SELF_POLICY_KEY),
    secretDeleted: () => controller.enqueue(SELF_SECRET_KEY),
    leaseDeleted: () => self.pokeElector?.(),
  });
  return { controller, watches };
}

/** The four leader-only controllers, wired to the stores' changes and to the objects they generate. */
export function createReconcilers(deps: ReconcilersDeps): Reconcilers {
  const clock = deps.clock ?? systemClock;
  const { stores } = deps;
  const informerDeps = { kubeConfig: deps.kubeConfig, logger: deps.logger, ...(deps.metrics === undefined ? {} : { metrics: deps.metrics }), clock };
  const generated = new GeneratedObjects(informerDeps);
  const rbac = deps.rbac === undefined ? new RbacCache(rbacInformers(informerDeps)) : undefined;
  const { controller: leases, reconciler: leaseReconciler } = leaseController(deps, { generated, rbac }, clock);
  const policies = new Controller(new PolicyReconciler({ client: deps.client, policies: stores.policies, clock }), controllerDeps(deps), { name: 'suturepolicy', workers: deps.workers ?? 1 });
  const exceptions = new Controller(new ExceptionReconciler({ client: deps.client, exceptions: stores.exceptions, clock }), controllerDeps(deps), { name: 'sutureexception', workers: deps.workers ?? 1 });
  const webhookReconciler = new WebhookReconciler({ client: deps.client, policies: stores.policies, leases: stores.leases, catalog: deps.catalog, ...deps.webhooks, ...selfRepairsOf(deps) });
  const webhooks = new Controller(webhookReconciler, controllerDeps(deps), { name: 'webhooks', workers: 1 });
  const configName = deps.webhooks.config.name ?? 'suture';
  const watches = watchWebhookConfigurations(configName, { kubeConfig: deps.kubeConfig, logger: deps.logger, ...(deps.metrics === undefined ? {} : { metrics: deps.metrics }), clock }, () => webhooks.enqueue(WEBHOOKS_KEY));

  const unsubscribe: (() => void)[] = [];
  const subscribe = (): void => {
    unsubscribe.push(
      stores.leases.onChange(
        leaseChangeHandler({ leases: stores.leases, isOwnWrite: (l) => leaseReconciler.isOwnWrite(l), enqueueLease: (k) => leases.enqueue(k), enqueueWebhooks: () => webhooks.enqueue(WEBHOOKS_KEY), snapshot: deps.snapshot }),
      ),
    );
    if (rbac !== undefined) unsubscribe.push(rbac.onChange((changed) => leasesConcerned(changed, rbac.objects(), stores.leases.all()).forEach((k) => leases.enqueue(k))));
    unsubscribe.push(stores.policies.onChange((name) => policies.enqueue(name)));
    unsubscribe.push(stores.policies.onChange(() => webhooks.enqueue(WEBHOOKS_KEY)));
    unsubscribe.push(stores.exceptions.onChange((name) => exceptions.enqueue(name)));
  };
  // The reconciler's own creates come back as events: nothing to do for them (edits and deletions by others bring the lease back).
  generated.onLeaseEvent((key, event, kind) => {
    if (event.type === 'delete' || !leaseReconciler.isOwnCreate(kind, event.object)) leases.enqueue(key);
  });
  const self = selfController(deps);
  const all = [leases, policies, exceptions, webhooks, ...(self === undefined ? [] : [self.controller])];
  const selfWatches = self?.watches ?? [];
  return {
    leases,
    policies,
    exceptions,
    webhooks,
    self: self?.controller,
    start: async () => {
      subscribe();
      await Promise.all([generated.start(), rbac?.start(), ...watches.map((w) => w.start()), ...selfWatches.map((w) => w.start())]);
      self?.controller.enqueue(SELF_POLICY_KEY);
      for (const lease of stores.leases.all()) leases.enqueue(`${lease.metadata.namespace ?? ''}/${lease.metadata.name ?? ''}`);
      for (const p of stores.policies.informer.list()) policies.enqueue(p.metadata.name ?? '');
      for (const x of stores.exceptions.informer.list()) exceptions.enqueue(x.metadata.name ?? '');
      webhooks.enqueue(WEBHOOKS_KEY);
      all.forEach((c) => c.start());
    },
    stop: async () => {
      unsubscribe.splice(0).forEach((u) => u());
      await Promise.all(all.map((c) => c.stop()));
      await Promise.all([generated.stop(), rbac?.stop(), ...watches.map((w) => w.stop()), ...selfWatches.map((w) => w.stop())]);
    },
    requestWebhookSync: () => webhooks.enqueue(WEBHOOKS_KEY),
  };
}
