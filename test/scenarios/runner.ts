// Runs scenarios one after another, each in a clean state: pre-clean its objects, have Suture run with its clock,
// create setup and Suture objects, run the steps, clean up and await the removal.

import type { SutureControl } from './control.js';
import type { ObjectRef, ScenarioContext } from './context.js';
import type { RawObjectApi } from '../../src/kube/client.js';
import type { Kinds } from '../../src/scenario/kube.js';
import type { RequestStep, Scenario, ScenarioObject } from '../../src/scenario/model.js';
import { parseInstant } from '../../src/scenario/duration.js';
import type { Created } from './ops.js';
import { awaitSutureReady, cleanup, createAsAdmin, refOf } from './ops.js';
import type { Timing } from './poll.js';
import type { ScenarioReport, StepRow } from '../../src/scenario/report.js';
import { formatRow } from '../../src/scenario/report.js';
import type { IdentityVerifier, StepOutcome } from './steps.js';
import { describeStep, expectedText, runCheckStep, runRequestStep, stepName, stepNamespace } from './steps.js';
import { UidRegistry } from '../../src/scenario/templates.js';

export interface RunnerDeps {
  readonly api: RawObjectApi;
  readonly discovery: Kinds;
  readonly timing: Timing;
  /** Real time in ms since the epoch (for {{now}} without a clock, and for report timestamps). */
  readonly wallClock: () => number;
  readonly suture: SutureControl;
  readonly verifier: IdentityVerifier;
  /** Table rows (stdout). */
  readonly print: (line: string) => void;
  /** Progress (stderr). */
  readonly log: (line: string) => void;
  readonly sutureReadyTimeoutMs?: number;
  /** Restart one Suture replica after the middle step of each scenario (--restart-midway). */
  readonly restartMidway?: boolean;
}

function hasTemplate(text: string): boolean {
  return text.includes('{{');
}

function createdByStep(step: RequestStep): ObjectRef | undefined {
  const name = stepName(step);
  if (step.do !== 'create' || step.subresource !== undefined || name === undefined || hasTemplate(name)) return undefined;
  return { apiVersion: step.apiVersion, kind: step.kind, namespace: stepNamespace(step), name };
}

/** Everything a scenario may leave behind, Suture's objects first (so that nothing stays protected), then the rest newest first. */
export function scenarioRefs(scenario: Scenario): ObjectRef[] {
  const declared = (objects: readonly ScenarioObject[]): ObjectRef[] => objects.map(refOf).filter((r) => !hasTemplate(r.name));
  const bySteps = scenario.steps.flatMap((s) => (s.type === 'request' ? (createdByStep(s) ?? []) : []));
  return [...declared(scenario.suture).reverse(), ...bySteps.reverse(), ...declared(scenario.setup).reverse()];
}

/** Names a Suture warning would carry: objects, `namespace/name` of leases, invariants. */
export function sutureNames(scenario: Scenario): string[] {
  return scenario.suture.flatMap((object) => {
    const names = [object.metadata.name];
    if (object.metadata.namespace !== undefined) names.push(`${object.metadata.namespace}/${object.metadata.name}`);
    const invariants = (object.spec as { invariants?: { name?: unknown }[] } | undefined)?.invariants ?? [];
    for (const invariant of invariants) if (typeof invariant.name === 'string') names.push(invariant.name);
    return names;
  });
}

