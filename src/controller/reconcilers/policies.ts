// The SuturePolicy status reconciler (leader only): Ready True/Compiled, or False/InvalidPolicy with every error in
// status.errors. Compiling happens in the PolicyStore on every replica; an invalid newer version keeps the last
// valid one in force there, and this reconciler says so in the condition.
import type { Condition, SuturePolicy, SuturePolicyStatus } from '../../api/types.js';
import type { ObjectClient } from '../../kube/client.js';
import { LogKeys } from '../../observability/keys.js';
import type { Clock } from '../../runtime/clock.js';
import { setCondition } from '../conditions.js';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../reconciler.js';
import { statusPatch, sutureRef } from './apply.js';
import type { PolicyState, PolicyStore } from './stores.js';

export const PolicyConditions = { Ready: 'Ready' } as const;

export interface PolicyReconcilerDeps {
  client: ObjectClient;
  policies: PolicyStore;
  clock: Clock;
}

function readyCondition(state: PolicyState, generation: number | undefined): Parameters<typeof setCondition>[1] {
  const g = generation === undefined ? {} : { observedGeneration: generation };
  if (state.errors.length === 0) return { type: PolicyConditions.Ready, status: 'True', reason: 'Compiled', message: 'The policy compiled and is enforced', ...g };
  const first = state.errors[0];
  const count = state.errors.length === 1 ? '1 error' : `${state.errors.length} errors`;
  const inForce = state.inForce === undefined ? 'nothing of this policy is enforced' : `generation ${state.inForce.generation ?? '?'} (the last valid one) stays in force`;
  return { type: PolicyConditions.Ready, status: 'False', reason: 'InvalidPolicy', message: `${count}, first ${first?.path ?? ''}: ${first?.message ?? ''}; ${inForce}; see status.errors`, ...g };
}

/** The status fields this reconciler owns; `decisions` belongs to the StatusFlusher and is left alone. */
export function policyStatus(policy: SuturePolicy, state: PolicyState, now: Date): Record<string, unknown> {
  const generation = policy.metadata.generation;
  const conditions: Condition[] = setCondition(policy.status?.conditions, readyCondition(state, generation), now);
  const status: Pick<SuturePolicyStatus, 'conditions' | 'errors' | 'observedGeneration'> = {
    conditions,
    errors: state.errors.length > 0 ? state.errors : undefined,
    observedGeneration: generation,
  };
  return status;
}

export class PolicyReconciler implements Reconciler {
  constructor(private readonly deps: PolicyReconcilerDeps) {}

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const policy = this.deps.policies.informer.get(key);
    const state = this.deps.policies.state(key);
    if (policy === undefined || state === undefined) return;
    // The store compiles on its informer's events; a status written for an older generation is rewritten next time.
    if (state.generation !== policy.metadata.generation) return { requeueAfter: 100 };
    const desired = policyStatus(policy, state, new Date(this.deps.clock.now()));
    const patch = statusPatch(policy.status, desired);
    if (patch === undefined) return;
    await this.deps.client.patchStatus(sutureRef('SuturePolicy', policy), patch);
    ctx.logger.info('Updated SuturePolicy status', { [LogKeys.policy]: key, ready: state.errors.length === 0, [LogKeys.count]: state.errors.length });
  }
}
