// Thin adapters over @kubernetes/client-node 2.x: loading a KubeConfig, an ObjectClient for any kind, and exchanges
// (a request answered with its status, body and warnings, whatever the status, as an impersonated identity if asked)
// for the scenario runner and `kubectl suture`. It is the project's one Kubernetes client.
//
// The ObjectClient reads and writes plain JSON. client-node's typed (de)serializer turns timestamps into Date objects
// on the way in and drops fields its models do not know on the way out; Suture compares, hashes and patches objects
// as the API server sends them, so it bypasses the serializer while keeping client-node's auth, TLS and
// discovery-based URL building (KubernetesObjectApi).
import * as tls from 'node:tls';
import { ApiException, HttpMethod, KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import type { Cluster, Configuration, RequestContext, ResponseContext } from '@kubernetes/client-node';
import type { KubeObject } from '../api/types.js';
import { toKubeError, isNotFound } from './errors.js';

// ------------------------------------------------------------------------------------------------ configuration

/** Where the API server and credentials come from: a kubeconfig file, or the pod's service account. */
export type KubeConfigSource = { kind: 'file'; path: string; context?: string } | { kind: 'inCluster' };

export function loadKubeConfig(source: KubeConfigSource): KubeConfig {
  const kc = new KubeConfig();
  if (source.kind === 'inCluster') {
    kc.loadFromCluster();
    return shareDispatchers(kc);
  }
  kc.loadFromFile(source.path);
  if (source.context !== undefined) kc.setCurrentContext(source.context);
  return shareDispatchers(kc);
}

type DispatcherFactory = (cluster: Cluster | null, agentOptions: unknown) => unknown;
type DispatcherOptions = { type: string; connect?: Record<string, unknown> };
type DispatcherOptionsFactory = (cluster: Cluster | null, agentOptions: unknown) => DispatcherOptions;

/** The TLS options of a connection with one SecureContext built from them, shared by every connection made with them. */
function withSecureContext(connect: Record<string, unknown>): Record<string, unknown> {
  const { ca, cert, key, pfx, passphrase } = connect as tls.SecureContextOptions;
  return { ...connect, secureContext: tls.createSecureContext({ ca, cert, key, pfx, passphrase }) };
}

/**
 * How long an idle connection to the API server is kept. undici closes idle connections after 4 s by default, so
 * the consistent reads of a delete that came after a quiet spell each paid a new TLS handshake (profiles of
 * `make bench` showed TLSSocket._init, setSession and getPeerCertificate on top again after the SecureContext was
 * shared). The API server keeps idle HTTP/1.1 connections longer; a connection it closes first is replaced.
 */
export const API_KEEP_ALIVE_MS = 120_000;

/**
 * The same kind of undici Agent client-node made (its own undici: the dispatcher must match the fetch that uses it),
 * with idle connections kept for API_KEEP_ALIVE_MS. Proxies and plain connections are left as client-node made them.
 */
function keptAlive(made: unknown, options: DispatcherOptions): unknown {
  if (options.type !== 'agent' || made === undefined || made === null) return made;
  const Agent = (made as { constructor: new (opts: Record<string, unknown>) => unknown }).constructor;
  void (made as { close?: () => Promise<void> }).close?.();
  return new Agent({ connect: options.connect, keepAliveTimeout: API_KEEP_ALIVE_MS, keepAliveMaxTimeout: API_KEEP_ALIVE_MS });
}

/**
 * client-node 2.x builds a new undici Agent for every API call (applySecurityAuthentication → createDispatcher), so
 * every request opens a new TLS connection and builds a new SecureContext: CPU profiles of `make bench` showed
 * setKey, SecureContext and getPeerCertificate on top of Suture's self time (docs/performance.md). Reuse one
 * dispatcher (connection pool) per cluster and user, as client-node already does for its https.Agents, and one
 * SecureContext for all its connections (tls.connect otherwise parses the key, certificate and CA again for each
 * new connection: each watch holds one). Credentials in headers (tokens) are still read per request; a client
 * certificate or CA file rotated on disk is picked up by the next process start, as with the https.Agent cache.
 */
export function shareDispatchers(kc: KubeConfig): KubeConfig {
  const target = kc as unknown as { createDispatcher: DispatcherFactory; createDispatcherOptions: DispatcherOptionsFactory };
  const create = target.createDispatcher.bind(kc);
  const options = target.createDispatcherOptions.bind(kc);
  target.createDispatcherOptions = (cluster, agentOptions) => {
    const opts = options(cluster, agentOptions);
    return opts.type === 'agent' && opts.connect !== undefined ? { ...opts, connect: withSecureContext(opts.connect) } : opts;
  };
  const cache = new Map<string, unknown>();
  target.createDispatcher = (cluster, agentOptions) => {
    const key = JSON.stringify([cluster?.name ?? '', kc.getCurrentUser()?.name ?? '']);
    if (!cache.has(key)) cache.set(key, keptAlive(create(cluster, agentOptions), target.createDispatcherOptions(cluster, agentOptions)));
    return cache.get(key);
  };
  return kc;
}

// ------------------------------------------------------------------------------------------------ paths

/** apiVersion "apps/v1" → {group: "apps", version: "v1"}; "v1" → {group: "", version: "v1"}. */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export interface ResourcePath {
  apiVersion: string;
  /** Plural resource name, e.g. deployments. */
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** /api/v1/namespaces/ns/pods/name/status, /apis/apps/v1/deployments, … */
export function resourcePath(path: ResourcePath): string {
  const root = path.apiVersion.includes('/') ? `/apis/${path.apiVersion}` : `/api/${path.apiVersion}`;
  const parts = [root];
  if (path.namespace !== undefined && path.namespace !== '') parts.push('namespaces', encodeURIComponent(path.namespace));
  parts.push(path.resource);
  if (path.name !== undefined) parts.push(encodeURIComponent(path.name));
  if (path.subresource !== undefined) parts.push(path.subresource);
  return parts.join('/');
}

/** "namespace/name", or "name" for a cluster-scoped object (client-go's MetaNamespaceKeyFunc). */
export function objectKey(meta: { namespace?: string | undefined; name?: string | undefined }): string {
  const name = meta.name ?? '';
  return meta.namespace !== undefined && meta.namespace !== '' ? `${meta.namespace}/${name}` : name;
}

/** The inverse of objectKey. */
export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

// ------------------------------------------------------------------------------------------------ raw requests

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

export interface RawRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Query;
  body?: unknown;
  /** Default application/json. */
  contentType?: string;
  /** Default application/json; metadata.ts asks for PartialObjectMetadata(List) this way. */
  accept?: string;
}

const methods: Record<RawRequest['method'], HttpMethod> = {
  GET: HttpMethod.GET,
  POST: HttpMethod.POST,
  PUT: HttpMethod.PUT,
  PATCH: HttpMethod.PATCH,
  DELETE: HttpMethod.DELETE,
};

// ------------------------------------------------------------------------------------------------ exchanges

/** Content types of request bodies: JSON, and the three patch types. */
export const CONTENT_TYPES = {
  json: 'application/json',
  merge: PatchStrategy.MergePatch,
  jsonPatch: PatchStrategy.JsonPatch,
  strategic: PatchStrategy.StrategicMergePatch,
} as const;

/** Who the API server must take the request to be from (user impersonation). */
export interface Impersonation {
  readonly user: string;
  /**
   * Every group is sent, each as its own Impersonate-Group header; the API server then adds only system:authenticated.
   * None: the API server derives them (a service account's groups, or system:authenticated).
   */
  readonly groups: readonly string[];
}

/** Headers for a request as `who`: Impersonate-User, and one Impersonate-Group header per group. */
export function impersonationHeaders(who: Impersonation | undefined): Record<string, string | string[]> {
  if (who === undefined) return {};
  return { 'Impersonate-User': who.user, ...(who.groups.length === 0 ? {} : { 'Impersonate-Group': [...who.groups] }) };
}

export interface ExchangeRequest extends RawRequest {
  /** Undefined: the kubeconfig's own identity. */
  readonly impersonate?: Impersonation | undefined;
  /** Default 30 s. */
  readonly timeoutMs?: number;
}

/** What the API server answered. */
export interface Exchange {
  readonly status: number;
  /** Parsed JSON when the body was JSON, else the text; undefined when empty. */
  readonly body: unknown;
  /** The texts of the Warning headers, in order. */
  readonly warnings: readonly string[];
}

const EXCHANGE_TIMEOUT_MS = 30_000;

const WARNING = /(\d{3})\s+(\S+)\s+"((?:[^"\\]|\\.)*)"(?:\s+"[^"]*")?\s*,?\s*/g;

