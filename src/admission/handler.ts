// The decision handler behind /validate and /mutate: gathers the inputs, calls the pure core, and does what the core
// leaves to the edges — fresh state where a verdict needs it, budget and floor reservations across replicas, and
// recording every decision. (Suture's own objects are validated by the objects webhook, operator.ts.)
//
// Fresh where it matters, free where it doesn't (docs/architecture.md, The state model):
// - a request whose verdict rests only on itself (object, old object, user) is decided once, on the cache, no wait;
// - a destructive request (delete, eviction, scale-down, owner or finalizer change) that policies or leases could
//   judge is decided on the cache overlaid with one round of consistent reads of just what they protect, in the
//   namespaces it reaches (core/freshness.ts, state/fresh.ts);
// - an ownerReference of the request's object the cache cannot resolve is read live, never taken as missing;
// - CEL reads of the cluster (cluster/before get, exists, list, count) are read live once the first decision shows
//   which they are, and the decision is taken again only if what was read differs.
// If that state cannot be had before the deadline, the failure mode applies and the decision says so.
import { decide as decideCore, describeRequest, exemptReason, plainDecision } from '../core/decide.js';
import { evictionPrecondition, isEviction } from '../core/evictions.js';
import { freshScopes, reachedNamespaceNames, type StateScope } from '../core/freshness.js';
import type { CompiledException, CompiledPolicy } from '../core/policy.js';
import { Verdicts, type AdmissionRequest, type Decision, type DecisionInput, type IdentityConfig, type LeaseState, type Lookup, type MetricReader, type Snapshot } from '../core/types.js';
import type { KubeObject } from '../api/types.js';
import type { BudgetStore } from './budgets.js';
import type { FloorStore } from './floors.js';
import type { AdmissionHandler } from './chain.js';
import { AdmissionStages, type AdmissionStage } from './metrics.js';
import { Phases, type Phase } from './review.js';

/** Consistent reads laid over the cache (state/fresh.ts readFresh). */
export type FreshReader = (base: Snapshot, what: { scopes: readonly StateScope[]; ownersOf: readonly KubeObject[]; lookups: readonly Lookup[]; namespaces?: readonly string[] }) => Promise<{ snapshot: Snapshot; changed: boolean }>;

/** The state a decision reads, as the stores on every replica hold it. */
export interface DecisionSources {
  snapshot(): Snapshot;
  /** Reads what a verdict rests on, consistently, over the snapshot. */
  readFresh: FreshReader;
  policies(): readonly CompiledPolicy[];
  leases(): readonly LeaseState[];
  exceptions(): readonly CompiledException[];
  metrics: MetricReader;
  identities: IdentityConfig;
}

export interface HandlerDeps {
  sources: DecisionSources;
  budgets: BudgetStore;
  /** Reserves the removals floors allowed, across requests and replicas (admission/floors.ts). */
  floors: FloorStore;
  /** The only clock of decisions (a test-only override may replace it; see src/config.ts). */
  now: () => Date;
  /** How long a decision may wait for fresh state. */
  freshnessTimeoutMs: number;
  /** Records a validating decision: log of decisions, Events, counters, exception uses. */
  record: (request: AdmissionRequest, decision: Decision) => void;
  /** Records the time of a stage (decide, freshness, budgets), measured with `stageClock`; default: untimed. */
  observeStage?: (stage: AdmissionStage, seconds: number) => void;
  /** A monotonic clock in milliseconds for the stage times (performance.now). */
  stageClock?: () => number;
  /** How long one CEL evaluation may run (default CEL_DEADLINE_MS); its clock is stageClock or performance.now. */
  celDeadlineMs?: number;
  /**
   * Reads a pod consistently (a GET), for the precondition an eviction is given (core/evictions.ts); undefined when it
   * does not exist. Without it (tests of other stages), evictions are not given one.
   */
  readPod?: (namespace: string, name: string) => Promise<KubeObject | undefined>;
}

/**
 * The wall-clock bound of one CEL evaluation, on top of the core's cost limit (core/cel-cost.ts): the cost limit
 * (1,000,000 units) takes a few hundred ms on a loaded machine, so this catches what the meter cannot count.
 */
export const CEL_DEADLINE_MS = 500;

function celBudget(deps: HandlerDeps): DecisionInput['cel'] {
  return { deadline: { clock: deps.stageClock ?? (() => performance.now()), perEvaluationMs: deps.celDeadlineMs ?? CEL_DEADLINE_MS } };
}

