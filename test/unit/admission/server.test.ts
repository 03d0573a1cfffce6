import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { expect } from 'chai';
import type { Registry } from 'prom-client';
import type { AdmissionHandler } from '../../../src/admission/chain.js';
import type { Readiness } from '../../../src/admission/deps.js';
import type { TlsPair } from '../../../src/kube/pki.js';
import { admissionMetricsOn } from '../../../src/admission/metrics.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { applyAction, bundleOf, defaultPkiPolicy, inspectCert, servingNames, type PkiMaterial } from '../../../src/kube/pki.js';
import { errorDecision, type AdmissionReviewResponse } from '../../../src/admission/review.js';
import { MAX_JSON_DEPTH, jsonDepth, type StatusBody } from '../../../src/admission/http.js';
import { createAdmissionServer, type AdmissionServer } from '../../../src/admission/server.js';
import type { Decision } from '../../../src/core/types.js';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../fixtures/admission/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;

/** A review of the create-pod fixture with another uid and pod name. */
function review(name: string, uid = `uid-${name}`): string {
  const body = fixture('create-pod');
  const request = body.request as Record<string, unknown>;
  request.uid = uid;
  request.name = name;
  return JSON.stringify(body);
}

const allow = (id: string, overrides: Partial<Decision> = {}): Decision => ({ ...errorDecision(id, ''), verdict: 'allow', allowed: true, ...overrides });
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The fake decision handler: the pod name says what to do. */
const handler: AdmissionHandler = async (request, phase) => {
  switch (request.name) {
    case 'boom':
      throw new Error('kaboom');
    case 'slow':
      await sleep(400);
      return allow(request.uid);
    case 'slow-ok':
      await sleep(150);
      return allow(request.uid);
    case 'deny-me':
      return { ...allow(request.uid), verdict: 'deny', allowed: false, message: 'create Pod prod/deny-me by sa denied by policy p/i (decision x)' };
    default:
      if (phase === 'mutate') return allow(request.uid, { patch: [{ op: 'add', path: '/metadata/labels/x', value: 'y' }] });
      return allow(request.uid, { auditAnnotations: { 'suture.dev/decision': request.uid } });
  }
};

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  fingerprint: string;
}

interface Call {
  path: string;
  method?: string;
  body?: string | Buffer;
  contentType?: string | null;
  servername?: string;
  chunked?: boolean;
}

