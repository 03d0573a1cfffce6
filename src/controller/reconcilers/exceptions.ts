// The SutureException status reconciler (leader only): status.active and reason (active until …, expired, invalid
// such as too long), condition Active, requeued at expiry. Uses are counted by the ExceptionStore on every replica
// and written by the StatusFlusher.
import type { Condition, SutureException, SutureExceptionStatus } from '../../api/types.js';
import type { ObjectClient } from '../../kube/client.js';
import { LogKeys } from '../../observability/keys.js';
import type { Clock } from '../../runtime/clock.js';
import { setCondition } from '../conditions.js';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../reconciler.js';
import { statusPatch, sutureRef } from './apply.js';
import type { ExceptionState, ExceptionStore } from './stores.js';

export const ExceptionConditions = { Active: 'Active' } as const;

export interface ExceptionReconcilerDeps {
  client: ObjectClient;
  exceptions: ExceptionStore;
  clock: Clock;
}

interface Judgement {
  active: boolean;
  reason: string;
  conditionReason: string;
}

function judge(state: ExceptionState, now: number): Judgement {
  const compiled = state.compiled;
  if (compiled === undefined) {
    const reason = state.errors.map((e) => `${e.path}: ${e.message}`).join('; ');
    return { active: false, reason: `Invalid: ${reason}`, conditionReason: 'Invalid' };
  }
  const at = new Date(compiled.expiresAt).toISOString();
  if (compiled.expiresAt <= now) return { active: false, reason: `Expired at ${at}`, conditionReason: 'Expired' };
  return { active: true, reason: `Active until ${at}: ${compiled.reason}`, conditionReason: 'Active' };
}

export function exceptionStatus(ex: SutureException, state: ExceptionState, now: Date): Record<string, unknown> {
  const j = judge(state, now.getTime());
  const conditions: Condition[] = setCondition(
    ex.status?.conditions,
    { type: ExceptionConditions.Active, status: j.active ? 'True' : 'False', reason: j.conditionReason, message: j.reason, ...(ex.metadata.generation === undefined ? {} : { observedGeneration: ex.metadata.generation }) },
    now,
  );
  const status: Pick<SutureExceptionStatus, 'active' | 'reason' | 'conditions'> = { active: j.active, reason: j.reason, conditions };
  return status;
}

export class ExceptionReconciler implements Reconciler {
  constructor(private readonly deps: ExceptionReconcilerDeps) {}

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const ex = this.deps.exceptions.informer.get(key);
    const state = this.deps.exceptions.state(key);
    if (ex === undefined || state === undefined) return;
    const now = this.deps.clock.now();
    const desired = exceptionStatus(ex, state, new Date(now));
    const patch = statusPatch(ex.status, desired);
    if (patch !== undefined) {
      await this.deps.client.patchStatus(sutureRef('SutureException', ex), patch);
      ctx.logger.info('Updated SutureException status', { [LogKeys.exception]: key, active: desired['active'] });
    }
    const expiresAt = state.compiled?.expiresAt;
    return expiresAt !== undefined && expiresAt > now ? { requeueAfter: expiresAt - now + 1000 } : undefined;
  }
}
