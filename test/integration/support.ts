// Helpers shared by the integration tests: unique names, namespaces, API errors, polling and raw requests.
import { randomBytes } from 'node:crypto';
import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { Cluster, User } from '@kubernetes/client-node';
import { expect } from 'chai';
import { type Exchange, type ExchangeRequest, RawObjectApi, shareDispatchers } from '../../src/kube/client.js';
import { pollUntil } from '../controlplane/probe.js';

/** `prefix-` plus 6 random hex characters: names never collide between tests or runs. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

export async function createNamespace(kc: KubeConfig, prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}

/** Deletes a namespace and does not wait; a namespace already gone is fine. */
export async function deleteNamespace(kc: KubeConfig, name: string): Promise<void> {
  await ignoreNotFound(kc.makeApiClient(CoreV1Api).deleteNamespace({ name }));
}

export async function ignoreNotFound(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof ApiException && error.code === 404)) throw error;
  }
}

/** The HTTP status of a failed API call; fails the test if the call succeeded or failed otherwise. */
export async function apiErrorCode(call: Promise<unknown>): Promise<number> {
  try {
    await call;
  } catch (error) {
    expect(error, String(error)).to.be.instanceOf(ApiException);
    return (error as ApiException<unknown>).code;
  }
  expect.fail('expected the API call to fail');
}

/** The Status message of a failed API call (client-node 2.x keeps the response body as a string). */
export function statusMessage(error: unknown): string {
  if (!(error instanceof ApiException)) return String(error);
  const body: unknown = error.body;
  const parsed: unknown = typeof body === 'string' ? JSON.parse(body) : body;
  const message = (parsed as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(body);
}

/** Polls `check` every 250 ms until it returns true, for at most `timeoutMs`. */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  await pollUntil(check, { what, timeoutMs, intervalMs: 250 });
}

/** True once the call fails with 404. */
export async function isGone(call: Promise<unknown>): Promise<boolean> {
  try {
    await call;
    return false;
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return true;
    throw error;
  }
}

const apis = new WeakMap<KubeConfig, RawObjectApi>();

/**
 * A request through the project's one client (RawObjectApi.exchange): the status, body and warnings whatever the
 * status, as an impersonated identity when asked. One connection pool per kubeconfig (shared dispatchers), so that
 * connections opened by one request serve the next.
 */
export function rawRequest(kc: KubeConfig, request: ExchangeRequest): Promise<Exchange> {
  let api = apis.get(kc);
  if (api === undefined) {
    api = RawObjectApi.fromKubeConfig(shareDispatchers(kc));
    apis.set(kc, api);
  }
  return api.exchange(request);
}

function singleContext(cluster: Cluster, user: User): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [cluster], users: [user], contexts: [{ name: 'it', cluster: cluster.name, user: user.name }], currentContext: 'it' });
  return kc;
}

function currentClusterOf(kc: KubeConfig): Cluster {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('kubeconfig has no current cluster');
  return cluster;
}

/** The same credentials, with every request impersonating `user` (Impersonate-User). */
export function impersonating(kc: KubeConfig, user: string): KubeConfig {
  const current = kc.getCurrentUser();
  if (current === null) throw new Error('kubeconfig has no current user');
  return singleContext(currentClusterOf(kc), { ...current, impersonateUser: user });
}

/** The same cluster, authenticating with a bearer token instead. */
export function withToken(kc: KubeConfig, name: string, token: string): KubeConfig {
  return singleContext(currentClusterOf(kc), { name, token });
}

/** A namespaced CRD with one served, stored version `v1` and the given schema (default: anything goes). */
export function namespacedCrd(group: string, plural: string, kind: string, schema: Record<string, unknown> = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }): {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown>;
} {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural, singular: plural.slice(0, -1), kind, listKind: `${kind}List` },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: schema } }],
    },
  };
}
