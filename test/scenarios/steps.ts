// Running steps: a request as an identity (judged by classify.ts) or a check read as admin and polled.

import type { ApiResponse, Verdict } from '../../src/scenario/classify.js';
import { judgeCheck, judgeRequest, statusMessage } from '../../src/scenario/classify.js';
import type { ObjectRef, ScenarioContext } from './context.js';
import type { Identity } from '../../src/scenario/identity.js';
import { identityOf } from '../../src/scenario/identity.js';
import { CONTENT_TYPES, type ExchangeRequest } from '../../src/kube/client.js';
import type { ResourceInfo } from '../../src/scenario/kube.js';
import { resourcePath, UnknownKindError } from '../../src/scenario/kube.js';
import { mergePatch } from '../../src/scenario/merge.js';
import type { CheckStep, PatchType, RequestStep } from '../../src/scenario/model.js';
import { pollWithin } from './poll.js';
import { resolveTemplates } from '../../src/scenario/templates.js';
import { stepName, stepNamespace } from '../../src/scenario/describe.js';

export { describeStep, expectedText, stepName, stepNamespace } from '../../src/scenario/describe.js';
import { readObject } from './ops.js';

const PATCH_CONTENT_TYPES: Readonly<Record<PatchType, string>> = { merge: CONTENT_TYPES.merge, json: CONTENT_TYPES.jsonPatch, strategic: CONTENT_TYPES.strategic };

type Body = Record<string, unknown> & { metadata?: Record<string, unknown> };

function deleteOptions(step: RequestStep): unknown {
  return step.propagationPolicy === undefined ? undefined : { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: step.propagationPolicy };
}

function createBody(step: RequestStep, namespace: string | undefined, info: ResourceInfo): unknown {
  const body = step.body as Body;
  const metadata = info.namespaced && namespace !== undefined ? { ...body.metadata, namespace } : body.metadata;
  return { apiVersion: step.apiVersion, kind: step.kind, ...body, metadata };
}

/**
 * The HTTP request of a step (pure). `current` is the object (or subresource) read for an `update`, whose body is
 * merged into it and PUT back whole.
 */
export function buildRequest(step: RequestStep, info: ResourceInfo, current?: unknown): ExchangeRequest {
  const namespace = stepNamespace(step);
  const impersonate = identityOf(step.as);
  const object = resourcePath(step.apiVersion, info, { namespace, name: stepName(step), subresource: step.subresource });
  const collection = resourcePath(step.apiVersion, info, { namespace });
  switch (step.do) {
    case 'create':
      return { method: 'POST', path: step.subresource === undefined ? collection : object, body: createBody(step, namespace, info), impersonate };
    case 'update':
      return { method: 'PUT', path: object, body: mergePatch(current, step.body), impersonate };
    case 'patch':
      return { method: 'PATCH', path: object, body: step.body, contentType: PATCH_CONTENT_TYPES[step.patchType ?? 'merge'], impersonate };
    case 'delete':
      return { method: 'DELETE', path: object, body: deleteOptions(step), impersonate };
    default:
      return { method: 'DELETE', path: collection, query: step.labelSelector === undefined ? {} : { labelSelector: step.labelSelector }, body: deleteOptions(step), impersonate };
  }
}

/** Verifies once per identity that impersonation reaches the API server as meant (user and every group). */
export class IdentityVerifier {
  private readonly verified = new Map<string, Promise<void>>();

  constructor(private readonly ctx: Pick<ScenarioContext, 'api'>) {}

  verify(identity: Identity | undefined): Promise<void> {
    if (identity === undefined) return Promise.resolve();
    let pending = this.verified.get(identity.user);
    if (pending === undefined) {
      pending = this.check(identity);
      this.verified.set(identity.user, pending);
    }
    return pending;
  }

