// Every decision explains itself (docs/concepts.md): besides the admission response and its audit annotations, each
// validating decision is kept in a bounded log for `kubectl suture explain <id>`, counted in
// suture_decisions_total{verdict,policy}, and — when it denied, warned or audited — written as Events on the policy
// or lease and on the target object, and counted in the policy's status.
// The metric and the status count alike (docs/operations.md, What the counts count): one request a policy denied is
// one denial of that policy, however many of its invariants it broke; each policy with its own verdict (a Warn policy
// broken by a request another policy denied counts a warning, not a denial); dry runs change nothing and count in
// neither (they are in the decision log and in suture_admission_duration_seconds).
import type { KubeObject } from '../api/types.js';
import { API_VERSION } from '../api/constants.js';
import type { AdmissionRequest, Decision, Verdict } from '../core/types.js';
import { describeRequest } from '../core/decide.js';
import { EventTypes, type EventRecorder } from '../observability/events.js';
import type { Metrics } from '../observability/metrics.js';

/** What `kubectl suture explain` shows. */
export interface DecisionRecord {
  id: string;
  at: string;
  subject: string;
  request: string;
  dryRun: boolean;
  decision: Decision;
}

/** The counters the policy and exception reconcilers flush into status. */
export interface DecisionCounters {
  countPolicyDecision(policy: string, verdict: 'deny' | 'warn' | 'audit', record: { at: string; subject: string; request: string; decisionId: string }): void;
  useException(name: string, at: string): void;
}

export interface RecorderDeps {
  metrics: Metrics;
  events: EventRecorder;
  counters: DecisionCounters;
  now: () => Date;
  /** Decisions kept for explain. Default 10,000. */
  capacity?: number;
}

/** A bounded log of decisions by id, oldest dropped first. */
export class DecisionLog {
  private readonly records = new Map<string, DecisionRecord>();

  constructor(private readonly capacity: number) {}

  add(record: DecisionRecord): void {
    this.records.delete(record.id);
    this.records.set(record.id, record);
    if (this.records.size > this.capacity) {
      const oldest = this.records.keys().next().value;
      if (oldest !== undefined) this.records.delete(oldest);
    }
  }

  get(id: string): DecisionRecord | undefined {
    return this.records.get(id);
  }

  get size(): number {
    return this.records.size;
  }
}

/** The object an Event about the request belongs on: the existing target (a subresource's object is not it, but an
 * eviction's pod is). */
function targetOf(request: AdmissionRequest): KubeObject | undefined {
  if (request.subResource === 'eviction' && request.name !== undefined) return { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: request.namespace ?? '', name: request.name } };
  if (request.subResource || request.operation === 'CREATE') return undefined;
  return request.oldObject ?? request.object ?? undefined;
}

/**
 * A refused removal inside a namespace is also told on the namespace: a namespace stuck Terminating (its controller's
 * deletes of a protected object are refused) says why there, with the decision id and what lifts it.
 */
function namespaceOf(request: AdmissionRequest): KubeObject | undefined {
  const removal = request.operation === 'DELETE' || request.subResource === 'eviction';
  const isNamespace = request.kind.group === '' && request.kind.kind === 'Namespace';
  if (!removal || isNamespace || request.namespace === undefined || request.namespace === '') return undefined;
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: request.namespace } };
}

function policyRef(name: string): KubeObject {
  return { apiVersion: API_VERSION, kind: 'SuturePolicy', metadata: { name } };
}

function leaseRef(namespaced: string): KubeObject {
  const [namespace, name] = namespaced.split('/');
  return { apiVersion: API_VERSION, kind: 'SutureLease', metadata: { namespace: namespace ?? '', name: name ?? '' } };
}

const RANK: Record<Verdict, number> = { allow: 0, audit: 1, warn: 2, error: 3, deny: 4 };
/** The verdicts a policy's status counts (denied, warned, audited). */
const COUNTED: ReadonlySet<Verdict> = new Set(['deny', 'warn', 'audit']);

/**
 * What the decision did for each policy it names, once per policy: the strongest of that policy's own violations
 * (Deny, Warn, Audit; a Deny in a decision that could not be taken is `error`).
 */
export function policyVerdicts(decision: Decision): Map<string, Verdict> {
  const out = new Map<string, Verdict>();
  for (const v of decision.violations) {
    const own: Verdict = v.enforcement === 'Deny' ? (decision.verdict === 'error' ? 'error' : 'deny') : v.enforcement === 'Warn' ? 'warn' : 'audit';
    const before = out.get(v.policy);
    if (before === undefined || RANK[own] > RANK[before]) out.set(v.policy, own);
  }
  return out;
}

export class DecisionRecorder {
  readonly log: DecisionLog;

  constructor(private readonly deps: RecorderDeps) {
    this.log = new DecisionLog(deps.capacity ?? 10_000);
  }

  record(request: AdmissionRequest, decision: Decision): void {
    const at = this.deps.now().toISOString();
    const summary = describeRequest(request);
    this.log.add({ id: decision.id, at, subject: request.userInfo.username, request: summary, dryRun: request.dryRun === true, decision });
    if (request.dryRun === true) return;
    const verdicts = policyVerdicts(decision);
    if (verdicts.size === 0) this.deps.metrics.decisions.inc({ verdict: decision.verdict, policy: '' });
    for (const [policy, verdict] of verdicts) this.deps.metrics.decisions.inc({ verdict, policy });
    for (const name of decision.exceptionsUsed) this.deps.counters.useException(name, at);
    if (decision.verdict === 'allow' || decision.verdict === 'error') return;
    this.explainOnObjects(request, decision, { at, summary }, verdicts);
  }

  private explainOnObjects(request: AdmissionRequest, decision: Decision, when: { at: string; summary: string }, verdicts: ReadonlyMap<string, Verdict>): void {
    const type = decision.allowed ? EventTypes.Normal : EventTypes.Warning;
    const reason = decision.verdict === 'deny' ? 'Denied' : decision.verdict === 'warn' ? 'Warned' : 'Audited';
    const event = { type, reason, message: decision.message, action: 'Admit' };
    const record = { at: when.at, subject: request.userInfo.username, request: when.summary, decisionId: decision.id };
    for (const [policy, verdict] of verdicts) if (COUNTED.has(verdict)) this.deps.counters.countPolicyDecision(policy, verdict as 'deny' | 'warn' | 'audit', record);
    for (const policy of verdicts.keys()) this.deps.events.record(policyRef(policy), event);
    for (const lease of new Set(decision.leaseViolations.map((v) => v.lease))) this.deps.events.record(leaseRef(lease), event);
    const target = targetOf(request);
    if (target?.metadata.name !== undefined) this.deps.events.record(target, event);
    const namespace = decision.allowed ? undefined : namespaceOf(request);
    if (namespace !== undefined) this.deps.events.record(namespace, event);
  }
}
