// Wires Suture together: stores and caches on every replica, the admission server on every replica, the reconcilers
// on the leader. main.ts reads the configuration and calls runSuture(); tests call it in-process.
import { performance } from 'node:perf_hooks';
import type { FieldError, KubeObject } from './api/types.js';
import { BudgetStore, BUDGET_LABEL } from './admission/budgets.js';
import { FloorStore } from './admission/floors.js';
import type { Readiness } from './admission/deps.js';
import { createDecisionHandler } from './admission/handler.js';
import { objectsHandler, validateSutureObject } from './admission/objects.js';
import { admissionMetricsOn } from './admission/metrics.js';
import { defaultPkiPolicy, inspectCert, servingNames, splitPem } from './kube/pki.js';
import { metricQueries, PrometheusPoller } from './admission/prometheus.js';
import { DecisionRecorder } from './admission/recorder.js';
import { createAdmissionServer, type AdmissionServer } from './admission/server.js';
import type { Config } from './config.js';
import { systemClock, type Clock } from './runtime/clock.js';
import { createInformer, type Informer } from './state/informer.js';
import { LeaderElector } from './controller/leader.js';
import { createReconcilers, createStores, decisionCounters, selfRepairs, StatusFlusher, type Reconcilers, type SelfRepairs, type Stores } from './controller/reconcilers/index.js';
import { grantInputsChanged } from './controller/reconcilers/predicates.js';
import { buildSelfProtection, SELF_PROTECTION_NAME } from './core/generate/self-protection.js';
import { neededRights } from './kube/rights.js';
import { RightsMonitor } from './state/rights.js';
import { AuthenticationV1Api } from '@kubernetes/client-node';
import { kindCatalog } from './core/generate/kinds.js';
import { DirectoryCertificates, SecretCertificates, secretStore, type CertificateSource } from './kube/certificates.js';
import { createObjectClient, loadKubeConfig, RawObjectApi, type ObjectClient } from './kube/client.js';
import { createDiscovery, type Discovery } from './kube/discovery.js';
import { createLiveReader } from './kube/live.js';
import { ClusterCache, kindPatterns } from './state/cache.js';
import { coalescingReader } from './state/coalesce.js';
import { readFresh } from './state/fresh.js';
import { createEventRecorder, objectClientEventSink, type EventRecorder } from './observability/events.js';
import { LogKeys } from './observability/keys.js';
import type { Logger } from './observability/logger.js';
import { createMetrics, type CertificateExpiry, type Metrics } from './observability/metrics.js';

export interface RunningSuture {
  /** The admission server's port (useful with port 0). */
  port: number;
  isLeader(): boolean;
  ready(): Readiness;
  stop(): Promise<void>;
}

/** The decision clock: the real one, or (tests only) one that starts at a given instant and runs from there. */
export function decisionClock(testStart: Date | undefined): Clock {
  if (testStart === undefined) return systemClock;
  const offset = testStart.getTime() - Date.now();
  return { ...systemClock, now: () => Date.now() + offset };
}

interface Parts {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  client: ObjectClient;
  discovery: Discovery;
  stores: Stores;
  cache: ClusterCache;
  budgets: BudgetStore;
  budgetInformer: Informer;
  prometheus: PrometheusPoller;
  events: EventRecorder;
  recorder: DecisionRecorder;
  certificates: CertificateSource & { stop?: () => void; onChange(listener: () => void): void; restore?: () => Promise<boolean> };
  repairs: SelfRepairs;
  repairEvents: EventRecorder;
  /** Whether Suture holds its rights (self-protection on). */
  rights: RightsMonitor | undefined;
  /** The user Suture authenticates as (SelfSubjectReview); undefined when the review failed. */
  selfUser: string | undefined;
}

/** How often every replica re-reads the certificate Secret, so that a rotation written by any replica is served. */
const CERT_SECRET_RELOAD_MS = 10_000;

function webhookClient(config: Config): { service: { name: string; namespace: string; port: number } } | { url: string } {
  if (config.webhook.url !== undefined) return { url: config.webhook.url };
  return { service: { name: config.webhook.service, namespace: config.namespace, port: 443 } };
}

