// The decision handler behind /validate and /mutate: gathers the inputs, calls the pure core, and does what the core
// leaves to the edges — fresh state for verdicts that read the cluster, budget reservations across replicas, and
// recording every decision. (Suture's own objects are validated by the objects webhook, operator.ts.)
import { decide } from '../core/decide.js';
import type { CompiledException, CompiledPolicy } from '../core/policy.js';
import { Verdicts, type AdmissionRequest, type Decision, type DecisionInput, type IdentityConfig, type LeaseState, type MetricReader, type Snapshot } from '../core/types.js';
import type { BudgetStore } from './budgets.js';
import type { AdmissionHandler } from './chain.js';
import { Phases, type Phase } from './review.js';

/** The state a decision reads, as the stores on every replica hold it. */
export interface DecisionSources {
  snapshot(): Snapshot;
  /** Waits until the snapshot is as new as the cluster now; false if not possible before the deadline (epoch ms). */
  freshen(deadline: number): Promise<boolean>;
  policies(): readonly CompiledPolicy[];
  leases(): readonly LeaseState[];
  exceptions(): readonly CompiledException[];
  metrics: MetricReader;
  identities: IdentityConfig;
}

export interface HandlerDeps {
  sources: DecisionSources;
  budgets: BudgetStore;
  /** The only clock of decisions (a test-only override may replace it; see src/config.ts). */
  now: () => Date;
  /** How long a decision may wait for fresh state. */
  freshnessTimeoutMs: number;
  /** Records a validating decision: log of decisions, Events, counters, exception uses. */
  record: (request: AdmissionRequest, decision: Decision) => void;
}

function inputOf(sources: DecisionSources, budgets: BudgetStore): DecisionInput {
  return {
    snapshot: sources.snapshot(),
    policies: sources.policies(),
    leases: sources.leases(),
    exceptions: sources.exceptions(),
    budgets,
    metrics: sources.metrics,
    identities: sources.identities,
  };
}

function denial(decision: Decision, message: string, verdict: Decision['verdict'] = Verdicts.Deny): Decision {
  return { ...decision, verdict, allowed: false, message, warnings: [], patch: [], budgets: [], auditAnnotations: { ...decision.auditAnnotations, 'suture.dev/verdict': verdict } };
}

/** The policies a decision consulted, by the sources of its checks. */
function consulted(decision: Decision, policies: readonly CompiledPolicy[]): CompiledPolicy[] {
  const names = new Set(decision.trace.flatMap((s) => s.checks).map((c) => c.source.split('/')[1]));
  return policies.filter((p) => names.has(p.name));
}

export function createDecisionHandler(deps: HandlerDeps): AdmissionHandler {
  const decideNow = (request: AdmissionRequest, now: Date): Decision => decide(request, inputOf(deps.sources, deps.budgets), now);

  /** Takes the decision again on fresh state when it read the cluster (DESIGN.md, Freshness). */
  const onFreshState = async (request: AdmissionRequest, first: Decision, now: Date): Promise<Decision> => {
    if (!first.readsClusterState) return first;
    const fresh = await deps.sources.freshen(Date.now() + deps.freshnessTimeoutMs);
    if (fresh) return decideNow(request, now);
    const failClosed = consulted(first, deps.sources.policies()).some((p) => p.failurePolicy === 'Fail') || first.leaseViolations.length > 0;
    const why = `fresh cluster state could not be had within ${deps.freshnessTimeoutMs} ms`;
    if (!failClosed) return { ...first, warnings: [...first.warnings, `Suture decided on cached state: ${why} (failurePolicy Ignore)`] };
    return denial(first, `${request.operation.toLowerCase()} by ${request.userInfo.username} could not be decided: ${why}; failurePolicy Fail [decision ${request.uid}]`, Verdicts.Error);
  };

  /** Reserves the budgets an allowed request consumes; a budget spent meanwhile by another replica denies it. */
  const withBudgets = async (request: AdmissionRequest, decision: Decision): Promise<Decision> => {
    if (!decision.allowed || decision.budgets.length === 0 || request.dryRun === true) return decision;
    const r = await deps.budgets.reserve(decision.budgets);
    if (r.ok) return decision;
    const { use } = r;
    const why = `budget of ${use.limit} per ${use.windowSeconds}s spent (${r.used} used)`;
    const denied = denial(decision, `${request.operation.toLowerCase()} by ${request.userInfo.username} denied: SuturePolicy ${use.policy}, invariant ${use.invariant}: ${why} [decision ${request.uid}]`);
    // Recorded against the policy like any other denial (metrics, status counts, Events).
    return { ...denied, violations: [{ policy: use.policy, invariant: use.invariant, enforcement: 'Deny', message: why }], auditAnnotations: { ...denied.auditAnnotations, 'suture.dev/policy': use.policy } };
  };

  const validate = async (request: AdmissionRequest): Promise<Decision> => {
    const now = deps.now();
    const decision = await withBudgets(request, await onFreshState(request, decideNow(request, now), now));
    deps.record(request, decision);
    return decision;
  };

  /** The mutating webhook only patches (lease stamps, averts); the validating webhook takes the verdict. */
  const mutate = (request: AdmissionRequest): Decision => {
    const decision = decideNow(request, deps.now());
    const patch = decision.allowed ? decision.patch : [];
    return { ...decision, verdict: Verdicts.Allow, allowed: true, message: '', patch, warnings: decision.allowed && decision.averted === true ? decision.warnings : [] };
  };

  return (request: AdmissionRequest, phase: Phase): Promise<Decision> => (phase === Phases.Mutate ? Promise.resolve(mutate(request)) : validate(request));
}
