// Prometheus metrics on a Registry created per process (never prom-client's global one), so that tests and several
// instances in one process do not share counters.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  /** suture_decisions_total{verdict,policy}: admission decisions; policy "" when no policy was involved. */
  readonly decisions: Counter<'verdict' | 'policy'>;
  /** suture_admission_duration_seconds{operation,verdict}: time from receiving a review to answering it. */
  readonly admissionDuration: Histogram<'operation' | 'verdict'>;
  /** suture_admission_stage_duration_seconds{stage}: time in one stage of the admission edge (see AdmissionStages). */
  readonly admissionStageDuration: Histogram<'stage'>;
  /** suture_reconcile_total{controller,result}: result is success | error | requeue | terminal. */
  readonly reconciles: Counter<'controller' | 'result'>;
  /** suture_reconcile_duration_seconds{controller} */
  readonly reconcileDuration: Histogram<'controller'>;
  /** suture_workqueue_depth{controller}: keys waiting (not counting those being processed or delayed). */
  readonly workqueueDepth: Gauge<'controller'>;
  /** suture_workqueue_retries_total{controller} */
  readonly workqueueRetries: Counter<'controller'>;
  /** suture_informer_synced{kind}: 1 once the cache has listed, 0 before and after stop. */
  readonly informerSynced: Gauge<'kind'>;
  /** suture_informer_restarts_total{kind}: restarts after the watch stopped on an error. */
  readonly informerRestarts: Counter<'kind'>;
  /** suture_leader{identity}: 1 while this process leads. */
  readonly leader: Gauge<'identity'>;
  /** suture_self_repairs_total{kind}: Suture's own objects (webhook configurations, its admission policy and binding, certificate Secret, leader Lease) found deleted or changed and restored. */
  readonly selfRepairs: Counter<'kind'>;
  /** suture_events_dropped_total{reason}: Events not written because of rate limits or errors. */
  readonly eventsDropped: Counter<'reason'>;
  /**
   * suture_certificate_expiry_timestamp_seconds{certificate}: when the webhook's serving certificate and its CA
   * expire (Unix seconds), read from `source` at each scrape; no series until a source is set and has certificates.
   */
  watchCertificates(source: () => readonly CertificateExpiry[]): void;
}

/** One certificate's expiry: certificate is "serving" or "ca". */
export interface CertificateExpiry {
  certificate: string;
  notAfter: Date;
}

export interface MetricsOptions {
  /** Also collect Node's process metrics (CPU, memory, event loop lag). Default false. */
  collectDefault?: boolean;
}

/** Admission runs in milliseconds; the API server's webhook timeout caps it at 10-30 s. */
const admissionBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const reconcileBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** A fresh Registry with every Suture metric registered on it. */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.collectDefault === true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  let certificates: () => readonly CertificateExpiry[] = () => [];
  new Gauge({
    name: 'suture_certificate_expiry_timestamp_seconds',
    help: 'When the webhook serving certificate and its CA expire, in seconds since the epoch.',
    labelNames: ['certificate'],
    registers,
    collect(this: Gauge<'certificate'>): void {
      this.reset();
      for (const c of certificates()) this.set({ certificate: c.certificate }, c.notAfter.getTime() / 1000);
    },
  });
  return {
    registry,
    decisions: new Counter({ name: 'suture_decisions_total', help: 'Admission decisions by verdict and policy.', labelNames: ['verdict', 'policy'], registers }),
    admissionDuration: new Histogram({ name: 'suture_admission_duration_seconds', help: 'Time to answer an AdmissionReview.', labelNames: ['operation', 'verdict'], buckets: admissionBuckets, registers }),
    admissionStageDuration: new Histogram({ name: 'suture_admission_stage_duration_seconds', help: 'Time in each stage of the admission edge: decode, decide, freshness, budgets, floors, respond.', labelNames: ['stage'], buckets: admissionBuckets, registers }),
    reconciles: new Counter({ name: 'suture_reconcile_total', help: 'Reconciles by controller and result.', labelNames: ['controller', 'result'], registers }),
    reconcileDuration: new Histogram({ name: 'suture_reconcile_duration_seconds', help: 'Time per reconcile.', labelNames: ['controller'], buckets: reconcileBuckets, registers }),
    workqueueDepth: new Gauge({ name: 'suture_workqueue_depth', help: 'Keys waiting in the work queue.', labelNames: ['controller'], registers }),
    workqueueRetries: new Counter({ name: 'suture_workqueue_retries_total', help: 'Keys re-queued with rate-limited backoff.', labelNames: ['controller'], registers }),
    informerSynced: new Gauge({ name: 'suture_informer_synced', help: '1 when the informer cache of a kind has synced.', labelNames: ['kind'], registers }),
    informerRestarts: new Counter({ name: 'suture_informer_restarts_total', help: 'Informer restarts after a watch error.', labelNames: ['kind'], registers }),
    leader: new Gauge({ name: 'suture_leader', help: '1 while this replica is the leader.', labelNames: ['identity'], registers }),
    selfRepairs: new Counter({ name: 'suture_self_repairs_total', help: "Suture's own objects found deleted or changed and restored, by kind.", labelNames: ['kind'], registers }),
    eventsDropped: new Counter({ name: 'suture_events_dropped_total', help: 'Kubernetes Events not written.', labelNames: ['reason'], registers }),
    watchCertificates: (source) => {
      certificates = source;
    },
  };
}