/** The texts of one Warning header value (RFC 7234 form `299 - "text"`, possibly several comma-separated). */
export function parseWarningHeader(value: string): string[] {
  const texts = [...value.matchAll(WARNING)].map((m) => (m[3] ?? '').replace(/\\(.)/g, '$1'));
  return texts.length > 0 ? texts : [value];
}

/** The texts of a response's Warning header(s), in order: one value, or one per repeated header. */
export function warningsOf(header: string | readonly string[] | undefined): string[] {
  if (header === undefined) return [];
  return (typeof header === 'string' ? [header] : header).flatMap(parseWarningHeader);
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The part of undici's Dispatcher an exchange uses (client-node's own undici builds the dispatchers). */
interface RequestDispatcher {
  request(options: {
    origin: string;
    path: string;
    method: string;
    headers: Record<string, string | string[]>;
    body?: string;
    signal: AbortSignal;
  }): Promise<{ statusCode: number; headers: Record<string, string | string[] | undefined>; body: { text(): Promise<string> } }>;
}

/** undici's process-wide dispatcher (what fetch uses when the kubeconfig needs no TLS options of its own). */
function globalDispatcher(): unknown {
  const dispatcher: unknown = (globalThis as Record<symbol, unknown>)[Symbol.for('undici.globalDispatcher.1')];
  if (dispatcher === undefined) throw new Error('no undici dispatcher: @kubernetes/client-node did not load undici');
  return dispatcher;
}

