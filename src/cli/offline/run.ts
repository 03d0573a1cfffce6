// `kubectl suture test`: runs scenario-format files offline — an in-memory cluster (cluster.ts), Suture's reconcilers'
// state (suture.ts), each request step as the admission requests the API server would send (requests.ts), admitted
// as Suture's webhooks would (admit.ts), judged like the live runner judges a response (scenario/classify.ts). The
// clock is fixed: the scenario's `clock`, or one instant for the whole run; a check's `within` is irrelevant.
import type { KubeObject } from '../../api/types.js';
import type { UserInfo } from '../../core/types.js';
import { judgeCheck, judgeRequest, type ApiResponse, type Verdict } from '../../scenario/classify.js';
import { describeStep, expectedText } from '../../scenario/describe.js';
import { parseInstant } from '../../scenario/duration.js';
import { identityOf } from '../../scenario/identity.js';
import type { CheckStep, RequestStep, Scenario, ScenarioObject, Step } from '../../scenario/model.js';
import type { ScenarioReport, StepRow } from '../../scenario/report.js';
import { resolveTemplates, UidRegistry, type TemplateContext } from '../../scenario/templates.js';
import { admit, type Admission } from './admit.js';
import { ApiError, SimCluster } from './cluster.js';
import { planWrites, type Write } from './requests.js';
import { SutureSim, validateSutureObject } from './suture.js';

export interface OfflineOptions {
  /** Epoch milliseconds taken as "now" by scenarios without a `clock`. Default: the real time at the start. */
  readonly now?: number;
}

/** The cluster admin, as the live runner's kubeconfig authenticates it (group system:masters): never governed. */
export const OFFLINE_ADMIN: UserInfo = { username: 'suture-admin', groups: ['system:masters', 'system:authenticated'] };

class SetupError extends Error {
  override readonly name = 'SetupError';
}

interface Sim {
  readonly cluster: SimCluster;
  readonly suture: SutureSim;
  readonly templates: TemplateContext;
  readonly now: Date;
  readonly scenario: Scenario;
}

function newSim(scenario: Scenario, options: OfflineOptions): Sim {
  const clock = scenario.clock === undefined ? undefined : parseInstant(scenario.clock);
  const nowMs = clock ?? options.now ?? Date.now();
  const cluster = new SimCluster(nowMs);
  const now = new Date(nowMs);
  return { cluster, suture: new SutureSim(cluster, now), templates: { uids: new UidRegistry(), now: () => nowMs }, now, scenario };
}