describe('admission/server: the HTTPS edge', function () {
  this.timeout(20000);
  const policy = defaultPkiPolicy(servingNames('suture-webhook', 'suture-system', true));
  let first: PkiMaterial;
  let second: PkiMaterial;
  let served: TlsPair;
  let readiness: Readiness = { ready: false, reason: 'caches have not synced: 2 of 5 informers' };
  let registry: Registry;
  let server: AdmissionServer;
  let address: AddressInfo;

  function call(options: Call): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = {};
      if (options.contentType !== null) headers['content-type'] = options.contentType ?? 'application/json';
      if (options.body !== undefined && !options.chunked) headers['content-length'] = String(Buffer.byteLength(options.body));
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: address.port,
          path: options.path,
          method: options.method ?? 'POST',
          ca: bundleOf(second), // trusts both CAs, as the API server does during a rotation
          servername: options.servername,
          agent: false,
          headers,
        },
        (res) => {
          const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), fingerprint }));
        },
      );
      // A refused upload may reset the socket after the answer arrived: the answer is what counts.
      req.on('error', reject);
      req.end(options.body);
    });
  }

  const post = (path: string, body: string, servername?: string): Promise<Answer> => call({ path, body, servername });
  const reviewOf = (answer: Answer): AdmissionReviewResponse => JSON.parse(answer.body) as AdmissionReviewResponse;
  const statusOf = (answer: Answer): StatusBody => JSON.parse(answer.body) as StatusBody;

  before(async () => {
    first = (await applyAction(undefined, { kind: 'create', reason: 'test' }, policy, new Date())) as PkiMaterial;
    const staged = (await applyAction(first, { kind: 'stageCa', reason: 'test' }, policy, new Date())) as PkiMaterial;
    second = (await applyAction(staged, { kind: 'issueServing', reason: 'test' }, policy, new Date())) as PkiMaterial;
    served = first.serving;
    const metrics = createMetrics();
    registry = metrics.registry;
    server = createAdmissionServer({
      handler,
      objectsHandler: (request) => Promise.resolve({ ...allow(request.uid), verdict: 'deny', allowed: false, message: 'spec.invariants[0].expression: undeclared reference' }),
      tls: () => served,
      ready: () => readiness,
      registry,
      metrics: admissionMetricsOn(metrics),
      logger: { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined },
      clock: () => performance.now(),
      port: 0,
      host: '127.0.0.1',
      maxBodyBytes: 64 * 1024,
      decisionTimeoutMs: 200,
      tlsRefreshMs: 50,
    });
    address = await server.listen();
  });

  after(async () => {
    await server.close();
  });

  it('keeps idle connections longer than the API server does (90 s), so the client closes them, never mid-request', () => {
    expect(server.server.keepAliveTimeout).to.be.greaterThan(90_000);
  });

  it('refuses a body that is not application/json with 415', async () => {
    const answer = await call({ path: '/validate', body: review('a'), contentType: 'text/plain' });
    expect(answer.status).to.equal(415);
    expect(statusOf(answer)).to.deep.include({ kind: 'Status', code: 415, reason: 'UnsupportedMediaType' });
    expect((await call({ path: '/validate', body: review('a'), contentType: null })).status).to.equal(415);
    expect((await call({ path: '/validate', body: review('a'), contentType: 'application/json; charset=utf-8' })).status).to.equal(200);
  });

  it('refuses a body over the limit with 413, declared or streamed', async () => {
    const big = Buffer.alloc(200 * 1024, 0x20);
    const declared = await call({ path: '/validate', body: big });
    expect(declared.status).to.equal(413);
    expect(statusOf(declared).message).to.match(/exceeds the limit of 65536 bytes/);
    const streamed = await call({ path: '/mutate', body: big, chunked: true });
    expect(streamed.status).to.equal(413);
  });

  it('refuses malformed JSON and wrong kinds or versions with 400 and a clear message', async () => {
    const malformed = await post('/validate', '{"kind": "AdmissionReview",');
    expect(malformed.status).to.equal(400);
    expect(statusOf(malformed).message).to.match(/not valid JSON/);
    const v1beta1 = await post('/validate', review('a').replace('admission.k8s.io/v1', 'admission.k8s.io/v1beta1'));
    expect(v1beta1.status).to.equal(400);
    expect(reviewOf(v1beta1).response.uid).to.equal('uid-a'); // the uid is echoed when one was found
    expect(reviewOf(v1beta1).response.status?.message).to.match(/apiVersion: must be admission\.k8s\.io\/v1/);
    const kind = await post('/validate', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'Pod' }));
    expect(kind.status).to.equal(400);
    expect(statusOf(kind).message).to.match(/kind: must be AdmissionReview/);
    expect((await post('/validate', '')).status).to.equal(400);
  });

  it('refuses nesting deeper than MAX_JSON_DEPTH with 400 on every admission path, and decides at that depth (issue 9)', async () => {
    const nested = (depth: number): string => {
      const body = JSON.parse(review('deep')) as { request: { object: Record<string, unknown> } };
      const marker = '"__deep__"';
      body.request.object.spec = marker;
      return JSON.stringify(body).replace(JSON.stringify(marker), `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
    };
    for (const path of ['/validate', '/mutate', '/validate-objects']) {
      const deep = await post(path, nested(5_000));
      expect(deep.status, path).to.equal(400);
      expect(statusOf(deep).message).to.match(/more than 512 levels deep/);
    }
    // Brackets in strings do not count; nesting up to the limit is decided as usual.
    expect(jsonDepth('{"a":"[[[[{{{{\\"}', 2)).to.equal(1);
    expect((await post('/validate', nested(MAX_JSON_DEPTH - 10))).status).to.equal(200);
  });

  it('answers 404 for unknown paths and 405 for wrong methods, with Allow', async () => {
    expect((await post('/nope', review('a'))).status).to.equal(404);
    const get = await call({ path: '/validate', method: 'GET' });
    expect(get.status).to.equal(405);
    expect(get.headers.allow).to.equal('POST');
    const postHealth = await post('/healthz', '{}');
    expect(postHealth.status).to.equal(405);
    expect(postHealth.headers.allow).to.equal('GET, HEAD');
  });

  it('answers /healthz, and /readyz false with the reason until ready() says true', async () => {
    expect((await call({ path: '/healthz', method: 'GET' })).status).to.equal(200);
    const unready = await call({ path: '/readyz', method: 'GET' });
    expect(unready.status).to.equal(503);
    expect(unready.body).to.match(/caches have not synced: 2 of 5 informers/);
    readiness = { ready: true };
    expect((await call({ path: '/readyz', method: 'GET' })).status).to.equal(200);
  });

  it('echoes the uid when the handler throws: allowed false, code 500, a clear message', async () => {
    const answer = await post('/validate', review('boom', 'uid-boom'));
    expect(answer.status).to.equal(200);
    const response = reviewOf(answer).response;
    expect(response).to.deep.include({ uid: 'uid-boom', allowed: false });
    expect(response.status?.code).to.equal(500);
    expect(response.status?.message).to.match(/failed to decide.*kaboom/);
  });

  it('answers 500 in the review when the decision misses its deadline', async () => {
    const response = reviewOf(await post('/validate', review('slow', 'uid-slow'))).response;
    expect(response).to.deep.include({ uid: 'uid-slow', allowed: false });
    expect(response.status?.message).to.match(/within 200 ms/);
  });

  it('returns a base64 JSONPatch from /mutate, and routes with the API server query string', async () => {
    const answer = await post('/mutate?timeout=10s', review('plain'));
    const response = reviewOf(answer).response;
    expect(response).to.deep.include({ uid: 'uid-plain', allowed: true, patchType: 'JSONPatch' });
    expect(JSON.parse(Buffer.from(response.patch ?? '', 'base64').toString('utf8'))).to.deep.equal([{ op: 'add', path: '/metadata/labels/x', value: 'y' }]);
  });

  it('denies on /validate with 403 and the message, and sends no patch there', async () => {
    const response = reviewOf(await post('/validate', review('deny-me'))).response;
    expect(response.allowed).to.equal(false);
    expect(response.status).to.deep.equal({ code: 403, reason: 'Forbidden', message: 'create Pod prod/deny-me by sa denied by policy p/i (decision x)' });
    const allowed = reviewOf(await post('/validate', review('plain'))).response;
    expect(allowed).to.not.have.property('patch');
    expect(allowed.auditAnnotations).to.deep.equal({ decision: 'uid-plain' });
  });

  it('validates Suture\'s own objects at /validate-objects with the objects handler', async () => {
    const response = reviewOf(await post('/validate-objects', review('plain', 'uid-objects'))).response;
    expect(response).to.deep.include({ uid: 'uid-objects', allowed: false });
    expect(response.status?.message).to.match(/undeclared reference/);
  });

  it('serves Prometheus metrics from the injected registry', async () => {
    const answer = await call({ path: '/metrics', method: 'GET' });
    expect(answer.status).to.equal(200);
    expect(answer.headers['content-type']).to.match(/^text\/plain/);
    expect(answer.body).to.match(/suture_admission_http_requests_total\{route="\/validate",code="415"\} \d+/);
    expect(answer.body).to.match(/suture_admission_duration_seconds_count\{operation="[A-Z]+",verdict="error"\} \d+/);
    expect(answer.body).to.match(/suture_admission_stage_duration_seconds_count\{stage="decode"\} \d+/);
    expect(answer.body).to.match(/suture_admission_stage_duration_seconds_count\{stage="respond"\} \d+/);
    expect(answer.body).to.match(/route="other",code="404"/);
  });

  it('rotates the certificate under a stream of 200 requests without a failure', async () => {
    const fingerprints = new Set<string>();
    const pending: Promise<void>[] = [];
    const failures: string[] = [];
    // Bounded: 200 requests, one every 10 ms, half with SNI (refreshed at the handshake), half by IP (refresh timer).
    for (let i = 0; i < 200; i += 1) {
      if (i === 100) served = second.serving;
      const servername = i % 2 === 0 ? 'localhost' : undefined;
      pending.push(
        post('/validate', review(`r-${i}`, `uid-r-${i}`), servername).then(
          (answer) => {
            fingerprints.add(answer.fingerprint);
            if (answer.status !== 200 || reviewOf(answer).response.uid !== `uid-r-${i}`) failures.push(`${i}: ${answer.status}`);
          },
          (error: Error) => {
            failures.push(`${i}: ${error.message}`);
          },
        ),
      );
      await sleep(10);
    }
    await Promise.all(pending);
    expect(failures).to.deep.equal([]);
    expect(fingerprints.size).to.equal(2);
    const last = await post('/validate', review('after'));
    const before = await post('/validate', review('after-sni'), 'localhost');
    expect(last.fingerprint).to.equal(inspectCert(second.serving.cert).fingerprint);
    expect(before.fingerprint).to.equal(inspectCert(second.serving.cert).fingerprint);
  });

  it('shuts down gracefully: finishes the request in flight, then refuses connections', async () => {
    const inflight = post('/validate', review('slow-ok', 'uid-inflight'));
    await sleep(50);
    const closing = server.close();
    const answer = await inflight;
    expect(answer.status).to.equal(200);
    expect(reviewOf(answer).response.uid).to.equal('uid-inflight');
    await closing;
    let refused = '';
    await post('/validate', review('late')).catch((error: NodeJS.ErrnoException) => {
      refused = error.code ?? '';
    });
    expect(refused).to.equal('ECONNREFUSED');
  });
});