/** `{{now}}` for a scenario: its clock, running on from the start of the scenario; or real time. */
export function scenarioNow(clock: string | undefined, wallClock: () => number): () => number {
  const clockMs = clock === undefined ? undefined : parseInstant(clock);
  if (clockMs === undefined) return wallClock;
  const started = wallClock();
  return () => clockMs + (wallClock() - started);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function prepare(deps: RunnerDeps, ctx: ScenarioContext, scenario: Scenario): Promise<void> {
  const left = await cleanup(ctx, scenarioRefs(scenario));
  if (left.length > 0) throw new Error(`objects of an earlier run are still being removed: ${left.join(', ')}`);
  await deps.suture.prepare(scenario.clock);
  for (const object of scenario.setup) await createAsAdmin(ctx, object);
  const sutureObjects: Created[] = [];
  for (const object of scenario.suture) sutureObjects.push(await createAsAdmin(ctx, object));
  await awaitSutureReady(ctx, sutureObjects, deps.sutureReadyTimeoutMs);
}

function row(scenario: Scenario, step: Scenario['steps'][number], outcome: StepOutcome, durationMs: number): StepRow {
  const { pass, got, message, reason } = outcome;
  return { scenario: scenario.name, step: step.index, description: describeStep(step), expected: expectedText(step), got, pass, message, reason, durationMs };
}

function setupFailedRows(scenario: Scenario, reason: string): StepRow[] {
  return scenario.steps.map((step) => ({
    scenario: scenario.name,
    step: step.index,
    description: describeStep(step),
    expected: expectedText(step),
    got: 'not run',
    pass: false,
    message: '',
    reason: `setup failed: ${reason}`,
    durationMs: 0,
  }));
}

/** The position after which --restart-midway restarts a replica: the middle step (the first of two middles). */
export function midwayIndex(steps: number): number {
  return Math.max(0, Math.ceil(steps / 2) - 1);
}

async function restartMidway(deps: RunnerDeps, scenario: Scenario): Promise<void> {
  const started = deps.timing.now();
  const done = await deps.suture.restartOne();
  const took = ((deps.timing.now() - started) / 1000).toFixed(1);
  deps.log(`  --restart-midway in ${scenario.name}: ${done ?? 'no replica the runner can restart'} (${took}s)`);
}

async function runSteps(deps: RunnerDeps, ctx: ScenarioContext, scenario: Scenario): Promise<{ rows: StepRow[]; created: ObjectRef[] }> {
  const rows: StepRow[] = [];
  const created: ObjectRef[] = [];
  const names = sutureNames(scenario);
  const midway = deps.restartMidway === true ? midwayIndex(scenario.steps.length) : -1;
  for (const [position, step] of scenario.steps.entries()) {
    const started = deps.timing.now();
    const outcome = step.type === 'check' ? await runCheckStep(ctx, step) : await runRequestStep(ctx, step, { verifier: deps.verifier, sutureNames: names });
    if (outcome.created !== undefined) created.push(outcome.created);
    const result = row(scenario, step, outcome, Math.round(deps.timing.now() - started));
    deps.print(formatRow(result));
    rows.push(result);
    if (position === midway && position < scenario.steps.length - 1) await restartMidway(deps, scenario);
  }
  return { rows, created };
}

function contextFor(deps: RunnerDeps, scenario: Scenario): ScenarioContext {
  const templates = { uids: new UidRegistry(), now: scenarioNow(scenario.clock, deps.wallClock) };
  return { api: deps.api, discovery: deps.discovery, timing: deps.timing, templates, log: deps.log };
}

export async function runScenario(deps: RunnerDeps, scenario: Scenario): Promise<ScenarioReport> {
  const started = deps.timing.now();
  const ctx = contextFor(deps, scenario);
  deps.log(`scenario ${scenario.name} (${scenario.file})`);
  let steps: StepRow[];
  let setupError: string | undefined;
  let created: ObjectRef[] = [];
  try {
    await prepare(deps, ctx, scenario);
    const ran = await runSteps(deps, ctx, scenario);
    steps = ran.rows;
    created = ran.created;
  } catch (error) {
    setupError = messageOf(error);
    steps = setupFailedRows(scenario, setupError);
    for (const r of steps) deps.print(formatRow(r));
  }
  const refs = [...scenarioRefs(scenario), ...created];
  const cleanupStarted = deps.timing.now();
  const cleanupLeft = await cleanup(ctx, refs).catch((error: unknown) => [`cleanup failed: ${messageOf(error)}`]);
  if (cleanupLeft.length > 0) deps.log(`  cleanup of ${scenario.name} left: ${cleanupLeft.join(', ')}`);
  const cleanupMs = Math.round(deps.timing.now() - cleanupStarted);
  const durationMs = Math.round(deps.timing.now() - started);
  deps.log(`  ${scenario.name} took ${(durationMs / 1000).toFixed(1)}s (cleanup ${(cleanupMs / 1000).toFixed(1)}s)`);
  return { name: scenario.name, file: scenario.file, source: scenario.source, clock: scenario.clock, setupError, cleanupLeft, cleanupMs, durationMs, steps };
}
