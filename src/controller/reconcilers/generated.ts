// The objects Suture generated for leases (RBAC, NetworkPolicies), watched by label. They tell the lease reconciler
// what exists that is no longer desired, and their events bring it back when someone edits or deletes one, or when
// one outlives its lease (a lease deleted while Suture was down: the first list finds the orphan).
import type { KubeConfig } from '@kubernetes/client-node';
import { LEASE_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../api/constants.js';
import type { KubeObject } from '../../api/types.js';
import { leaseOfLabel } from '../../core/generate/names.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Clock } from '../../runtime/clock.js';
import { type Informer, type InformerEvent, type InformerTarget, createInformer } from '../../state/informer.js';

/** The kinds generated for leases. */
export const GENERATED_KINDS: readonly Omit<InformerTarget, 'labelSelector'>[] = [
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', resource: 'clusterroles' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', resource: 'clusterrolebindings' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', resource: 'roles' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', resource: 'rolebindings' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', resource: 'networkpolicies' },
];

/** Objects labelled managed-by Suture that name a lease. */
export const GENERATED_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE},${LEASE_LABEL}`;

export interface GeneratedObjectsDeps {
  kubeConfig: KubeConfig;
  logger: Logger;
  metrics?: Metrics;
  clock?: Clock;
}

export class GeneratedObjects {
  readonly informers: Informer[];

  /** Per lease label value: the cached objects carrying it, as (informer, key); kept from the informers' events. */
  private readonly byLease = new Map<string, Map<string, { informer: Informer; key: string }>>();
  /** The label value each indexed object carried last. */
  private readonly labelOf = new Map<string, string>();

  constructor(deps: GeneratedObjectsDeps) {
    const informerDeps = { kubeConfig: deps.kubeConfig, logger: deps.logger, ...(deps.metrics === undefined ? {} : { metrics: deps.metrics }), ...(deps.clock === undefined ? {} : { clock: deps.clock }) };
    this.informers = GENERATED_KINDS.map((target) => createInformer({ ...target, labelSelector: GENERATED_SELECTOR }, informerDeps));
    this.informers.forEach((informer, i) => informer.onEvent((event) => this.index(informer, `${i}\u0000${event.key}`, event)));
  }

  private index(informer: Informer, entry: string, event: InformerEvent): void {
    const before = this.labelOf.get(entry);
    const after = event.type === 'delete' ? undefined : event.object.metadata.labels?.[LEASE_LABEL];
    if (before !== undefined && before !== after) {
      const entries = this.byLease.get(before);
      entries?.delete(entry);
      if (entries?.size === 0) this.byLease.delete(before);
    }
    if (after === undefined) {
      this.labelOf.delete(entry);
      return;
    }
    this.labelOf.set(entry, after);
    let entries = this.byLease.get(after);
    if (entries === undefined) {
      entries = new Map();
      this.byLease.set(after, entries);
    }
    entries.set(entry, { informer, key: event.key });
  }

  /** Calls `enqueue` with the lease key (`namespace/name`) of every generated object that changes, the event and its kind. */
  onLeaseEvent(enqueue: (leaseKey: string, event: InformerEvent, kind: string) => void): void {
    for (const informer of this.informers) {
      informer.onEvent((event) => {
        const lease = leaseOfLabel(event.object.metadata.labels?.[LEASE_LABEL]);
        if (lease !== undefined) enqueue(`${lease.namespace}/${lease.name}`, event, informer.target.kind);
      });
    }
  }

  async start(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  hasSynced(): boolean {
    return this.informers.every((i) => i.hasSynced());
  }

  /** The cached object with the kind, namespace and name of `obj`, when it is one of the generated kinds. */
  cached(obj: KubeObject): KubeObject | undefined {
    const informer = this.informers.find((i) => i.target.kind === obj.kind && i.target.apiVersion === obj.apiVersion);
    const namespace = obj.metadata.namespace;
    return informer?.get(namespace === undefined || namespace === '' ? (obj.metadata.name ?? '') : `${namespace}/${obj.metadata.name ?? ''}`);
  }

  /** Every cached object generated for the lease labelled `<namespace>.<name>`, with apiVersion and kind set. */
  forLease(lease: { namespace: string; name: string }): KubeObject[] {
    const value = `${lease.namespace}.${lease.name}`;
    const found: KubeObject[] = [];
    for (const { informer, key } of this.byLease.get(value)?.values() ?? []) {
      const o = informer.get(key);
      if (o !== undefined && o.metadata.labels?.[LEASE_LABEL] === value) found.push({ ...o, apiVersion: informer.target.apiVersion, kind: informer.target.kind });
    }
    return found;
  }
}
