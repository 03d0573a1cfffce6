// The admission path as a chain of small wrappers around the decision handler (as Kyverno builds it). None of them
// touches HTTP or JSON: each takes a decoded request and returns a Decision. Only server.ts speaks HTTP.
import type { AdmissionRequest, Decision } from '../core/types.js';
import { EdgeLogKeys as K, errorText, type EdgeLogger, type MonotonicClock } from './deps.js';
import type { AdmissionMetrics } from './metrics.js';
import { errorDecision, Phases, type Phase } from './review.js';

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

/** At most `perSecond` lines per key in each second; the lines held back are counted and reported with the next one. */
export class LineLimiter {
  private readonly windows = new Map<string, { second: number; written: number; held: number }>();

  constructor(private readonly perSecond: number) {}

  /** undefined: hold this line back; otherwise write it, with how many were held back before it. */
  admit(key: string, nowMs: number): { suppressed: number } | undefined {
    const second = Math.floor(nowMs / 1000);
    const w = this.windows.get(key) ?? { second, written: 0, held: 0 };
    if (w.second !== second) Object.assign(w, { second, written: 0 });
    this.windows.set(key, w);
    if (w.written >= this.perSecond) {
      w.held += 1;
      return undefined;
    }
    w.written += 1;
    const suppressed = w.held;
    w.held = 0;
    if (this.windows.size > 10_000) this.windows.clear(); // bounded: policy names are few, but keys come from input
    return { suppressed };
  }
}

/** Allowed lines at info per policy (or lease, exception) and second; the rest are counted in the next one. */
export const ALLOWED_INFO_LINES_PER_SECOND = 10;

/** The policy, lease or exception an allowed decision is about, or undefined when nothing but the request was looked at. */
function concernOf(decision: Decision): string | undefined {
  const named = decision.violations[0]?.policy ?? decision.exceptionsUsed[0];
  if (named !== undefined) return named;
  const looked = decision.trace.flatMap((s) => s.checks).find((c) => c.result !== 'skip');
  return looked?.source.split('/').slice(0, 2).join('/');
}

/**
 * One structured line per decision: errors at warn; denials at info; allowed decisions a policy, lease or exception
 * had a say in (warned, audited, averted, relaxed, excepted, or checked and passed) at info, at most
 * ALLOWED_INFO_LINES_PER_SECOND per policy and second with the held-back count in the next line; allowed decisions
 * nothing looked at at debug.
 */
export function withLogging(next: AdmissionHandler, logger: EdgeLogger, clock: MonotonicClock, limiter = new LineLimiter(ALLOWED_INFO_LINES_PER_SECOND)): AdmissionHandler {
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
    else logAllowed(logger, limiter, { decision, fields, phase, nowMs: clock() });
    return decision;
  };
}

function logAllowed(logger: EdgeLogger, limiter: LineLimiter, at: { decision: Decision; fields: Record<string, unknown>; phase: Phase; nowMs: number }): void {
  const { decision, fields } = at;
  // The mutating phase's allowance is the validating phase's business: one info line per request.
  const concern = at.phase === Phases.Mutate && decision.averted !== true ? undefined : concernOf(decision);
  if (concern === undefined) {
    logger.debug('Allowed admission request', fields);
    return;
  }
  const admitted = limiter.admit(concern, at.nowMs);
  if (admitted === undefined) return;
  const message = decision.verdict === 'warn' ? 'Warned on admission request' : decision.verdict === 'audit' ? 'Audited admission request' : 'Allowed admission request';
  const reason = decision.message === '' ? undefined : decision.message;
  logger.info(message, { ...fields, [K.policy]: concern, ...(reason === undefined ? {} : { [K.reason]: reason }), ...(admitted.suppressed > 0 ? { [K.suppressed]: admitted.suppressed } : {}) });
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
