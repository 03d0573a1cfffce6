// The HTTPS edge every replica serves: /validate and /mutate for the API server, /healthz, /readyz and /metrics for
// the kubelet and Prometheus. Only this file speaks HTTP; the decision path is the handler chain (chain.ts).
//
// Edge order for an admission route: route (404) → method (405) → media type (415) → body size (413) → JSON and
// AdmissionReview shape (400, uid echoed when found) → handler chain → 200 with the review. An internal failure after
// decoding is still a 200 review, allowed: false with code 500 and the uid; what to do with it is the caller's
// failure policy, carried by the decision.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Registry } from 'prom-client';
import { buildChain, type AdmissionHandler } from './chain.js';
import { EdgeLogKeys as K, errorText, type EdgeLogger, type MonotonicClock, type Readiness } from './deps.js';
import type { TlsPair } from '../kube/pki.js';
import { EdgeError, isJsonContentType, parseJson, readBody, sendJson, sendStatus, sendText } from './http.js';
import { AdmissionStages, type AdmissionMetrics } from './metrics.js';
import { decodeAdmissionReview, encodeAdmissionReview, errorDecision, errorReview, isPatchable, Phases, type Phase } from './review.js';

export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;
/** Longer than the API server's idle-connection timeout (90 s), so idle connections are closed by the client. */
export const KEEP_ALIVE_TIMEOUT_MS = 120_000;

export interface AdmissionServerOptions {
  /** The raw decision handler; the server wraps it in the standard chain (recovery, timeout, logging, metrics). */
  handler: AdmissionHandler;
  /**
   * Validates Suture's own objects (policies, leases, exceptions) at /validate-objects, the path the generated
   * `objects.suture.dev` webhook calls; without it that path answers 404.
   */
  objectsHandler?: AdmissionHandler;
  /** The current serving certificate and key; read again on every SNI handshake and every `tlsRefreshMs`. */
  tls: () => TlsPair;
  ready: () => Readiness;
  registry: Registry;
  metrics: AdmissionMetrics;
  logger: EdgeLogger;
  clock: MonotonicClock;
  port: number;
  /** Default 0.0.0.0; tests use 127.0.0.1. */
  host?: string;
  /** Default 3 MiB (the API server's own request limit). */
  maxBodyBytes?: number;
  /** Deadline for a decision, default 9 s (below the webhook default of 10 s). */
  decisionTimeoutMs?: number;
  /** Deadline for receiving a whole HTTP request, default 10 s. */
  requestTimeoutMs?: number;
  /** How often the certificate getter is polled for connections without SNI, default 10 s. */
  tlsRefreshMs?: number;
  /** Looks up a decision record by id for GET /decisions/<id>; the route is absent without it. */
  decisions?: (id: string) => unknown;
  /** How long close() lets in-flight requests finish before cutting connections, default 15 s. */
  shutdownGraceMs?: number;
}

export interface AdmissionServer {
  /** Starts listening; resolves with the server address (port 0 picks a free one). */
  listen(): Promise<AddressInfo>;
  /** Stops accepting, answers /readyz with 503, lets in-flight requests finish, then resolves. */
  close(): Promise<void>;
  /** Reads the certificate getter now; true when the served certificate changed. */
  refreshTls(): boolean;
  /** The Node server, for tests and wiring. */
  readonly server: Server;
}

const GET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);
const DECISIONS_PREFIX = '/decisions/';
/** The paths the generated webhook configurations call (src/core/generate/webhooks.ts, WebhookPaths). */
export const AdmissionPaths = { validate: '/validate', mutate: '/mutate', objects: '/validate-objects' } as const;

interface AdmissionRoute {
  phase: Phase;
  chain: AdmissionHandler;
}

/** Keeps the served certificate in step with its getter, without restarting the server. */
class TlsState {
  private current: TlsPair;
  private context: SecureContext;

  constructor(
    private readonly source: () => TlsPair,
    private readonly logger: EdgeLogger,
  ) {
    this.current = source();
    this.context = createSecureContext(this.current);
  }

  get pair(): TlsPair {
    return this.current;
  }

