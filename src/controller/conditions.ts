// Standard status conditions (metav1.Condition): lastTransitionTime moves only when the status flips, and status is
// written only when it differs from what was observed.
import type { Condition } from '../api/types.js';
import { jsonEqual } from '../core/json.js';

/** Deep equality of JSON values (core/json.ts), re-exported for the reconcilers' callers. */
export { jsonEqual };

export type ConditionStatus = Condition['status'];

/** A condition as a reconciler states it; lastTransitionTime is derived. */
export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration?: number;
}

/** RFC 3339 with second precision, as the API server stores metav1.Time. */
export function timestamp(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Returns `conditions` with `input` set: a new condition gets `now` as lastTransitionTime; an existing one keeps its
 * lastTransitionTime unless its status changes. Other conditions and their order are kept. Does not mutate.
 */
export function setCondition(conditions: readonly Condition[] | undefined, input: ConditionInput, now: Date): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((condition) => condition.type === input.type);
  const existing = index >= 0 ? list[index] : undefined;
  const lastTransitionTime = existing !== undefined && existing.status === input.status ? existing.lastTransitionTime : timestamp(now);
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message,
    lastTransitionTime,
    ...(input.observedGeneration === undefined ? {} : { observedGeneration: input.observedGeneration }),
  };
  if (index >= 0) list[index] = next;
  else list.push(next);
  return list;
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((condition) => condition.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((condition) => condition.type !== type);
}

/** True when the desired status differs from the observed one ("write only if different"). */
export function statusChanged(observed: unknown, desired: unknown): boolean {
  return !jsonEqual(observed ?? {}, desired ?? {});
}