async function startCertificates(config: Config, client: ObjectClient, logger: Logger, clock: Clock): Promise<Parts['certificates']> {
  const certLogger = logger.child({ component: 'certificates' });
  if (config.webhook.certSource === 'dir') {
    const dir = new DirectoryCertificates({ dir: config.webhook.certDir, logger: certLogger });
    if (!(await dir.reload())) throw new Error(`no serving certificate in ${config.webhook.certDir} (tls.crt, tls.key)`);
    return Object.assign(dir, { stop: dir.watch(10_000) });
  }
  const names = servingNames(config.webhook.service, config.namespace, config.webhook.url !== undefined);
  const secret = new SecretCertificates({ store: secretStore(client, { namespace: config.namespace, name: config.webhook.certSecret }), policy: defaultPkiPolicy(names), clock: () => new Date(clock.now()), logger: certLogger });
  const first = await secret.reconcile();
  let timer: NodeJS.Timeout | undefined;
  const schedule = (at: Date): void => {
    timer = setTimeout(() => void secret.reconcile().then((r) => schedule(r.nextCheck), () => schedule(new Date(Date.now() + 60_000))), Math.max(1000, Math.min(at.getTime() - Date.now(), 3_600_000)));
    timer.unref();
  };
  schedule(first.nextCheck);
  // Another replica may rotate first (its check came due earlier, or it won the write): adopt what the Secret holds.
  const reload = setInterval(() => void secret.load().catch((error: unknown) => certLogger.warn('Failed to reload the webhook certificate Secret', { [LogKeys.error]: error })), CERT_SECRET_RELOAD_MS);
  reload.unref();
  return Object.assign(secret, {
    stop: () => {
      clearTimeout(timer);
      clearInterval(reload);
    },
  });
}

/** Keeps the caches, the Prometheus poller and the budgets in step with the policies and leases. */
function followPolicies(parts: Parts): void {
  const sync = (): void => {
    const policies = parts.stores.policies.policies();
    const leases = parts.stores.leases.all();
    const patterns = kindPatterns([...policies.flatMap((p) => p.match), ...leases.flatMap((l) => l.spec.resources)]);
    // Kinds CEL looks up by constant apiVersion and kind are cached in full (the others only by their metadata).
    for (const p of policies) for (const k of p.lookupKinds) patterns.add(`${k.apiVersion.includes('/') ? k.apiVersion.slice(0, k.apiVersion.indexOf('/')) : ''}/${k.kind}`);
    // Floors count ready pods (core/invariants.ts, minAvailable): readiness is in a pod's status, which the metadata
    // graph lacks; without it every pod would look unready and no removal would seem to lower a floor.
    if (policies.some((p) => p.invariants.some((i) => i.kind === 'minAvailable'))) patterns.add('/Pod');
    void parts.cache.want(patterns);
    void parts.prometheus.track(metricQueries(policies));
  };
  parts.stores.policies.onChange(sync);
  // A lease's status writes change no kind it needs: only an added, removed or respecified lease does.
  parts.stores.leases.onChange((_key, change) => {
    if (change.before === undefined || change.after === undefined || grantInputsChanged(change.before, change.after)) sync();
  });
  sync();
}

/** The serving certificate's and its CA's expiry, for suture_certificate_expiry_timestamp_seconds; none before loading. */
function certificateExpiries(source: CertificateSource): CertificateExpiry[] {
  try {
    const ca = splitPem(source.caBundle())[0];
    return [
      { certificate: 'serving', notAfter: inspectCert(source.currentServing().cert).notAfter },
      ...(ca === undefined ? [] : [{ certificate: 'ca', notAfter: inspectCert(ca).notAfter }]),
    ];
  } catch {
    return [];
  }
}

/** Whether the caches synced: nothing is published from cold caches. */
function cachesReady(parts: Parts): () => Readiness {
  return () => {
    if (!parts.stores.hasSynced()) return { ready: false, reason: 'SuturePolicy, SutureLease and SutureException caches have not synced' };
    if (!parts.budgetInformer.hasSynced()) return { ready: false, reason: 'budget cache has not synced' };
    const unsynced = parts.cache.unsynced();
    if (unsynced.length > 0) return { ready: false, reason: `caches not synced: ${unsynced.join(', ')}` };
    return { ready: true };
  };
}

