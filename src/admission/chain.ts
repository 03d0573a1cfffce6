// The admission path as a chain of small wrappers around the decision handler (as Kyverno builds it). None of them
// touches HTTP or JSON: each takes a decoded request and returns a Decision. Only server.ts speaks HTTP.
import type { AdmissionRequest, Decision } from '../core/types.js';
import { EdgeLogKeys as K, errorText, type EdgeLogger, type MonotonicClock } from './deps.js';
import type { AdmissionMetrics } from './metrics.js';
import { errorDecision, type Phase } from './review.js';

/** Decides one admission request. The real one calls the core's decide() on a fresh snapshot. */
export type AdmissionHandler = (request: AdmissionRequest, phase: Phase) => Promise<Decision>;

/** Turns a thrown error (or rejected promise) into an error decision that still carries the request's uid. */
export function withRecovery(next: AdmissionHandler, logger: EdgeLogger): AdmissionHandler {
  return async (request, phase) => {
    try {
      return await next(request, phase);
    } catch (error) {
      logger.error('Failed to decide on admission request', { [K.decisionId]: request.uid, [K.phase]: phase, [K.error]: errorText(error) });
      return errorDecision(request.uid, `Suture failed to decide on this request (decision ${request.uid}): ${errorText(error)}`);
    }
  };
}

/**
 * Answers with an error decision when the handler takes longer than `timeoutMs`: better a clear answer from us than
 * the API server's own timeout. The late decision is dropped.
 */
export function withTimeout(next: AdmissionHandler, timeoutMs: number): AdmissionHandler {
  return async (request, phase) => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<Decision>((resolve) => {
      timer = setTimeout(() => {
        resolve(errorDecision(request.uid, `Suture did not decide on this request within ${timeoutMs} ms (decision ${request.uid})`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([next(request, phase), deadline]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** Records each decision's verdict and latency. */
export function withMetrics(next: AdmissionHandler, metrics: AdmissionMetrics, clock: MonotonicClock): AdmissionHandler {
  return async (request, phase) => {
    const start = clock();
    const decision = await next(request, phase);
    metrics.observeDecision({ phase, operation: request.operation, verdict: decision.verdict, seconds: (clock() - start) / 1000 });
    return decision;
  };
}

/** One structured line per decision: denials and errors at info/warn, allowances at debug. */
export function withLogging(next: AdmissionHandler, logger: EdgeLogger, clock: MonotonicClock): AdmissionHandler {
  return async (request, phase) => {
    const start = clock();
    const decision = await next(request, phase);
    const fields = {
      [K.decisionId]: decision.id,
      [K.phase]: phase,
      [K.verdict]: decision.verdict,
      [K.operation]: request.operation,
      [K.kind]: request.kind.kind,
      [K.subResource]: request.subResource,
      [K.namespace]: request.namespace,
      [K.name]: request.name,
      [K.subject]: request.userInfo.username,
      [K.dryRun]: request.dryRun ?? false,
      [K.durationMs]: Math.round((clock() - start) * 1000) / 1000,
    };
    if (decision.verdict === 'error') logger.warn('Failed to decide on admission request', { ...fields, [K.reason]: decision.message });
    else if (!decision.allowed) logger.info('Denied admission request', { ...fields, [K.reason]: decision.message });
    else logger.debug('Allowed admission request', fields);
    return decision;
  };
}

export interface ChainDependencies {
  logger: EdgeLogger;
  metrics: AdmissionMetrics;
  clock: MonotonicClock;
  /** Deadline for one decision in milliseconds; keep it below the webhook's timeoutSeconds. */
  timeoutMs: number;
}

/** The standard chain: metrics(logging(recovery(timeout(handler)))). */
export function buildChain(handler: AdmissionHandler, deps: ChainDependencies): AdmissionHandler {
  const guarded = withRecovery(withTimeout(handler, deps.timeoutMs), deps.logger);
  return withMetrics(withLogging(guarded, deps.logger, deps.clock), deps.metrics, deps.clock);
}
