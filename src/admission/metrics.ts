// Metrics of the admission edge: HTTP answers by route and code, and decision latency by phase and verdict. The
// decision counters by policy (suture_decisions_total) belong to observability; these describe the edge itself.
import { Counter, Histogram, type Registry } from 'prom-client';
import type { AdmissionOperation, Verdict } from '../core/types.js';
import type { Phase } from './review.js';

/** One decision taken by the handler chain. */
export interface DecisionSample {
  phase: Phase;
  operation: AdmissionOperation;
  verdict: Verdict;
  seconds: number;
}

export interface AdmissionMetrics {
  observeDecision(sample: DecisionSample): void;
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

/** The edge's own metrics on `registry` (decision latency by phase and verdict, HTTP answers). */
export function createAdmissionMetrics(registry: Registry): AdmissionMetrics {
  const latency = new Histogram({
    name: 'suture_admission_decision_duration_seconds',
    help: 'Time from a decoded AdmissionReview to its decision, by webhook phase and verdict.',
    labelNames: ['phase', 'verdict'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return {
    observeDecision: ({ phase, verdict, seconds }) => latency.observe({ phase, verdict }, seconds),
    observeHttp: httpCounter(registry),
  };
}

/** Metrics that record nothing. */
export function createNullAdmissionMetrics(): AdmissionMetrics {
  return { observeDecision: () => undefined, observeHttp: () => undefined };
}

/** The part of observability's Metrics the edge records into (structural, so this module does not depend on it). */
export interface SharedAdmissionMetrics {
  registry: Registry;
  admissionDuration: Histogram<'operation' | 'verdict'>;
}

/**
 * The edge's metrics on the process-wide set: decision latency goes to suture_admission_duration_seconds{operation,
 * verdict}, and the HTTP answer counter is registered on the same registry.
 */
export function admissionMetricsOn(shared: SharedAdmissionMetrics): AdmissionMetrics {
  return {
    observeDecision: ({ operation, verdict, seconds }) => shared.admissionDuration.observe({ operation, verdict }, seconds),
    observeHttp: httpCounter(shared.registry),
  };
}
