// Suture's own webhook configurations (leader only): built from the stores and the caBundle, created or updated
// when they differ from what the API server holds, and repaired within seconds after anyone edits or deletes them
// (the API server sends no admission request for webhook configurations: docs/concepts.md, "What admission cannot see").
// Never publishes from cold caches: while a store has not synced, the reconcile waits and tries again, as Kyverno's
// webhook controller does, because a configuration built from empty caches would drop every rule.
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../../api/types.js';
import type { KindCatalog } from '../../core/generate/kinds.js';
import { type WebhookConfig, buildWebhookConfigurations } from '../../core/generate/webhooks.js';
import type { ObjectClient } from '../../kube/client.js';
import { LogKeys } from '../../observability/keys.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Clock } from '../../runtime/clock.js';
import { type Informer, createInformer } from '../../state/informer.js';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../reconciler.js';
import { RepairTracker, type SelfRepairs } from './self.js';
import type { LeaseStore, PolicyStore } from './stores.js';

/** The one key of the webhook controller: both configurations are built and compared together. */
export const WEBHOOKS_KEY = 'webhooks';
/** How long to wait before trying again while caches are cold or the CA is not known yet. */
export const COLD_RETRY_MS = 1000;
/** A periodic check besides the watch, in case an event was missed. */
export const DEFAULT_WEBHOOK_RESYNC_MS = 60_000;

export interface WebhookReconcilerDeps {
  client: ObjectClient;
  policies: PolicyStore;
  leases: LeaseStore;
  catalog: () => KindCatalog;
  /** Everything but the caBundle, which may rotate. */
  config: Omit<WebhookConfig, 'caBundle'>;
  /** The PEM of the CA that signed the serving certificate; undefined while it is not known yet. */
  caBundle: () => string | undefined;
  /** Further caches that must have synced before publishing (e.g. discovery). Default: none. */
  ready?: () => boolean;
  resyncMs?: number;
  /** Reports a configuration found deleted or edited and restored (self-protection). */
  repairs?: SelfRepairs;
}

export class WebhookReconciler implements Reconciler {
  private readonly tracker: RepairTracker;

  constructor(private readonly deps: WebhookReconcilerDeps) {
    this.tracker = new RepairTracker(deps.repairs);
  }

  async reconcile(_key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const cold = this.coldReason();
    if (cold !== undefined) {
      ctx.logger.info('Deferred webhook configurations: caches not synced', { [LogKeys.reason]: cold });
      return { requeueAfter: COLD_RETRY_MS };
    }
    const desired = this.desired();
    if (desired === undefined) return { requeueAfter: COLD_RETRY_MS };
    for (const obj of desired) await this.tracker.ensure(this.deps.client, obj, ctx.logger);
    return { requeueAfter: this.deps.resyncMs ?? DEFAULT_WEBHOOK_RESYNC_MS };
  }

  /** The configurations as they should be now; undefined while the CA is not known. */
  desired(): KubeObject[] | undefined {
    const caBundle = this.deps.caBundle();
    if (caBundle === undefined || caBundle === '') return undefined;
    const leases = this.deps.leases.all().filter((l) => l.status?.phase !== 'Invalid' && l.metadata.deletionTimestamp === undefined);
    const { validating, mutating } = buildWebhookConfigurations({ policies: this.deps.policies.policies(), leases, catalog: this.deps.catalog() }, { ...this.deps.config, caBundle });
    return [validating, mutating];
  }

  private coldReason(): string | undefined {
    if (!this.deps.policies.hasSynced()) return 'SuturePolicy cache';
    if (!this.deps.leases.hasSynced()) return 'SutureLease cache';
    if (this.deps.ready !== undefined && !this.deps.ready()) return 'other caches';
    return undefined;
  }
}

export interface WebhookWatchDeps {
  kubeConfig: KubeConfig;
  logger: Logger;
  metrics?: Metrics;
  clock?: Clock;
}

/** Informers on both webhook configuration kinds; `enqueue` is called whenever Suture's configuration (`name`) changes. */
export function watchWebhookConfigurations(name: string, deps: WebhookWatchDeps, enqueue: () => void): Informer[] {
  const informerDeps = { kubeConfig: deps.kubeConfig, logger: deps.logger, ...(deps.metrics === undefined ? {} : { metrics: deps.metrics }), ...(deps.clock === undefined ? {} : { clock: deps.clock }) };
  const kinds = [
    { kind: 'ValidatingWebhookConfiguration', resource: 'validatingwebhookconfigurations' },
    { kind: 'MutatingWebhookConfiguration', resource: 'mutatingwebhookconfigurations' },
  ];
  return kinds.map(({ kind, resource }) => {
    const informer = createInformer({ apiVersion: 'admissionregistration.k8s.io/v1', kind, resource }, informerDeps);
    informer.onEvent((event) => {
      if (event.object.metadata.name === name) enqueue();
    });
    return informer;
  });
}
