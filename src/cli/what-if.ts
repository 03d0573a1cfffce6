// `kubectl suture explain -f manifest.yaml --as <subject>`: asks the live cluster what Suture would say, without
// changing anything. Each object is sent as that identity (impersonation, with the groups Kubernetes gives a service
// account) with dryRun=All: the API server runs authentication, RBAC, validation and every admission webhook whose
// sideEffects are None — Suture's are — and stores nothing. The answer is told apart as the scenario runner does
// (scenario/classify.ts): Suture's verdict, or a refusal by RBAC, validation or another webhook before Suture decided.
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../api/types.js';
import { classify, explainOutcome, type ApiResponse, type Classified } from '../scenario/classify.js';
import { refText } from '../scenario/describe.js';
import type { Identity } from '../scenario/identity.js';
import type { RawObjectApi } from '../kube/client.js';
import { type Kinds, resourcePath, type ResourceInfo } from '../scenario/kube.js';
import { mergePatch } from '../scenario/merge.js';

export const WHAT_IF_VERBS = ['create', 'update', 'delete'] as const;
export type WhatIfVerb = (typeof WHAT_IF_VERBS)[number];

export interface WhatIf {
  readonly object: KubeObject;
  readonly verb: WhatIfVerb;
  readonly identity: Identity;
  /** Used when the object names no namespace (kubectl's -n). */
  readonly namespace?: string;
  readonly propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
}

export interface WhatIfAnswer {
  /** "create ConfigMap db/x". */
  readonly request: string;
  readonly status: number;
  readonly classified: Classified;
  readonly warnings: readonly string[];
  /** The decision id Suture's message names, for `kubectl suture explain <id>`. */
  readonly decisionId?: string;
}

export class ManifestError extends Error {
  override readonly name = 'ManifestError';
}

function isObject(value: unknown): value is KubeObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const o = value as Record<string, unknown>;
  return typeof o.apiVersion === 'string' && typeof o.kind === 'string' && o.metadata !== null && typeof o.metadata === 'object';
}

/** The objects of one document: itself, or the items of a `kind: List`. */
function objectsOf(value: unknown, where: string): KubeObject[] {
  if (value === null || value === undefined) return [];
  const list = value as { kind?: unknown; items?: unknown };
  const items = typeof list.kind === 'string' && list.kind.endsWith('List') && Array.isArray(list.items) ? (list.items as unknown[]) : [value];
  return items.map((item) => {
    if (!isObject(item)) throw new ManifestError(`${where} is not a Kubernetes object (apiVersion, kind and metadata are required)`);
    return item;
  });
}

/** The objects of a YAML or JSON manifest (several documents, and `kind: List` items, allowed). */
export function parseManifest(text: string, file: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const [i, doc] of parseAllDocuments(text).entries()) {
    const where = `${file}: document ${i + 1}`;
    if (doc.errors.length > 0) throw new ManifestError(`${where}: ${doc.errors[0]?.message ?? 'invalid YAML'}`);
    out.push(...objectsOf(doc.toJS(), where));
  }
  if (out.length === 0) throw new ManifestError(`${file}: no objects`);
  return out;
}

const DECISION_ID = /\[decision ([^\]\s]+)\]/;

/** The decision id in a Suture message or warning. */
export function decisionIdOf(texts: readonly string[]): string | undefined {
  for (const text of texts) {
    const m = DECISION_ID.exec(text);
    if (m?.[1] !== undefined) return m[1];
  }
  return undefined;
}

function namespaceOf(w: WhatIf, info: ResourceInfo): string | undefined {
  if (!info.namespaced) return undefined;
  const own = w.object.metadata.namespace;
  if (own !== undefined && w.namespace !== undefined && own !== w.namespace) {
    throw new ManifestError(`${w.object.kind} ${w.object.metadata.name ?? ''} names namespace ${own}, but --namespace says ${w.namespace}`);
  }
  return own ?? w.namespace ?? 'default';
}

const DRY_RUN = { dryRun: 'All' };

async function send(api: RawObjectApi, w: WhatIf, where: { info: ResourceInfo; namespace: string | undefined }): Promise<ApiResponse> {
  const { apiVersion } = w.object;
  const name = w.object.metadata.name;
  const object = { ...w.object, metadata: { ...w.object.metadata, ...(where.namespace === undefined ? {} : { namespace: where.namespace }) } };
  const path = resourcePath(apiVersion, where.info, { namespace: where.namespace, name });
  if (w.verb === 'create') return api.exchange({ method: 'POST', path: resourcePath(apiVersion, where.info, { namespace: where.namespace }), query: DRY_RUN, body: object, impersonate: w.identity });
  if (w.verb === 'delete') {
    const options = { apiVersion: 'v1', kind: 'DeleteOptions', dryRun: ['All'], ...(w.propagationPolicy === undefined ? {} : { propagationPolicy: w.propagationPolicy }) };
    return api.exchange({ method: 'DELETE', path, query: DRY_RUN, body: options, impersonate: w.identity });
  }
  // update: the manifest merged into the live object (read with the caller's own credentials), PUT back whole.
  const current = await api.exchange({ method: 'GET', path });
  if (current.status !== 200) return current;
  return api.exchange({ method: 'PUT', path, query: DRY_RUN, body: mergePatch(current.body, object), impersonate: w.identity });
}

/** Sends one object as the identity with dryRun=All and tells what answered. */
export async function askCluster(api: RawObjectApi, kinds: Kinds, w: WhatIf): Promise<WhatIfAnswer> {
  const info = await kinds.resolve(w.object.apiVersion, w.object.kind);
  const namespace = namespaceOf(w, info);
  const request = `${w.verb} ${refText({ kind: w.object.kind, namespace, name: w.object.metadata.name ?? w.object.metadata.generateName ?? '' })}`;
  const response = await send(api, w, { info, namespace });
  const classified = classify(response, []);
  const decisionId = decisionIdOf([classified.message, ...response.warnings]);
  return { request, status: response.status, classified, warnings: response.warnings, ...(decisionId === undefined ? {} : { decisionId }) };
}

/** Exit status of an answer: 0 allowed, 1 denied by Suture, 2 refused by something else or not decided. */
export function exitCodeOf(answer: WhatIfAnswer): number {
  const outcome = answer.classified.outcome;
  if (outcome === 'allowed' || outcome === 'warned') return 0;
  return outcome === 'denied' ? 1 : 2;
}

/** An answer as lines of text. */
export function formatAnswer(answer: WhatIfAnswer, as: string): string[] {
  const { classified } = answer;
  const head = `${answer.request} as ${as} (dry run: nothing was changed)`;
  const lines = [head];
  if (classified.outcome === 'allowed' || classified.outcome === 'warned') {
    lines.push(classified.outcome === 'warned' ? '  ALLOWED, with a warning from Suture' : '  ALLOWED');
    for (const w of answer.warnings) lines.push(`  warning: ${w}`);
  } else if (classified.outcome === 'denied') {
    lines.push(`  DENIED by Suture (${classified.webhook ?? ''})`, `  ${classified.message}`);
  } else {
    lines.push(`  REFUSED before Suture decided: ${explainOutcome(classified, answer.status)}`, `  ${classified.message}`);
  }
  if (answer.decisionId !== undefined) lines.push(`  details: kubectl suture explain ${answer.decisionId}`);
  return lines;
}