/** KubernetesObjectApi answering with the JSON the API server sent, not deserialized models. */
export class RawObjectApi extends KubernetesObjectApi {
  static fromKubeConfig(kc: KubeConfig): RawObjectApi {
    const api = kc.makeApiClient(RawObjectApi);
    api.setDefaultNamespace(kc);
    return api;
  }

  constructor(configuration: Configuration) {
    super(configuration);
  }

  /** Sends a request; resolves with the parsed JSON body; rejects with ApiException on a non-2xx status. */
  async request<T>(request: RawRequest): Promise<T> {
    return this.requestPromise(this.context(request), 'raw') as Promise<unknown> as Promise<T>;
  }

  /**
   * Sends a request and resolves with what the API server answered, whatever the status: the status code, the parsed
   * body (or its text) and the Warning headers' texts. Rejects only when no answer came (connection, TLS, timeout).
   *
   * It goes through the same credentials, middleware and connection pool (the shared undici dispatcher) as request(),
   * but hands the request to the dispatcher itself rather than to fetch(): fetch joins repeated headers into one
   * comma-separated value, and the API server reads each Impersonate-Group header as one group.
   */
  async exchange(request: ExchangeRequest): Promise<Exchange> {
    let ctx = this.context(request);
    // What requestPromise does before it sends: the auth methods, then the middleware (client-node's User-Agent).
    await this.configuration.authMethods.BearerToken?.applySecurityAuthentication(ctx);
    await this.configuration.authMethods.default?.applySecurityAuthentication(ctx);
    for (const middleware of this.configuration.middleware) ctx = await middleware.pre(ctx).toPromise();
    const dispatcher = (ctx.getDispatcher() ?? globalDispatcher()) as RequestDispatcher;
    const url = new URL(ctx.getUrl());
    const timeoutMs = request.timeoutMs ?? EXCHANGE_TIMEOUT_MS;
    const body = ctx.getBody();
    try {
      const response = await dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: request.method,
        headers: { ...ctx.getHeaders(), ...impersonationHeaders(request.impersonate) },
        ...(typeof body === 'string' ? { body } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.body.text();
      return { status: response.statusCode, body: parseBody(text), warnings: warningsOf(response.headers['warning']) };
    } catch (error) {
      if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) throw new Error(`${request.method} ${url.pathname} timed out after ${timeoutMs}ms`, { cause: error });
      throw error;
    }
  }