/** /readyz: the caches synced and Suture holds the rights it needs (its ClusterRoleBinding may have been deleted). */
function readiness(parts: Parts, caches: () => Readiness): () => Readiness {
  return () => {
    // Rights first: without them the caches cannot sync either, and the missing rights are the cause to name.
    const lacking = parts.rights?.lacking();
    if (parts.rights !== undefined && lacking === undefined) return { ready: false, reason: 'rights not checked yet' };
    if (lacking !== undefined && lacking.length > 0) return { ready: false, reason: `Suture lacks rights it needs: ${lacking.join('; ')}` };
    return caches();
  };
}

/** The user this process authenticates as, from a SelfSubjectReview; undefined when the API server did not say. */
async function selfUser(kubeConfig: ReturnType<typeof loadKubeConfig>, logger: Logger): Promise<string | undefined> {
  try {
    const review = await kubeConfig.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
    return review.status?.userInfo?.username;
  } catch (error) {
    logger.warn('Could not learn the user Suture runs as (SelfSubjectReview)', { [LogKeys.error]: error });
    return undefined;
  }
}

/** The self-protection policy and binding for this configuration; Suture's own user is allowed whatever it is. */
function selfProtectionObjects(parts: Parts): KubeObject[] {
  const { config } = parts;
  const sa = `system:serviceaccount:${config.namespace}:${config.selfProtection.serviceAccount}`;
  const extra = parts.selfUser !== undefined && parts.selfUser !== sa ? [parts.selfUser] : [];
  return buildSelfProtection({
    namespace: config.namespace,
    serviceAccount: config.selfProtection.serviceAccount,
    adminUsers: [...config.selfProtection.adminUsers, ...extra],
    adminGroups: config.selfProtection.adminGroups,
    objects: { webhookConfiguration: 'suture', workload: 'suture', service: config.webhook.service, certSecret: config.webhook.certSecret, leaderLease: config.leaderElection.name },
  });
}

async function buildParts(config: Config, logger: Logger): Promise<Parts> {
  const metrics = createMetrics({ collectDefault: true });
  const clock = decisionClock(config.testClock?.start);
  const kubeConfig = loadKubeConfig(config.kubeconfig);
  const client = createObjectClient(kubeConfig, { fieldManager: 'suture' });
  const discovery = createDiscovery(kubeConfig.makeApiClient(RawObjectApi));
  const informerDeps = { kubeConfig, logger, metrics };
  const stores = createStores({ ...informerDeps, clock, maxExceptionSeconds: config.maxExceptionDurationMs / 1000 });
  const cache = new ClusterCache({ ...informerDeps, discovery });
  const budgets = new BudgetStore({ client, namespace: config.namespace, now: () => clock.now() });
  const budgetInformer = createInformer({ apiVersion: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespace: config.namespace, labelSelector: `${BUDGET_LABEL}=true` }, informerDeps);
  budgetInformer.onEvent((e) => budgets.observe(e.object, e.type === 'delete'));
  const prometheus = new PrometheusPoller({ now: () => clock.now() });
  const events = createEventRecorder({ sink: objectClientEventSink(client), logger, metrics }, { component: 'suture', instance: config.podName });
  const recorder = new DecisionRecorder({ metrics, events, counters: decisionCounters(stores.policies, stores.exceptions), now: () => new Date(clock.now()) });
  const certificates = await startCertificates(config, client, logger, clock);
  metrics.watchCertificates(() => certificateExpiries(certificates));
  // Repairs get Events of their own: a burst of denial Events must not use up the rate limit they need.
  const repairEvents = createEventRecorder({ sink: objectClientEventSink(client), logger, metrics }, { component: 'suture', instance: config.podName });
  const repairs = selfRepairs({ logger: logger.child({ component: 'self-protection' }), metrics, events: repairEvents });
  const rights = config.selfProtection.enabled
    ? new RightsMonitor({ kubeConfig, logger: logger.child({ component: 'rights' }), metrics, rights: neededRights(config.namespace, { selfProtection: true }) })
    : undefined;
  const user = config.selfProtection.enabled ? await selfUser(kubeConfig, logger) : undefined;
  return { config, logger, metrics, clock, client, discovery, stores, cache, budgets, budgetInformer, prometheus, events, recorder, certificates, repairs, repairEvents, rights, selfUser: user };
}