  get secureContext(): SecureContext {
    return this.context;
  }

  /** Reads the getter; on a change builds the new context. Keeps the old certificate when the new one is unusable. */
  refresh(server: Server | undefined): boolean {
    let next: TlsPair;
    try {
      next = this.source();
      if (next.cert === this.current.cert && next.key === this.current.key) return false;
      this.context = createSecureContext(next);
      server?.setSecureContext(next);
    } catch (error) {
      this.logger.error('Failed to load serving certificate, keeping the previous one', { [K.error]: errorText(error) });
      return false;
    }
    this.current = next;
    this.logger.info('Loaded new serving certificate', { [K.component]: 'admission' });
    return true;
  }
}

interface Limits {
  maxBodyBytes: number;
}

class Edge {
  private draining = false;

  constructor(
    private readonly options: AdmissionServerOptions,
    private readonly routes: ReadonlyMap<string, AdmissionRoute>,
    private readonly limits: Limits,
  ) {}

  startDraining(): void {
    this.draining = true;
  }

  /** The request listener: never throws, never leaves a request unanswered. */
  serve(req: IncomingMessage, res: ServerResponse): void {
    const path = pathOf(req.url);
    if (this.draining) res.setHeader('Connection', 'close');
    res.once('finish', () => this.options.metrics.observeHttp(path, res.statusCode));
    this.route(req, res, path).catch((error: unknown) => this.fail(res, path, error));
  }

  private async route(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const admission = this.routes.get(path);
    if (admission !== undefined) return this.admission(req, res, admission);
    if (path.startsWith(DECISIONS_PREFIX) && this.options.decisions !== undefined) return this.decision(req, res, path.slice(DECISIONS_PREFIX.length));
    if (!GET_ROUTES.has(path)) {
      const known = [...this.routes.keys(), ...GET_ROUTES].join(', ');
      return sendStatus(res, 404, `no route ${path}: Suture serves ${known}`);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendStatus(res, 405, `${path} answers GET and HEAD, not ${req.method ?? '?'}`);
    }
    req.resume();
    if (path === '/healthz') return sendText(res, 200, 'ok\n');
    if (path === '/readyz') return this.readyz(res);
    return this.metricsText(res);
  }

  /** GET /decisions/<id>: the record of one decision this replica took, for `kubectl suture explain`. */
  private decision(req: IncomingMessage, res: ServerResponse, id: string): void {
    req.resume();
    if (req.method !== 'GET') {
      res.setHeader('Allow', 'GET');
      return sendStatus(res, 405, `decisions answer GET, not ${req.method ?? '?'}`);
    }
    const record = this.options.decisions?.(decodeURIComponent(id));
    if (record === undefined) return sendStatus(res, 404, `no decision ${id} on this replica (decisions are kept in memory, newest first, per replica)`);
    sendJson(res, 200, record);
  }

  private readyz(res: ServerResponse): void {
    if (this.draining) return sendText(res, 503, 'not ready: shutting down\n');
    const readiness = this.options.ready();
    if (readiness.ready) return sendText(res, 200, 'ok\n');
    return sendText(res, 503, `not ready: ${readiness.reason}\n`);
  }

  private async metricsText(res: ServerResponse): Promise<void> {
    const text = await this.options.registry.metrics();
    sendText(res, 200, text, this.options.registry.contentType);
  }

