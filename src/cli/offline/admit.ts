// Admission as the API server runs it for Suture, offline: Suture's objects webhook validates Suture objects (for
// everyone), then — for governed requests — the mutating webhook's decision patches the object (lease stamps,
// averts) and the validating webhook decides on the patched request; budgets an allowed request uses are recorded.
// The same steps as src/admission/handler.ts, without the network: fresh state is always at hand here.
import jsonpatch from 'fast-json-patch';
import { decide } from '../../core/decide.js';
import type { AdmissionRequest, Decision } from '../../core/types.js';
import { sanitizeWarnings } from '../../admission/review.js';
import { OBJECTS_WEBHOOK, VALIDATE_WEBHOOK } from '../../core/generate/webhooks.js';
import { invalidObjectDecision } from '../../admission/objects.js';
import { OFFLINE_IDENTITIES, validateSutureObject, type SutureSim } from './suture.js';

/** The outcome of one write's admission. */
export type Admission =
  | { allowed: true; request: AdmissionRequest; warnings: string[]; decision?: Decision }
  | { allowed: false; webhook: string; status: number; message: string; decision?: Decision };

export interface AdmitContext {
  readonly suture: SutureSim;
  readonly now: Date;
  /** The cluster admin: never reaches Suture's governing webhooks. */
  readonly admin: boolean;
}

function isSutureWrite(request: AdmissionRequest): boolean {
  return request.kind.group === 'suture.dev' && (request.operation === 'CREATE' || request.operation === 'UPDATE') && !request.subResource;
}

function objectsWebhook(request: AdmissionRequest, now: Date): Admission | undefined {
  if (!isSutureWrite(request) || !request.object) return undefined;
  const errors = validateSutureObject(request.object, now);
  if (errors.length === 0) return undefined;
  return { allowed: false, webhook: OBJECTS_WEBHOOK, status: 403, message: invalidObjectDecision(request, errors).message };
}

/** Whether the webhooks' matchConditions and namespaceSelector keep the request away from Suture. */
function bypassesSuture(request: AdmissionRequest, ctx: AdmitContext): boolean {
  if (ctx.admin) return true;
  return request.namespace !== undefined && OFFLINE_IDENTITIES.exemptNamespaces.includes(request.namespace);
}

/** The mutating webhook: an allowed decision's patch applied to the object; its warnings when it averted. */
function mutate(request: AdmissionRequest, ctx: AdmitContext): { request: AdmissionRequest; warnings: string[] } {
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return { request, warnings: [] };
  if (request.object === undefined || request.object === null) return { request, warnings: [] };
  const decision = decide(request, ctx.suture.input(), ctx.now);
  if (!decision.allowed || decision.patch.length === 0) return { request, warnings: [] };
  const object = jsonpatch.applyPatch(request.object, decision.patch as jsonpatch.Operation[], false, false).newDocument;
  return { request: { ...request, object }, warnings: decision.averted === true ? decision.warnings : [] };
}

/** Admits one write: allowed with the request after mutation and the warnings, or refused by a named webhook. */
export function admit(request: AdmissionRequest, ctx: AdmitContext): Admission {
  const invalid = objectsWebhook(request, ctx.now);
  if (invalid !== undefined) return invalid;
  if (bypassesSuture(request, ctx)) return { allowed: true, request, warnings: [] };
  const mutated = mutate(request, ctx);
  const decision = decide(mutated.request, ctx.suture.input(), ctx.now);
  if (!decision.allowed) {
    const status = decision.verdict === 'error' ? 500 : 403;
    return { allowed: false, webhook: VALIDATE_WEBHOOK, status, message: decision.message || `denied by Suture (decision ${decision.id})`, decision };
  }
  ctx.suture.budgets.record(decision.budgets);
  return { allowed: true, request: mutated.request, warnings: sanitizeWarnings([...mutated.warnings, ...decision.warnings]), decision };
}