function admissionServer(parts: Parts, ready: () => Readiness): AdmissionServer {
  const { config, clock, logger } = parts;
  const now = (): Date => new Date(clock.now());
  const maxExceptionSeconds = config.maxExceptionDurationMs / 1000;
  const validate = (object: KubeObject, at: Date): FieldError[] => validateSutureObject(object, at, maxExceptionSeconds);
  const live = coalescingReader(createLiveReader(RawObjectApi.fromKubeConfig(loadKubeConfig(config.kubeconfig))));
  const handler = createDecisionHandler({
    sources: {
      snapshot: () => parts.cache.view(),
      readFresh: (base, what) => readFresh(base, what, { reader: live, coverage: (group, kind) => parts.cache.coverage(group, kind), discover: (group, kind) => parts.discovery.forKind(group, kind) }),
      policies: () => parts.stores.policies.policies(),
      leases: () => parts.stores.leases.leases(),
      exceptions: () => parts.stores.exceptions.exceptions(),
      metrics: parts.prometheus,
      identities: { exemptNamespaces: [...config.exemptions.namespaces, config.namespace], exemptUsers: config.exemptions.users, exemptGroups: config.exemptions.groups },
    },
    budgets: parts.budgets,
    floors: new FloorStore({ client: parts.client, namespace: config.namespace, now: () => parts.clock.now() }),
    now,
    freshnessTimeoutMs: config.freshnessTimeoutMs,
    record: (request, decision) => parts.recorder.record(request, decision),
    observeStage: (stage, seconds) => parts.metrics.admissionStageDuration.observe({ stage }, seconds),
    stageClock: () => performance.now(),
    readPod: (namespace, name) => parts.client.find({ apiVersion: 'v1', kind: 'Pod', namespace, name }),
  });
  return createAdmissionServer({
    handler,
    objectsHandler: objectsHandler(validate, now),
    tls: () => parts.certificates.currentServing(),
    ready,
    registry: parts.metrics.registry,
    metrics: admissionMetricsOn(parts.metrics),
    logger: logger.child({ component: 'admission' }),
    clock: () => performance.now(),
    port: config.webhook.port,
    host: config.webhook.host,
    decisions: (id) => parts.recorder.log.get(id),
  });
}

function selfDeps(parts: Parts, pokeElector: () => void): NonNullable<Parameters<typeof createReconcilers>[0]['self']> {
  const { config } = parts;
  const enabled = config.selfProtection.enabled;
  const restore = parts.certificates.restore?.bind(parts.certificates);
  const secretRef: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { namespace: config.namespace, name: config.webhook.certSecret } };
  return {
    repairs: parts.repairs,
    targets: { policyName: SELF_PROTECTION_NAME, namespace: config.namespace, ...(enabled ? { certSecret: config.webhook.certSecret, leaderLease: config.leaderElection.name } : {}) },
    ...(enabled ? { desired: () => selfProtectionObjects(parts), pokeElector } : {}),
    ...(enabled && restore !== undefined ? { restoreSecret: async (): Promise<KubeObject | undefined> => ((await restore()) ? secretRef : undefined) } : {}),
  };
}

/**
 * Never publish webhook rules built from cold caches (Kyverno's rule): wait until this replica could serve — once.
 * After that, rules follow policies at once: a policy that makes every kind re-list in full (a match naming no kind)
 * would otherwise hold back its own rules while it already says Ready, and the requests it should judge would never
 * reach Suture. Meanwhile the snapshot keeps each kind's earlier objects and destructive verdicts read fresh state.
 */
function warmOnce(ready: () => Readiness): () => boolean {
  let warm = false;
  return () => (warm ||= ready().ready);
}