  /** The request's context: path, query, Accept, and the body as JSON. */
  private context(request: RawRequest): RequestContext {
    const ctx: RequestContext = this.configuration.baseServer.makeRequestContext(request.path, methods[request.method]);
    ctx.setHeaderParam('Accept', request.accept ?? 'application/json');
    for (const [name, value] of Object.entries(request.query ?? {})) if (value !== undefined) ctx.setQueryParam(name, String(value));
    if (request.body !== undefined) {
      ctx.setHeaderParam('Content-Type', request.contentType ?? 'application/json');
      ctx.setBody(JSON.stringify(request.body));
    }
    return ctx;
  }

  /** The URL path of an object (or of the collection when name is undefined), resolved through discovery. */
  async objectPath(ref: { apiVersion: string; kind: string; namespace?: string | undefined; name?: string | undefined }, subresource?: string): Promise<string> {
    const spec = { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }), ...(ref.name === undefined ? {} : { name: ref.name }) } };
    const path = await this.specUriPath(spec, ref.name === undefined ? 'list' : 'read');
    return subresource === undefined ? path : `${path}/${subresource}`;
  }

  protected override async processResponse<T>(response: ResponseContext): Promise<T> {
    const text = await response.body.text();
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) return (text === '' ? {} : JSON.parse(text)) as T;
    throw new ApiException(response.httpStatusCode, 'Unsuccessful HTTP Request', text, response.headers);
  }
}

// ------------------------------------------------------------------------------------------------ ObjectClient

/** Names one object of any kind. `namespace` undefined or "" for cluster-scoped kinds. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string | undefined;
  name: string;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

export interface ListOptions {
  /** undefined: all namespaces (or a cluster-scoped kind). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  /** Unset (the default) asks for a consistent (quorum) read. */
  resourceVersion?: string;
  resourceVersionMatch?: 'NotOlderThan' | 'Exact';
}

export interface WriteOptions {
  dryRun?: boolean;
  /** Defaults to the client's field manager. */
  fieldManager?: string;
}

export interface PatchStatusOptions extends WriteOptions {
  /** Patch only this version of the object: the API server answers 409 Conflict when it changed meanwhile. */
  resourceVersion?: string;
}

export interface ApplyOptions extends WriteOptions {
  /** Take over fields other managers own. Default false: a conflict is an error. */
  force?: boolean;
}

export interface DeleteOptions {
  dryRun?: boolean;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  gracePeriodSeconds?: number;
  /** Delete only if the object still has this uid / resourceVersion (else Conflict). */
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface ObjectClient {
  get<T extends KubeObject = KubeObject>(ref: ObjectRef): Promise<T>;
  /** Like get, but undefined when the object does not exist. */
  find<T extends KubeObject = KubeObject>(ref: ObjectRef): Promise<T | undefined>;
  list<T extends KubeObject = KubeObject>(apiVersion: string, kind: string, options?: ListOptions): Promise<KubeList<T>>;
  create<T extends KubeObject>(object: T, options?: WriteOptions): Promise<T>;
  /** PUT: fails with Conflict when metadata.resourceVersion is set and stale (optimistic concurrency). */
  replace<T extends KubeObject>(object: T, options?: WriteOptions): Promise<T>;
  /** Server-side apply of a partial object (create or update the fields it names). */
  apply<T extends KubeObject>(object: T, options?: ApplyOptions): Promise<T>;
  /** JSON merge patch (RFC 7386). */
  mergePatch<T extends KubeObject = KubeObject>(ref: ObjectRef, patch: object, options?: WriteOptions): Promise<T>;
  /** Merge patch of the status subresource (of one resourceVersion, when given). */
  patchStatus<T extends KubeObject = KubeObject>(ref: ObjectRef, status: unknown, options?: PatchStatusOptions): Promise<T>;
  /** Deletes; resolves false when the object was already gone. */
  delete(ref: ObjectRef, options?: DeleteOptions): Promise<boolean>;
}

export interface ObjectClientOptions {
  /** Field manager for writes (server-side apply needs one). Default "suture". */
  fieldManager?: string;
}

function describe(verb: string, ref: { apiVersion: string; kind: string; namespace?: string | undefined; name?: string | undefined }): string {
  const where = ref.name === undefined ? (ref.namespace ?? '') : objectKey(ref);
  return `${verb} ${ref.apiVersion} ${ref.kind}${where === '' ? '' : ` ${where}`}`;
}

function refOf(object: KubeObject): ObjectRef {
  return { apiVersion: object.apiVersion, kind: object.kind, namespace: object.metadata.namespace, name: object.metadata.name ?? '' };
}

/** Runs `call`, normalising a failure into the KubeError family. */
async function attempt<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toKubeError(error, what);
  }
}

