// Suture's own objects (leader only): the self-protection ValidatingAdmissionPolicy and binding (written here and
// repaired at once after anyone edits or deletes them: admission policies are never judged by admission policies,
// so a watch is the only guard the API-based ones have), the certificate Secret (written back from what the
// replicas serve) and the leader Lease (the elector is woken to create it again). Every repair is reported: a
// warning log line, `suture_self_repairs_total{kind}` and a Warning Event `SelfRepaired` on the object.
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../../api/types.js';
import type { ObjectClient } from '../../kube/client.js';
import { EventTypes, type EventRecorder } from '../../observability/events.js';
import { LogKeys } from '../../observability/keys.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Clock } from '../../runtime/clock.js';
import { type Informer, createInformer } from '../../state/informer.js';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../reconciler.js';
import { type EnsureOutcome, describeRef, ensureObject, refOf } from './apply.js';

export const SELF_POLICY_KEY = 'policy';
export const SELF_SECRET_KEY = 'secret';
export const DEFAULT_SELF_RESYNC_MS = 60_000;

/** Reports that Suture found one of its objects deleted or changed and restored it. */
export interface SelfRepairs {
  report(object: KubeObject, outcome: Exclude<EnsureOutcome, 'unchanged'>): void;
}

export function selfRepairs(deps: { logger: Logger; metrics?: Metrics | undefined; events?: EventRecorder | undefined }): SelfRepairs {
  return {
    report(object, outcome) {
      const what = describeRef(object);
      const done = outcome === 'created' ? 'recreated it' : 'restored what Suture wrote';
      deps.metrics?.selfRepairs.inc({ kind: object.kind });
      deps.logger.warn(`Repaired ${object.kind}`, { [LogKeys.kind]: object.kind, [LogKeys.namespace]: object.metadata.namespace, [LogKeys.name]: object.metadata.name, [LogKeys.result]: outcome });
      deps.events?.record(object, {
        type: EventTypes.Warning,
        reason: 'SelfRepaired',
        message: `${what} was ${outcome === 'created' ? 'deleted' : 'changed'} by someone other than Suture; Suture ${done} (docs/security.md, self-protection)`,
        action: 'Repair',
      });
    },
  };
}

/**
 * Runs `ensureObject` and reports a repair when Suture had to write although what it wants did not change since its
 * last write: someone else deleted or changed the object. (A write because the policies changed is no repair.)
 */
export class RepairTracker {
  private readonly written = new Map<string, string>();

  constructor(private readonly repairs: SelfRepairs | undefined) {}

  async ensure(client: ObjectClient, desired: KubeObject, logger: Logger): Promise<EnsureOutcome> {
    const ref = refOf(desired);
    const key = `${ref.apiVersion}/${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
    const wanted = JSON.stringify(desired);
    const unchangedWish = this.written.get(key) === wanted;
    const outcome = await ensureObject(client, desired, logger);
    if (outcome !== 'unchanged' && unchangedWish) this.repairs?.report(desired, outcome);
    this.written.set(key, wanted);
    return outcome;
  }
}

export interface SelfReconcilerDeps {
  client: ObjectClient;
  /** The self-protection policy and binding as they should be (none when self-protection is off). */
  desired: () => KubeObject[];
  repairs: SelfRepairs;
  /** Writes the certificate Secret back when it is gone; resolves the Secret it wrote, or undefined. */
  restoreSecret?: () => Promise<KubeObject | undefined>;
  resyncMs?: number;
}

export class SelfReconciler implements Reconciler {
  private readonly tracker: RepairTracker;

  constructor(private readonly deps: SelfReconcilerDeps) {
    this.tracker = new RepairTracker(deps.repairs);
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    if (key === SELF_SECRET_KEY) {
      const restored = await this.deps.restoreSecret?.();
      if (restored !== undefined) this.deps.repairs.report(restored, 'created');
      return undefined;
    }
    for (const obj of this.deps.desired()) await this.tracker.ensure(this.deps.client, obj, ctx.logger);
    return { requeueAfter: this.deps.resyncMs ?? DEFAULT_SELF_RESYNC_MS };
  }
}

export interface SelfWatchTargets {
  /** metadata.name of the policy and of its binding. */
  policyName: string;
  namespace: string;
  certSecret?: string;
  leaderLease?: string;
}

export interface SelfWatchHandlers {
  policy: () => void;
  secretDeleted: () => void;
  leaseDeleted: () => void;
}

type WatchDeps = { kubeConfig: KubeConfig; logger: Logger; metrics?: Metrics | undefined; clock?: Clock | undefined };

function namedWatch(target: Parameters<typeof createInformer>[0], deps: WatchDeps, only: { name: string; deletes: boolean }, handler: () => void): Informer {
  const informerDeps = { kubeConfig: deps.kubeConfig, logger: deps.logger, ...(deps.metrics === undefined ? {} : { metrics: deps.metrics }), ...(deps.clock === undefined ? {} : { clock: deps.clock }) };
  const informer = createInformer(target, informerDeps);
  informer.onEvent((event) => {
    if (event.object.metadata.name === only.name && (!only.deletes || event.type === 'delete')) handler();
  });
  return informer;
}

/** Informers on the policy, the binding, and the Secrets and Leases of Suture's namespace; handlers see only Suture's own. */
export function watchSelf(targets: SelfWatchTargets, deps: WatchDeps, on: SelfWatchHandlers): Informer[] {
  const admission = 'admissionregistration.k8s.io/v1';
  const informers = [
    namedWatch({ apiVersion: admission, kind: 'ValidatingAdmissionPolicy', resource: 'validatingadmissionpolicies' }, deps, { name: targets.policyName, deletes: false }, on.policy),
    namedWatch({ apiVersion: admission, kind: 'ValidatingAdmissionPolicyBinding', resource: 'validatingadmissionpolicybindings' }, deps, { name: targets.policyName, deletes: false }, on.policy),
  ];
  if (targets.certSecret !== undefined) informers.push(namedWatch({ apiVersion: 'v1', kind: 'Secret', resource: 'secrets', namespace: targets.namespace }, deps, { name: targets.certSecret, deletes: true }, on.secretDeleted));
  if (targets.leaderLease !== undefined) informers.push(namedWatch({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', resource: 'leases', namespace: targets.namespace }, deps, { name: targets.leaderLease, deletes: true }, on.leaseDeleted));
  return informers;
}