function recordUid(sim: Sim, stored: KubeObject): void {
  sim.templates.uids.record(stored.kind, stored.metadata.namespace, stored.metadata.name ?? '', stored.metadata.uid ?? '');
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Creates one object as the admin before the steps: templates resolved now, status kept as written. */
function createAsAdmin(sim: Sim, raw: ScenarioObject, where: string): void {
  try {
    const object = resolveTemplates(raw, sim.templates) as unknown as KubeObject;
    const errors = validateSutureObject(object, sim.now);
    if (errors.length > 0) throw new SetupError(`${object.kind} ${object.metadata.name ?? ''} is invalid: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
    recordUid(sim, sim.cluster.create(object));
  } catch (error) {
    if (error instanceof SetupError) throw error;
    throw new SetupError(`${where}: ${errorText(error)}`);
  }
}

function setUp(sim: Sim): void {
  sim.scenario.setup.forEach((o, i) => createAsAdmin(sim, o, `setup[${i}] ${o.kind} ${o.metadata.name}`));
  sim.scenario.suture.forEach((o, i) => createAsAdmin(sim, o, `suture[${i}] ${o.kind} ${o.metadata.name}`));
  sim.suture.reconcile();
  const waiting = sim.suture.notReady();
  if (waiting.length > 0) throw new SetupError(`Suture objects not ready: ${waiting.join('; ')}`);
}

// ------------------------------------------------------------------------------------------------ request steps

function statusBody(status: number, reason: string, message: string): unknown {
  return { apiVersion: 'v1', kind: 'Status', status: 'Failure', code: status, reason, message };
}

/** The response the API server gives for a webhook's refusal. */
function refusal(a: Extract<Admission, { allowed: false }>): ApiResponse {
  const text = `admission webhook "${a.webhook}" denied the request: ${a.message}`;
  return { status: a.status, body: statusBody(a.status, a.status === 500 ? 'InternalError' : 'Forbidden', text), warnings: [] };
}

function apiErrorResponse(error: ApiError): ApiResponse {
  return { status: error.status, body: statusBody(error.status, error.reason, error.message), warnings: [] };
}

function userInfoOf(as: string): { userInfo: UserInfo; admin: boolean } {
  const identity = identityOf(as);
  if (identity === undefined) return { userInfo: OFFLINE_ADMIN, admin: true };
  return { userInfo: { username: identity.user, groups: [...identity.groups] }, admin: false };
}

/** Admits and stores each write in turn; the first refusal ends the request (deletecollection stops there too). */
function sendWrites(sim: Sim, writes: readonly Write[], admin: boolean): ApiResponse {
  const warnings: string[] = [];
  let body: unknown = { apiVersion: 'v1', kind: 'Status', status: 'Success' };
  for (const write of writes) {
    const admission = admit(write.request, { suture: sim.suture, now: sim.now, admin });
    if (!admission.allowed) return { ...refusal(admission), warnings };
    warnings.push(...admission.warnings);
    const stored = write.commit(admission.request);
    if (stored !== undefined && write.request.operation === 'CREATE') recordUid(sim, stored);
    body = stored ?? body;
  }
  return { status: writes[0]?.request.operation === 'CREATE' ? 201 : 200, body, warnings };
}

/** The response the API server would give to a request step. */
export function respond(sim: Sim, step: RequestStep): ApiResponse {
  const { userInfo, admin } = userInfoOf(step.as);
  try {
    const writes = planWrites(step, { cluster: sim.cluster, userInfo, uid: `offline-${sim.scenario.name}-${step.index}` });
    return sendWrites(sim, writes, admin);
  } catch (error) {
    if (error instanceof ApiError) return apiErrorResponse(error);
    throw error;
  } finally {
    sim.suture.reconcile();
  }
}

function runRequest(sim: Sim, raw: RequestStep): Verdict {
  const step = resolveTemplates(raw, sim.templates);
  return judgeRequest(step, respond(sim, step), sutureNames(sim.scenario));
}

/** Names of the scenario's Suture objects: a warning that names one is Suture's (classify.ts). */
function sutureNames(scenario: Scenario): string[] {
  return scenario.suture.map((o) => o.metadata.name);
}

// ------------------------------------------------------------------------------------------------ checks

function observe(sim: Sim, step: CheckStep): KubeObject | undefined {
  const kind = sim.cluster.resolve(step.apiVersion, step.kind);
  if (kind === undefined) return undefined; // e.g. its CRD was deleted: the object is gone too
  return sim.cluster.get(kind, step.namespace ?? 'default', step.name);
}

function runCheck(sim: Sim, raw: CheckStep): Verdict {
  const step = resolveTemplates(raw, sim.templates);
  return judgeCheck(step, { object: observe(sim, step) });
}

// ------------------------------------------------------------------------------------------------ scenarios

function row(scenario: Scenario, step: Step, verdict: Verdict): StepRow {
  return { scenario: scenario.name, step: step.index, description: describeStep(step), expected: expectedText(step), ...verdict, durationMs: 0 };
}

function runStep(sim: Sim, step: Step): Verdict {
  try {
    return step.type === 'check' ? runCheck(sim, step) : runRequest(sim, step);
  } catch (error) {
    const message = errorText(error);
    return { pass: false, got: 'error', message, reason: `the offline runner could not run the step: ${message}` };
  }
}

/** Runs one scenario offline; never throws (a setup problem fails every step with its reason, as the live runner does). */
export function runScenarioOffline(scenario: Scenario, options: OfflineOptions = {}): ScenarioReport {
  const started = performance.now();
  const sim = newSim(scenario, options);
  let setupError: string | undefined;
  try {
    setUp(sim);
  } catch (error) {
    setupError = errorText(error);
  }
  const steps = scenario.steps.map((step) => {
    if (setupError !== undefined) return row(scenario, step, { pass: false, got: 'setup-error', message: setupError, reason: `setup failed: ${setupError}` });
    return row(scenario, step, runStep(sim, step));
  });
  const base = { name: scenario.name, file: scenario.file, source: scenario.source, cleanupLeft: [], cleanupMs: 0, durationMs: Math.round(performance.now() - started), steps };
  return { ...base, ...(scenario.clock === undefined ? {} : { clock: scenario.clock }), ...(setupError === undefined ? {} : { setupError }) };
}