  private async admission(req: IncomingMessage, res: ServerResponse, route: AdmissionRoute): Promise<void> {
    const phase = route.phase;
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      req.resume();
      return sendStatus(res, 405, `${phase} takes POST with an AdmissionReview, not ${req.method ?? '?'}`);
    }
    if (!isJsonContentType(req.headers['content-type'])) {
      req.resume();
      const got = req.headers['content-type'] ?? 'none';
      return sendStatus(res, 415, `Content-Type must be application/json, got ${got}`);
    }
    const body = parseJson(await readBody(req, this.limits.maxBodyBytes));
    const decodeStart = this.options.clock();
    const decoded = decodeAdmissionReview(body);
    this.options.metrics.observeStage(AdmissionStages.Decode, (this.options.clock() - decodeStart) / 1000);
    if (!decoded.ok) {
      const message = `invalid AdmissionReview: ${decoded.errors.join('; ')}`;
      if (decoded.uid === undefined) return sendStatus(res, 400, message);
      return sendJson(res, 400, errorReview(decoded.uid, { code: 400, reason: 'BadRequest', message }));
    }
    const request = decoded.request;
    const decision = await route.chain(request, phase);
    const respondStart = this.options.clock();
    const context = { uid: request.uid, phase, patchable: isPatchable(request) };
    let review;
    try {
      review = encodeAdmissionReview(decision, context);
    } catch (error) {
      const failed = errorDecision(request.uid, `Suture failed to encode its decision ${decision.id}: ${errorText(error)}`);
      review = encodeAdmissionReview(failed, context);
    }
    sendJson(res, 200, review);
    this.options.metrics.observeStage(AdmissionStages.Respond, (this.options.clock() - respondStart) / 1000);
  }

  private fail(res: ServerResponse, path: string, error: unknown): void {
    const code = error instanceof EdgeError ? error.code : 500;
    const message = error instanceof EdgeError ? error.message : `internal error: ${errorText(error)}`;
    if (code >= 500) this.options.logger.error('Failed to serve request', { [K.path]: path, [K.error]: errorText(error) });
    else this.options.logger.debug('Refused request', { [K.path]: path, [K.status]: code, [K.reason]: message });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (code === 413) res.setHeader('Connection', 'close');
    sendStatus(res, code, message);
  }
}

function pathOf(url: string | undefined): string {
  // The API server calls e.g. /validate?timeout=10s; only the path routes.
  const raw = url ?? '/';
  const query = raw.indexOf('?');
  return query === -1 ? raw : raw.slice(0, query);
}

function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

function admissionRoutes(options: AdmissionServerOptions): Map<string, AdmissionRoute> {
  const deps = { logger: options.logger, metrics: options.metrics, clock: options.clock, timeoutMs: options.decisionTimeoutMs ?? 9000 };
  const chain = buildChain(options.handler, deps);
  const routes = new Map<string, AdmissionRoute>([
    [AdmissionPaths.validate, { phase: Phases.Validate, chain }],
    [AdmissionPaths.mutate, { phase: Phases.Mutate, chain }],
  ]);
  if (options.objectsHandler !== undefined) routes.set(AdmissionPaths.objects, { phase: Phases.Validate, chain: buildChain(options.objectsHandler, deps) });
  return routes;
}

/** Creates the admission server; call listen() to start it. */
export function createAdmissionServer(options: AdmissionServerOptions): AdmissionServer {
  const edge = new Edge(options, admissionRoutes(options), { maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES });
  const tls = new TlsState(options.tls, options.logger);
  const server: Server = createServer(
    {
      ...tls.pair,
      minVersion: 'TLSv1.2',
      SNICallback: (_servername, callback) => {
        tls.refresh(server);
        callback(null, tls.secureContext);
      },
    },
    (req, res) => edge.serve(req, res),
  );
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  server.requestTimeout = requestTimeoutMs;
  server.headersTimeout = Math.min(requestTimeoutMs, 10_000);
  // The API server keeps idle webhook connections for 90 s (Go's IdleConnTimeout). Node's default keep-alive of
  // 5 s closes them first, and a request sent on a connection just as Node closes it fails with EOF (seen in the
  // scenario runs): the client must be the side that closes idle connections.
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  let refresher: NodeJS.Timeout | undefined;
  return {
    server: server,
    refreshTls: () => tls.refresh(server),
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.host ?? '0.0.0.0', () => {
          server.off('error', reject);
          refresher = setInterval(() => tls.refresh(server), options.tlsRefreshMs ?? 10_000);
          refresher.unref();
          resolve(server.address() as AddressInfo);
        });
      }),
    close: async () => {
      clearInterval(refresher);
      edge.startDraining();
      await closeServer(server, options.shutdownGraceMs ?? 15_000);
    },
  };
}