function inputOf(sources: DecisionSources, budgets: BudgetStore, cel?: DecisionInput['cel']): DecisionInput {
  return {
    ...(cel === undefined ? {} : { cel }),
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
  return { ...decision, verdict, allowed: false, message, warnings: [], patch: [], budgets: [], floors: [], auditAnnotations: { ...decision.auditAnnotations, 'suture.dev/verdict': verdict } };
}

/** ownerReferences of the request's object that the snapshot cannot resolve (a just-created owner). */
function unresolvedOwners(request: AdmissionRequest, snapshot: Snapshot): KubeObject[] {
  const obj = request.object;
  if (obj === undefined || obj === null || request.operation === 'DELETE') return [];
  const refs = obj.metadata.ownerReferences ?? [];
  if (refs.every((r) => snapshot.getByUid(r.uid) !== undefined)) return [];
  const namespace = obj.metadata.namespace ?? request.namespace;
  return [namespace === undefined || namespace === '' ? obj : { ...obj, metadata: { ...obj.metadata, namespace } }];
}

/**
 * CEL reads are re-read live, all of them: a cached answer may be older than the request (a gate just closed), an
 * absent one proves nothing (an owner just created), and a kind only the metadata graph holds lacks spec and status.
 */
function lookupsToRead(decision: Decision): readonly Lookup[] {
  return decision.consulted.lookups;
}

class StateUnavailable extends Error {}

async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StateUnavailable(`fresh cluster state could not be had within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

export function createDecisionHandler(deps: HandlerDeps): AdmissionHandler {
  const clock = deps.stageClock ?? ((): number => 0);
  const observe = deps.observeStage ?? ((): void => undefined);
  const time = async <T>(stage: AdmissionStage, work: () => Promise<T>): Promise<T> => {
    const start = clock();
    try {
      return await work();
    } finally {
      observe(stage, (clock() - start) / 1000);
    }
  };
  /** The core's decide(), timed as the `decide` stage (each time a decision is taken). */
  const decide = (request: AdmissionRequest, input: DecisionInput, now: Date): Decision => {
    const start = clock();
    try {
      return decideCore(request, input, now);
    } finally {
      observe(AdmissionStages.Decide, (clock() - start) / 1000);
    }
  };

  /** Reads fresh state; on failure decides by the failure mode (`failClosed`) on the cache and says so. */
  const onFresh = async (
    request: AdmissionRequest,
    input: DecisionInput,
    what: Parameters<FreshReader>[1],
    failClosed: (cached: Decision) => boolean,
  ): Promise<{ input: DecisionInput; changed: boolean } | Decision> => {
    try {
      const fresh = await time(AdmissionStages.Freshness, () => withDeadline(deps.sources.readFresh(input.snapshot, what), deps.freshnessTimeoutMs));
      return { input: { ...input, snapshot: fresh.snapshot }, changed: fresh.changed };
    } catch (error) {
      const cached = decide(request, input, deps.now());
      const why = error instanceof StateUnavailable ? error.message : `fresh cluster state could not be read: ${error instanceof Error ? error.message : String(error)}`;
      if (!failClosed(cached)) return { ...cached, warnings: [...cached.warnings, `Suture decided on cached state: ${why} (failurePolicy Ignore)`] };
      return denial(cached, `${request.operation.toLowerCase()} by ${request.userInfo.username} could not be decided: ${why}; failurePolicy Fail [decision ${request.uid}]`, Verdicts.Error);
    }
  };

  /** The verdict on state fresh enough for it (see the file comment). */
  const decideFresh = async (request: AdmissionRequest, now: Date): Promise<Decision> => {
    let input = inputOf(deps.sources, deps.budgets, celBudget(deps));
    if (exemptReason(request, input) !== undefined) return decide(request, input, now);
    const scopes = freshScopes(request, input);
    const ownersOf = unresolvedOwners(request, input.snapshot);
    if (scopes.length > 0 || ownersOf.length > 0) {
      const read = await onFresh(request, input, { scopes, ownersOf, lookups: [], namespaces: reachedNamespaceNames(request) }, (d) => scopes.some((s) => s.failClosed) || d.failurePolicy === 'Fail');
      if (!('input' in read)) return read;
      input = read.input;
    }
    const decision = decide(request, input, now);
    const lookups = lookupsToRead(decision);
    if (lookups.length === 0) return decision;
    const read = await onFresh(request, input, { scopes: [], ownersOf: [], lookups }, (d) => d.failurePolicy === 'Fail');
    if (!('input' in read)) return read;
    return read.changed ? decide(request, read.input, now) : decision;
  };

  /**
   * Reserves the removals an allowed request makes against floors (admission/floors.ts): removals other requests
   * reserved of pods the decision still counted lower what is left, so requests sent at once, each judged alone (a
   * drain's evictions), cannot together cross a floor, on one replica or several.
   */
  const withFloors = async (request: AdmissionRequest, decision: Decision): Promise<Decision> => {
    if (!decision.allowed || decision.floors.length === 0 || request.dryRun === true) return decision;
    const r = await time(AdmissionStages.Floors, () => deps.floors.reserve(request.uid, decision.floors));
    if (r.ok) return decision;
    const { use } = r;
    const turned = r.turnedReady.length === 0 ? '' : `; ${r.turnedReady.join(', ')} turned ready after the state this decision read, so removing it lowers them`;
    const why = `${r.pending} other removal(s) already admitted and not yet observed would leave ${use.what} at ${r.left} (${use.before} now); at least ${use.required} required${turned}`;
    const denied = denial(decision, `${describeRequest(request)} by ${request.userInfo.username} denied: SuturePolicy ${use.policy}, invariant ${use.invariant}: ${why} [decision ${request.uid}]`);
    // Recorded against the policy like any other denial (metrics, status counts, Events).
    return { ...denied, violations: [{ policy: use.policy, invariant: use.invariant, enforcement: 'Deny', message: why }], auditAnnotations: { ...denied.auditAnnotations, 'suture.dev/policy': use.policy } };
  };

  /** Reserves the budgets an allowed request consumes; a budget spent meanwhile by another replica denies it. */
  const withBudgets = async (request: AdmissionRequest, decision: Decision): Promise<Decision> => {
    if (!decision.allowed || decision.budgets.length === 0 || request.dryRun === true) return decision;
    const r = await time(AdmissionStages.Budgets, () => deps.budgets.reserve(decision.budgets));
    if (r.ok) return decision;
    const { use } = r;
    const why = `budget of ${use.limit} per ${use.windowSeconds}s spent (${r.used} used)`;
    const denied = denial(decision, `${request.operation.toLowerCase()} by ${request.userInfo.username} denied: SuturePolicy ${use.policy}, invariant ${use.invariant}: ${why} [decision ${request.uid}]`);
    // Recorded against the policy like any other denial (metrics, status counts, Events).
    return { ...denied, violations: [{ policy: use.policy, invariant: use.invariant, enforcement: 'Deny', message: why }], auditAnnotations: { ...denied.auditAnnotations, 'suture.dev/policy': use.policy } };
  };

  const validate = async (request: AdmissionRequest): Promise<Decision> => {
    // Floors before budgets: a request a floor refuses has spent no budget; one a budget refuses gives its floors back
    // (were that to fail, the reservations lapse after FLOOR_RESERVATION_MS: refusing too much meanwhile, never too little).
    const floored = await withFloors(request, await decideFresh(request, deps.now()));
    const decision = await withBudgets(request, floored);
    if (floored.allowed && !decision.allowed && floored.floors.length > 0 && request.dryRun !== true) await deps.floors.release(request.uid, floored.floors).catch(() => undefined);
    deps.record(request, decision);
    return decision;
  };

  /**
   * An eviction is held to the pod as it is now (`evictions.suture.dev`, core/evictions.ts): one consistent read of
   * the pod, whose resourceVersion becomes the eviction's delete precondition. A read that fails refuses the eviction
   * (the webhook fails closed): without the precondition the verdict could be on another pod than the one removed.
   */
  const preconditionEviction = async (request: AdmissionRequest, readPod: NonNullable<HandlerDeps['readPod']>): Promise<Decision> => {
    const summary = 'the eviction removes the pod only at the resourceVersion read now';
    try {
      const pod = await readPod(request.namespace ?? '', request.name ?? '');
      const patch = request.object === undefined || request.object === null ? [] : evictionPrecondition(request.object, pod);
      return { ...plainDecision(request.uid, { verdict: Verdicts.Allow, message: '', stage: 'respond', summary }), patch };
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      return plainDecision(request.uid, { verdict: Verdicts.Error, message: `${describeRequest(request)} by ${request.userInfo.username} could not be given its precondition: the pod could not be read: ${why} [decision ${request.uid}]`, stage: 'respond', summary });
    }
  };

  /**
   * The mutating webhook only patches (lease stamps, averts), on the cache and without waiting: the validating
   * webhook, called after it with the patched object, takes the verdict. An eviction is given its precondition.
   */
  const mutate = (request: AdmissionRequest): Promise<Decision> | Decision => {
    if (isEviction(request) && deps.readPod !== undefined) return preconditionEviction(request, deps.readPod);
    if (request.operation === 'DELETE' || request.operation === 'CONNECT') {
      return plainDecision(request.uid, { verdict: Verdicts.Allow, message: '', stage: 'respond', summary: 'nothing to patch on a DELETE' });
    }
    const decision = decide(request, inputOf(deps.sources, deps.budgets, celBudget(deps)), deps.now());
    const patch = decision.allowed ? decision.patch : [];
    return { ...decision, verdict: Verdicts.Allow, allowed: true, message: '', patch, warnings: decision.allowed && decision.averted === true ? decision.warnings : [] };
  };

  return (request: AdmissionRequest, phase: Phase): Promise<Decision> => (phase === Phases.Mutate ? Promise.resolve(mutate(request)) : validate(request));
}
