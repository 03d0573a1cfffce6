// The runner's own HTTP client for the API server: raw requests (so that it sees status codes, Warning headers and
// impersonation exactly as sent), discovery of kinds to resources, and URL paths.

import { request } from 'node:https';
import type { RequestOptions as HttpsOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ApiResponse } from './classify.js';
import type { Identity } from './identity.js';
import { impersonationHeaders } from './identity.js';

export const CONTENT_TYPES = {
  json: 'application/json',
  merge: 'application/merge-patch+json',
  jsonPatch: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
} as const;

export interface ApiRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  readonly contentType?: string;
  /** Impersonated identity; undefined = the kubeconfig's own (admin). */
  readonly identity?: Identity;
}

const WARNING = /(\d{3})\s+(\S+)\s+"((?:[^"\\]|\\.)*)"(?:\s+"[^"]*")?\s*,?\s*/g;

/** The texts of one Warning header value (RFC 7234 form `299 - "text"`, possibly several comma-separated). */
export function parseWarningHeader(value: string): string[] {
  const texts = [...value.matchAll(WARNING)].map((m) => (m[3] ?? '').replace(/\\(.)/g, '$1'));
  return texts.length > 0 ? texts : [value];
}

/** Every Warning header of a response, in order (rawHeaders keeps repeated headers apart). */
export function warningsOf(rawHeaders: readonly string[]): string[] {
  const warnings: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === 'warning') warnings.push(...parseWarningHeader(rawHeaders[i + 1] ?? ''));
  }
  return warnings;
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export class KubeHttp {
  constructor(
    private readonly kc: KubeConfig,
    private readonly timeoutMs = 30_000,
  ) {}

  async send(req: ApiRequest): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...impersonationHeaders(req.identity), Accept: 'application/json', 'Content-Type': req.contentType ?? CONTENT_TYPES.json };
    const options: HttpsOptions = { method: req.method, headers, timeout: this.timeoutMs };
    await this.kc.applyToHTTPSOptions(options);
    const server = this.kc.getCurrentCluster()?.server;
    if (server === undefined) throw new Error('the kubeconfig has no current cluster');
    const url = new URL(req.path, server);
    for (const [key, value] of Object.entries(req.query ?? {})) url.searchParams.set(key, value);
    const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
    // Node sends a DELETE's body without chunked encoding, so without Content-Length the API server sees no body
    // (and no DeleteOptions: an Orphan delete would cascade).
    if (payload !== undefined) headers['Content-Length'] = String(Buffer.byteLength(payload));
    return this.exchange(url, options, payload);
  }

  private async exchange(url: URL, options: HttpsOptions, payload: string | undefined): Promise<ApiResponse> {
    return new Promise((resolve, reject) => {
      const req = request(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: parseBody(Buffer.concat(chunks).toString('utf8')), warnings: warningsOf(res.rawHeaders) }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${options.method ?? ''} ${url.pathname} timed out after ${this.timeoutMs}ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }
}

export interface ResourceInfo {
  readonly plural: string;
  readonly namespaced: boolean;
}

/** `/api/v1` for the core group, `/apis/<group>/<version>` otherwise. */
export function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

export interface PathParts {
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
}

/** The URL path of a resource collection, object or subresource. */
export function resourcePath(apiVersion: string, info: ResourceInfo, parts: PathParts): string {
  const ns = info.namespaced && parts.namespace !== undefined ? `/namespaces/${encodeURIComponent(parts.namespace)}` : '';
  const name = parts.name === undefined ? '' : `/${encodeURIComponent(parts.name)}`;
  const sub = parts.name !== undefined && parts.subresource !== undefined ? `/${parts.subresource}` : '';
  return `${groupVersionPath(apiVersion)}${ns}/${info.plural}${name}${sub}`;
}

interface DiscoveryResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

export class UnknownKindError extends Error {
  override readonly name = 'UnknownKindError';
}

/** Kind → resource through the API server's discovery, cached per group/version and refreshed on a miss. */
export class Discovery {
  private readonly cache = new Map<string, DiscoveryResource[]>();

  constructor(private readonly http: KubeHttp) {}

  async resolve(apiVersion: string, kind: string): Promise<ResourceInfo> {
    const found = this.find(apiVersion, kind) ?? (await this.refresh(apiVersion), this.find(apiVersion, kind));
    if (found === undefined) throw new UnknownKindError(`kind ${kind} of ${apiVersion} is not served by the API server (is its CustomResourceDefinition installed and Established?)`);
    return found;
  }

  /** True once the API server serves `kind` in `apiVersion` (refreshing the cache). */
  async serves(apiVersion: string, kind: string): Promise<boolean> {
    await this.refresh(apiVersion);
    return this.find(apiVersion, kind) !== undefined;
  }

  invalidate(apiVersion: string): void {
    this.cache.delete(apiVersion);
  }

  private find(apiVersion: string, kind: string): ResourceInfo | undefined {
    const resources = (this.cache.get(apiVersion) ?? []).filter((r) => !r.name.includes('/'));
    const match = resources.find((r) => r.kind === kind) ?? resources.find((r) => r.kind.toLowerCase() === kind.toLowerCase());
    return match === undefined ? undefined : { plural: match.name, namespaced: match.namespaced };
  }

  private async refresh(apiVersion: string): Promise<void> {
    const response = await this.http.send({ method: 'GET', path: groupVersionPath(apiVersion) });
    const resources = response.status === 200 ? (response.body as { resources?: DiscoveryResource[] }).resources : undefined;
    this.cache.set(apiVersion, resources ?? []);
  }
}
