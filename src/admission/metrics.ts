// Metrics of the admission edge: HTTP answers by route and code, decision latency by operation and verdict, and time
// by stage. The decision counters by policy (suture_decisions_total) belong to observability; these describe the edge.
import type { Histogram} from 'prom-client';
import { Counter, type Registry } from 'prom-client';
import type { AdmissionOperation, Verdict } from '../core/types.js';
import type { Phase } from './review.js';

/** One decision taken by the handler chain. */
export interface DecisionSample {
  phase: Phase;
  operation: AdmissionOperation;
  verdict: Verdict;
  seconds: number;
}

/** The stages of the admission edge, each timed into suture_admission_stage_duration_seconds{stage}. */
export const AdmissionStages = { Decode: 'decode', Decide: 'decide', Freshness: 'freshness', Budgets: 'budgets', Floors: 'floors', Respond: 'respond' } as const;
export type AdmissionStage = (typeof AdmissionStages)[keyof typeof AdmissionStages];

export interface AdmissionMetrics {
  observeDecision(sample: DecisionSample): void;
  /** Time spent in one stage of the edge. */
  observeStage(stage: AdmissionStage, seconds: number): void;
  /** One HTTP answer on an edge route ("/validate", "/mutate", "other"). */
  observeHttp(route: string, code: number): void;
}

const ROUTES = new Set(['/validate', '/mutate', '/validate-objects', '/healthz', '/readyz', '/metrics']);

function httpCounter(registry: Registry): (route: string, code: number) => void {
  const requests = new Counter({
    name: 'suture_admission_http_requests_total',
    help: 'HTTP requests answered by the admission server, by route and status code.',
    labelNames: ['route', 'code'] as const,
    registers: [registry],
  });
  // Unknown paths share one label value, so a scanner cannot blow up the series count.
  return (route, code) => requests.inc({ route: ROUTES.has(route) ? route : 'other', code: String(code) });
}

/** Metrics that record nothing. */
export function createNullAdmissionMetrics(): AdmissionMetrics {
  return { observeDecision: () => undefined, observeStage: () => undefined, observeHttp: () => undefined };
}

/** The part of observability's Metrics the edge records into (structural, so this module does not depend on it). */
export interface SharedAdmissionMetrics {
  registry: Registry;
  admissionDuration: Histogram<'operation' | 'verdict'>;
  admissionStageDuration: Histogram<'stage'>;
}

/**
 * The edge's metrics on the process-wide set: decision latency goes to suture_admission_duration_seconds{operation,
 * verdict}, stages to suture_admission_stage_duration_seconds{stage}, and the HTTP answer counter is registered on the
 * same registry.
 */
export function admissionMetricsOn(shared: SharedAdmissionMetrics): AdmissionMetrics {
  return {
    observeDecision: ({ operation, verdict, seconds }) => shared.admissionDuration.observe({ operation, verdict }, seconds),
    observeStage: (stage, seconds) => shared.admissionStageDuration.observe({ stage }, seconds),
    observeHttp: httpCounter(shared.registry),
  };
}