function writeQuery(options: WriteOptions | undefined, fieldManager: string): Query {
  return { fieldManager: options?.fieldManager ?? fieldManager, ...(options?.dryRun === true ? { dryRun: 'All' } : {}) };
}

class KubeObjectClient implements ObjectClient {
  constructor(
    private readonly api: RawObjectApi,
    private readonly fieldManager: string,
  ) {}

  get<T extends KubeObject>(ref: ObjectRef): Promise<T> {
    return attempt(describe('get', ref), async () => this.api.request<T>({ method: 'GET', path: await this.api.objectPath(ref) }));
  }

  async find<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    try {
      return await this.get<T>(ref);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  list<T extends KubeObject>(apiVersion: string, kind: string, options: ListOptions = {}): Promise<KubeList<T>> {
    const { namespace, ...query } = options;
    return attempt(describe('list', { apiVersion, kind, namespace }), async () =>
      this.api.request<KubeList<T>>({ method: 'GET', path: await this.api.objectPath({ apiVersion, kind, namespace }), query }),
    );
  }

  create<T extends KubeObject>(object: T, options?: WriteOptions): Promise<T> {
    const ref = refOf(object);
    return attempt(describe('create', ref), async () =>
      this.api.request<T>({ method: 'POST', path: await this.api.objectPath({ ...ref, name: undefined }), query: writeQuery(options, this.fieldManager), body: object }),
    );
  }

  replace<T extends KubeObject>(object: T, options?: WriteOptions): Promise<T> {
    const ref = refOf(object);
    return attempt(describe('replace', ref), async () =>
      this.api.request<T>({ method: 'PUT', path: await this.api.objectPath(ref), query: writeQuery(options, this.fieldManager), body: object }),
    );
  }

  apply<T extends KubeObject>(object: T, options?: ApplyOptions): Promise<T> {
    const ref = refOf(object);
    const query = { ...writeQuery(options, this.fieldManager), ...(options?.force === true ? { force: true } : {}) };
    return attempt(describe('apply', ref), async () =>
      this.api.request<T>({ method: 'PATCH', path: await this.api.objectPath(ref), query, body: object, contentType: PatchStrategy.ServerSideApply }),
    );
  }

  mergePatch<T extends KubeObject>(ref: ObjectRef, patch: object, options?: WriteOptions): Promise<T> {
    return attempt(describe('patch', ref), async () =>
      this.api.request<T>({ method: 'PATCH', path: await this.api.objectPath(ref), query: writeQuery(options, this.fieldManager), body: patch, contentType: PatchStrategy.MergePatch }),
    );
  }

  patchStatus<T extends KubeObject>(ref: ObjectRef, status: unknown, options?: PatchStatusOptions): Promise<T> {
    const precondition = options?.resourceVersion === undefined ? {} : { metadata: { resourceVersion: options.resourceVersion } };
    return attempt(describe('patch status of', ref), async () =>
      this.api.request<T>({
        method: 'PATCH',
        path: await this.api.objectPath(ref, 'status'),
        query: writeQuery(options, this.fieldManager),
        body: { ...precondition, status },
        contentType: PatchStrategy.MergePatch,
      }),
    );
  }

  async delete(ref: ObjectRef, options: DeleteOptions = {}): Promise<boolean> {
    const body = {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      ...(options.propagationPolicy === undefined ? {} : { propagationPolicy: options.propagationPolicy }),
      ...(options.gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds: options.gracePeriodSeconds }),
      ...(options.preconditions === undefined ? {} : { preconditions: options.preconditions }),
      ...(options.dryRun === true ? { dryRun: ['All'] } : {}),
    };
    try {
      await attempt(describe('delete', ref), async () => this.api.request({ method: 'DELETE', path: await this.api.objectPath(ref), body }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }
}

export function createObjectClient(kc: KubeConfig, options: ObjectClientOptions = {}): ObjectClient {
  return new KubeObjectClient(RawObjectApi.fromKubeConfig(kc), options.fieldManager ?? 'suture');
}