function reconcilersFor(parts: Parts, ready: () => Readiness, pokeElector: () => void): () => Reconcilers {
  const { config, logger } = parts;
  return (): Reconcilers =>
    createReconcilers({
      kubeConfig: loadKubeConfig(config.kubeconfig),
      client: parts.client,
      logger: logger.child({ component: 'reconcilers' }),
      metrics: parts.metrics,
      clock: parts.clock,
      stores: parts.stores,
      snapshot: () => parts.cache.view(),
      catalog: () => kindCatalog(parts.discovery.all()),
      workers: config.workers,
      self: selfDeps(parts, pokeElector),
      webhooks: {
        config: { client: webhookClient(config), failurePolicy: config.webhook.failurePolicy, exemptNamespaces: [...config.exemptions.namespaces, config.namespace], exemptUsers: config.exemptions.users, exemptGroups: config.exemptions.groups },
        caBundle: () => parts.certificates.caBundle(),
        ready: warmOnce(ready),
      },
    });
}

/** The reconcilers run while this replica leads (or always, with leader election off: one replica only). */
interface Leadership {
  start(): Promise<void>;
  stop(): Promise<void>;
  isLeader(): boolean;
  /** Republishes the webhook configurations now, when this replica leads (the caBundle changed). */
  requestWebhookSync(): void;
}

function leadership(parts: Parts, ready: () => Readiness): Leadership {
  const { config, logger } = parts;
  let poke = (): void => undefined;
  const build = reconcilersFor(parts, ready, () => poke());
  let reconcilers: Reconcilers | undefined;
  if (!config.leaderElection.enabled) {
    return {
      start: async () => {
        reconcilers = build();
        await reconcilers.start();
      },
      stop: async () => reconcilers?.stop(),
      isLeader: () => true,
      requestWebhookSync: () => reconcilers?.requestWebhookSync(),
    };
  }
  const elector = new LeaderElector(
    { namespace: config.leaderElection.namespace, name: config.leaderElection.name, identity: config.leaderElection.identity, leaseDurationMs: config.leaderElection.leaseDurationMs, renewDeadlineMs: config.leaderElection.renewDeadlineMs, retryPeriodMs: config.leaderElection.retryPeriodMs },
    {
      onStartedLeading: async () => {
        reconcilers = build();
        await reconcilers.start();
      },
      onStoppedLeading: async () => {
        const stopping = reconcilers;
        reconcilers = undefined;
        await stopping?.stop();
      },
      onLeaseRecreated: (lease) => parts.repairs.report({ ...lease, apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' }, 'created'),
    },
    { client: parts.client, logger: logger.child({ component: 'leader' }), metrics: parts.metrics },
  );
  poke = (): void => elector.poke();
  return {
    start: () => {
      elector.start();
      return Promise.resolve();
    },
    stop: () => elector.stop({ release: true }),
    isLeader: () => elector.isLeader(),
    requestWebhookSync: () => reconcilers?.requestWebhookSync(),
  };
}

/** Starts Suture: caches, admission server, status flushing, and leader election for the reconcilers. */
export async function runSuture(config: Config, logger: Logger): Promise<RunningSuture> {
  const parts = await buildParts(config, logger);
  await Promise.all([parts.stores.start(), parts.budgetInformer.start()]);
  followPolicies(parts);
  await parts.rights?.start();
  const caches = cachesReady(parts);
  const ready = readiness(parts, caches);
  const server = admissionServer(parts, ready);
  const address = await server.listen();
  const flusher = new StatusFlusher({ client: parts.client, policies: parts.stores.policies, exceptions: parts.stores.exceptions, logger, clock: parts.clock });
  flusher.start();
  // Webhook rules are never published from cold caches; missing rights alone do not stop repairs (what can be written is).
  const leader = leadership(parts, caches);
  // A new CA in the bundle must reach the API server before anything is signed with it (pki.ts, rotation step 2).
  parts.certificates.onChange(() => leader.requestWebhookSync());
  await leader.start();
  logger.info('Started Suture', { [LogKeys.name]: config.podName, port: address.port });
  return {
    port: address.port,
    isLeader: () => leader.isLeader(),
    ready,
    stop: async () => {
      await server.close();
      await leader.stop();
      await flusher.stop();
      parts.prometheus.stop();
      parts.certificates.stop?.();
      await Promise.all([parts.events.flush(), parts.repairEvents.flush()]);
      await Promise.all([parts.stores.stop(), parts.cache.stop(), parts.budgetInformer.stop(), parts.rights?.stop()]);
      logger.info('Stopped Suture', { [LogKeys.name]: config.podName });
    },
  };
}
