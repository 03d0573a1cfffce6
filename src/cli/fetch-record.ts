// Where `kubectl suture explain <id>` finds a decision record. Each replica keeps the decisions it took, in memory
// (GET /decisions/<id>, src/admission/server.ts), so the CLI asks:
//   1. with --server: that Suture directly (e.g. https://127.0.0.1:9443 for a local one);
//   2. otherwise the API server's service proxy to Suture's Service, which reaches one replica;
//   3. when that replica does not have it (404 from Suture), each ready pod behind the Service through the pods proxy.
import { request } from 'node:https';
import type { RawObjectApi } from '../kube/client.js';
import { statusMessage, type ApiResponse } from '../scenario/classify.js';
import { isDecisionRecord } from './record.js';
import type { DecisionRecord } from '../admission/recorder.js';

export interface ServiceRef {
  /** Suture's namespace (default suture-system). */
  readonly namespace: string;
  /** Suture's webhook Service (default suture-webhook), port 443. */
  readonly service: string;
}

export type FetchResult = { ok: true; record: DecisionRecord; from: string } | { ok: false; message: string; tried: string[] };

/** A GET that answers status and parsed body; injected so tests need no network. */
export type Get = (path: string) => Promise<ApiResponse>;

const NO_DECISION = /no decision .* on this replica/;

export function decisionPath(id: string): string {
  return `/decisions/${encodeURIComponent(id)}`;
}

/** The API server path that proxies to the Service's HTTPS port. */
export function serviceProxyPath(ref: ServiceRef, id: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/services/https:${encodeURIComponent(ref.service)}:443/proxy${decisionPath(id)}`;
}

/** The API server path that proxies to one pod's HTTPS port. */
export function podProxyPath(namespace: string, pod: { name: string; port: number | string }, id: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/https:${encodeURIComponent(pod.name)}:${pod.port}/proxy${decisionPath(id)}`;
}

interface ServiceShape {
  spec?: { selector?: Record<string, string>; ports?: { port?: number; targetPort?: number | string }[] };
}

interface PodShape {
  metadata?: { name?: string };
  status?: { phase?: string };
  spec?: { containers?: { ports?: { name?: string; containerPort?: number }[] }[] };
}

function podPort(pod: PodShape, target: number | string): number | string {
  if (typeof target === 'number') return target;
  const ports = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
  return ports.find((p) => p.name === target)?.containerPort ?? target;
}

/** The running pods behind the Service, each with the port its targetPort names. */
async function servicePods(get: Get, ref: ServiceRef): Promise<{ name: string; port: number | string }[] | string> {
  const svc = await get(`/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/services/${encodeURIComponent(ref.service)}`);
  if (svc.status !== 200) return `reading Service ${ref.namespace}/${ref.service}: HTTP ${svc.status}: ${statusMessage(svc.body)}`;
  const spec = (svc.body as ServiceShape).spec ?? {};
  const selector = Object.entries(spec.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  const target = spec.ports?.find((p) => p.port === 443)?.targetPort ?? spec.ports?.[0]?.targetPort ?? 443;
  const pods = await get(`/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/pods?labelSelector=${encodeURIComponent(selector)}`);
  if (pods.status !== 200) return `listing Suture's pods: HTTP ${pods.status}: ${statusMessage(pods.body)}`;
  const items = ((pods.body as { items?: PodShape[] }).items ?? []).filter((p) => p.status?.phase === 'Running');
  return items.map((p) => ({ name: p.metadata?.name ?? '', port: podPort(p, target) }));
}

function found(response: ApiResponse): DecisionRecord | undefined {
  return response.status === 200 && isDecisionRecord(response.body) ? response.body : undefined;
}

function missingHere(response: ApiResponse): boolean {
  return response.status === 404 && NO_DECISION.test(statusMessage(response.body));
}

/** Asks the Service, then every pod behind it; the first replica that has the record answers. */
export async function fetchThroughApiServer(get: Get, ref: ServiceRef, id: string): Promise<FetchResult> {
  const viaService = serviceProxyPath(ref, id);
  const first = await get(viaService);
  const record = found(first);
  if (record !== undefined) return { ok: true, record, from: `service ${ref.namespace}/${ref.service}` };
  if (!missingHere(first)) return { ok: false, message: `GET ${viaService}: HTTP ${first.status}: ${statusMessage(first.body)}`, tried: [viaService] };
  const pods = await servicePods(get, ref);
  if (typeof pods === 'string') return { ok: false, message: pods, tried: [viaService] };
  const tried = [viaService];
  for (const pod of pods) {
    const path = podProxyPath(ref.namespace, pod, id);
    tried.push(path);
    const r = found(await get(path));
    if (r !== undefined) return { ok: true, record: r, from: `pod ${ref.namespace}/${pod.name}` };
  }
  return { ok: false, message: `no replica of Suture has decision ${id} (${pods.length} pod(s) asked; records are kept in memory, the newest 10,000 per replica, and are lost when a replica restarts)`, tried };
}

/** A GET through the API server with the kubeconfig's credentials. */
export function apiServerGet(api: RawObjectApi): Get {
  return (path) => {
    const [pathname, query] = path.split('?');
    const params = new URLSearchParams(query ?? '');
    return api.exchange({ method: 'GET', path: pathname ?? path, query: Object.fromEntries(params.entries()) });
  };
}

export interface DirectOptions {
  /** https://host:port of one Suture replica. */
  readonly server: string;
  /** PEM of the CA that signed Suture's serving certificate; undefined: verify against the system's CAs. */
  readonly ca?: string;
  /** Skip verification (implied for loopback addresses: the CLI only asks a local Suture about itself there). */
  readonly insecure: boolean;
  readonly timeoutMs?: number;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** GET <server><path> on one Suture replica. */
export function directGet(options: DirectOptions): Get {
  return (path) =>
    new Promise((resolve, reject) => {
      const url = new URL(path, options.server);
      const verify = !options.insecure && !isLoopback(url.hostname);
      const req = request(url, { method: 'GET', rejectUnauthorized: verify, timeout: options.timeoutMs ?? 10_000, ...(options.ca === undefined ? {} : { ca: options.ca }) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: parseBody(Buffer.concat(chunks).toString('utf8')), warnings: [] }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${url.href} timed out`)));
      req.on('error', reject);
      req.end();
    });
}

/** Asks one replica directly. */
export async function fetchDirect(get: Get, server: string, id: string): Promise<FetchResult> {
  const path = decisionPath(id);
  const response = await get(path);
  const record = found(response);
  if (record !== undefined) return { ok: true, record, from: server };
  return { ok: false, message: `GET ${server}${path}: HTTP ${response.status}: ${statusMessage(response.body)}`, tried: [`${server}${path}`] };
}