  private async check(identity: Identity): Promise<void> {
    const response = await this.ctx.api.exchange({
      method: 'POST',
      path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      impersonate: identity,
    });
    if (response.status === 404) return; // API server too old for SelfSubjectReview: nothing to verify with.
    const seen = (response.body as { status?: { userInfo?: { username?: string; groups?: string[] } } }).status?.userInfo;
    const groups = seen?.groups ?? [];
    const missing = identity.groups.filter((g) => !groups.includes(g));
    if (response.status >= 300 || seen?.username !== identity.user || missing.length > 0) {
      throw new Error(`impersonating ${identity.user} did not work: the API server saw ${JSON.stringify(seen ?? statusMessage(response.body))}`);
    }
  }
}

export interface StepOutcome extends Verdict {
  /** The object a successful create made, for cleanup. */
  readonly created?: ObjectRef;
}

function errorVerdict(error: unknown): StepOutcome {
  const message = error instanceof Error ? error.message : String(error);
  return { pass: false, got: 'error', message, reason: `the runner could not make the request: ${message}` };
}

async function sendStep(ctx: ScenarioContext, step: RequestStep, info: ResourceInfo): Promise<ApiResponse> {
  let current: unknown;
  if (step.do === 'update') {
    const path = resourcePath(step.apiVersion, info, { namespace: stepNamespace(step), name: stepName(step), subresource: step.subresource });
    const read = await ctx.api.exchange({ method: 'GET', path });
    if (read.status !== 200) return read;
    current = read.body;
  }
  return ctx.api.exchange(buildRequest(step, info, current));
}

function createdRef(step: RequestStep, response: ApiResponse): ObjectRef | undefined {
  if (step.do !== 'create' || step.subresource !== undefined || response.status >= 300) return undefined;
  const metadata = (response.body as { metadata?: { name?: string; namespace?: string; uid?: string } }).metadata;
  if (metadata?.name === undefined) return undefined;
  return { apiVersion: step.apiVersion, kind: step.kind, namespace: metadata.namespace, name: metadata.name };
}

/** Runs a request step; never throws (a runner error is a failed step). */
export async function runRequestStep(ctx: ScenarioContext, raw: RequestStep, extra: { verifier: IdentityVerifier; sutureNames: readonly string[] }): Promise<StepOutcome> {
  try {
    const step = resolveTemplates(raw, ctx.templates);
    const info = await ctx.discovery.resolve(step.apiVersion, step.kind);
    await extra.verifier.verify(identityOf(step.as));
    const response = await sendStep(ctx, step, info);
    const created = createdRef(step, response);
    const uid = (response.body as { metadata?: { uid?: string } } | undefined)?.metadata?.uid;
    if (created !== undefined && uid !== undefined) ctx.templates.uids.record(created.kind, created.namespace, created.name, uid);
    return { ...judgeRequest(step, response, extra.sutureNames), created };
  } catch (error) {
    return errorVerdict(error);
  }
}

async function observe(ctx: ScenarioContext, step: CheckStep): Promise<unknown> {
  try {
    return await readObject(ctx, step);
  } catch (error) {
    if (error instanceof UnknownKindError) return undefined; // e.g. its CRD was deleted: the object is gone too
    throw error;
  }
}

/** Runs a check step, polling for up to `within`; never throws. */
export async function runCheckStep(ctx: ScenarioContext, raw: CheckStep): Promise<StepOutcome> {
  try {
    const step = resolveTemplates(raw, ctx.templates);
    const attempt = async (): Promise<{ ok: boolean; value: Verdict }> => {
      const verdict = judgeCheck(step, { object: await observe(ctx, step) });
      return { ok: verdict.pass, value: verdict };
    };
    const last = await pollWithin(attempt, { withinMs: step.withinMs }, ctx.timing);
    return last.ok ? last.value : { ...last.value, reason: `${last.value.reason} (after ${step.withinMs / 1000}s)` };
  } catch (error) {
    return errorVerdict(error);
  }
}
