// The objects.suture.dev webhook: every write of a SuturePolicy, SutureLease or SutureException, by anyone, is
// validated before it is stored, with the same errors the reconcilers write into status (so `kubectl apply
// --dry-run=server` tells a pipeline before merge).
import { GROUP } from '../api/constants.js';
import type { FieldError, KubeObject } from '../api/types.js';
import { plainDecision } from '../core/decide.js';
import { Verdicts, type AdmissionRequest, type Decision } from '../core/types.js';
import { DEFAULT_MAX_EXCEPTION_SECONDS, validateException, validateLease, validatePolicy } from '../core/validate.js';
import type { AdmissionHandler } from './chain.js';

/** Validates a Suture object at admission: the same lists of errors the reconcilers write into status. */
export function validateSutureObject(object: KubeObject, now: Date, maxExceptionSeconds = DEFAULT_MAX_EXCEPTION_SECONDS): FieldError[] {
  if (object.apiVersion.split('/')[0] !== GROUP) return [];
  switch (object.kind) {
    case 'SuturePolicy':
      return validatePolicy(object);
    case 'SutureLease':
      return validateLease(object);
    case 'SutureException':
      return validateException(object, now, maxExceptionSeconds);
    default:
      return [];
  }
}

/** The objects.suture.dev webhook: every write of a Suture object, by anyone, is validated before it is stored. */
export function objectsHandler(validate: (object: KubeObject, now: Date) => FieldError[], now: () => Date): AdmissionHandler {
  return (request: AdmissionRequest): Promise<Decision> => {
    const allow = plainDecision(request.uid, { verdict: Verdicts.Allow, message: '', stage: 'respond', summary: 'valid' });
    if (request.kind.group !== GROUP || !request.object || request.subResource) return Promise.resolve(allow);
    const errors = validate(request.object, now());
    return Promise.resolve(errors.length === 0 ? allow : invalidObjectDecision(request, errors));
  };
}

/** A Suture object that does not validate is refused with every error and its path (`kubectl apply --dry-run=server`). */
export function invalidObjectDecision(request: AdmissionRequest, errors: readonly FieldError[]): Decision {
  const what = `${request.kind.kind} ${request.name ?? request.object?.metadata.name ?? ''}`;
  const message = `${what} is invalid: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`;
  const decision = plainDecision(request.uid, { verdict: Verdicts.Deny, message, stage: 'respond', summary: `invalid ${request.kind.kind}` });
  decision.auditAnnotations = { 'suture.dev/decision': request.uid, 'suture.dev/verdict': Verdicts.Deny };
  const record = decision.trace[0];
  if (record !== undefined) record.checks = errors.map((e) => ({ source: e.path, result: 'fail' as const, message: e.message }));
  return decision;
}

