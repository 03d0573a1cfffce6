// Fuzz (fast-check, fixed seed and run count): the AdmissionReview decoder and decide() never throw, always answer,
// and echo the request uid; the HTTPS edge answers malformed bodies with a 4xx (or a refusal in the review), never a
// 5xx, in bounded time, and stays up (issue 9: faults and bad input kept as tests). Counts and rates are bounded:
// 300 cases per property, 240 requests sent one after another on one keep-alive connection.
import { readFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import fc from 'fast-check';
import { decodeAdmissionReview, encodeAdmissionReview } from '../../../src/admission/review.js';
import { decide } from '../../../src/core/decide.js';
import { compilePolicy } from '../../../src/core/policy.js';
import { createSnapshot } from '../../../src/core/snapshot.js';
import type { KubeObject, SuturePolicy } from '../../../src/api/types.js';
import { parseAllDocuments } from 'yaml';
import { ledger, metricReader, owned, pod, sts } from '../core/fixtures.js';
import type { AdmissionHandler } from '../../../src/admission/chain.js';
import { MAX_JSON_DEPTH } from '../../../src/admission/http.js';
import { admissionMetricsOn } from '../../../src/admission/metrics.js';
import { createAdmissionServer, type AdmissionServer } from '../../../src/admission/server.js';
import { applyAction, bundleOf, defaultPkiPolicy, servingNames, type PkiMaterial } from '../../../src/kube/pki.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import type { DecisionInput } from '../../../src/core/types.js';

const RUNS = { seed: 20261130, numRuns: 300 };
const base = JSON.parse(readFileSync(new URL('../../fixtures/admission/create-pod.json', import.meta.url), 'utf8')) as { request: Record<string, unknown> };
const guardrails = parseAllDocuments(readFileSync(new URL('../../../examples/policies/guardrails.yaml', import.meta.url), 'utf8')).flatMap((d) => {
  const r = compilePolicy(d.toJS() as SuturePolicy);
  return r.ok ? [r.policy] : [];
});
const rabbit = sts('mq', 'rabbit', { replicas: 3 });
const objects: KubeObject[] = [rabbit, ...[0, 1, 2].map((i) => owned(pod('mq', `rabbit-${i}`), rabbit))];

const input = (): DecisionInput => ({ snapshot: createSnapshot(objects), policies: guardrails, leases: [], exceptions: [], budgets: ledger(), metrics: metricReader({}), identities: { exemptNamespaces: ['kube-system'], exemptUsers: [], exemptGroups: [] }, cel: { costLimit: 100_000 } });
const NOW = new Date('2026-11-30T21:00:00Z');
/** Whatever one case costs on a loaded 2-core machine, it must stay far below the API server's 10 s webhook timeout. */
const CASE_BOUND_MS = 2_000;

describe('admission fuzz (fast-check)', () => {
  it('the decoder never throws on any JSON, and echoes a uid it finds', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ minLength: 1 }), (value, uid) => {
        for (const body of [value, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: value }, { ...base, request: { ...base.request, uid, object: value } }]) {
          const r = decodeAdmissionReview(body);
          if (!r.ok && typeof (body as { request?: { uid?: unknown } } | null)?.request?.uid === 'string') expect(r.uid).to.equal((body as { request: { uid: string } }).request.uid === "" ? undefined : (body as { request: { uid: string } }).request.uid);
        }
      }),
      RUNS,
    );
  });

  it('decide() never throws on decodable requests with random objects, and the answer carries the uid', () => {
    const ops = fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'CONNECT');
    const obj = fc.oneof(fc.constant(null), fc.dictionary(fc.string(), fc.jsonValue()).map((d) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'rabbit-1', namespace: 'mq' }, ...d })));
    fc.assert(
      fc.property(fc.record({ operation: ops, object: obj, oldObject: obj, subResource: fc.constantFrom('', 'scale', 'status', 'eviction', 'ephemeralcontainers'), uid: fc.string({ minLength: 1 }) }), ({ operation, object, oldObject, subResource, uid }) => {
        const raw = { ...base, request: { ...base.request, uid, operation, object, oldObject, subResource, namespace: 'mq', name: 'rabbit-1', userInfo: { username: 'system:serviceaccount:ops:op' } } };
        const decoded = decodeAdmissionReview(raw);
        if (!decoded.ok) return;
        const started = performance.now();
        const d = decide(decoded.request, input(), NOW);
        expect(performance.now() - started, 'one decision took (ms)').to.be.below(CASE_BOUND_MS);
        expect(d.id).to.equal(uid);
        expect(encodeAdmissionReview(d, { uid, phase: 'validate', patchable: false }).response.uid).to.equal(uid);
      }),
      RUNS,
    );
  });

  describe('the HTTPS edge, with the real decision core behind it', function () {
    this.timeout(120_000);
    let server: AdmissionServer;
    let address: AddressInfo;
    let ca: string;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const handler: AdmissionHandler = (request) => Promise.resolve(decide(request, input(), NOW));

    before(async () => {
      const policy = defaultPkiPolicy(servingNames('suture-webhook', 'suture-system', true));
      const pki = (await applyAction(undefined, { kind: 'create', reason: 'fuzz' }, policy, new Date())) as PkiMaterial;
      ca = bundleOf(pki);
      const metrics = createMetrics();
      server = createAdmissionServer({
        handler,
        objectsHandler: handler,
        tls: () => pki.serving,
        ready: () => ({ ready: true }),
        registry: metrics.registry,
        metrics: admissionMetricsOn(metrics),
        logger: { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined },
        clock: () => performance.now(),
        port: 0,
        host: '127.0.0.1',
        maxBodyBytes: 256 * 1024,
        decisionTimeoutMs: 5_000,
      });
      address = await server.listen();
    });

    after(async () => {
      agent.destroy();
      await server?.close();
    });

    const post = (path: string, body: Buffer | string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = httpsRequest(
          { host: '127.0.0.1', port: address.port, path, method: path === '/healthz' ? 'GET' : 'POST', ca, servername: 'suture-webhook.suture-system.svc', agent, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          },
        );
        req.setTimeout(CASE_BOUND_MS * 5, () => req.destroy(new Error(`${path}: no answer in time`)));
        req.on('error', reject);
        req.end(body);
      });

    /** Malformed bodies: random bytes, truncated reviews, a field replaced by any JSON, nesting past the limit. */
    const valid = JSON.stringify({ ...base, request: { ...base.request, uid: 'fuzz-uid' } });
    const fields = ['uid', 'kind', 'resource', 'operation', 'userInfo', 'object', 'oldObject', 'namespace', 'name', 'options', 'dryRun', 'subResource'];
    const bodies = fc.oneof(
      fc.uint8Array({ maxLength: 512 }).map((b) => ({ kind: 'bytes', body: Buffer.from(b) })),
      fc.nat({ max: valid.length - 1 }).map((n) => ({ kind: 'truncated', body: Buffer.from(valid.slice(0, n)) })),
      fc.tuple(fc.constantFrom(...fields), fc.jsonValue()).map(([field, value]) => ({ kind: `request.${field}`, body: Buffer.from(JSON.stringify({ ...base, request: { ...base.request, uid: 'fuzz-uid', [field]: value } })) })),
      fc.jsonValue().map((v) => ({ kind: 'any JSON', body: Buffer.from(JSON.stringify(v) ?? 'null') })),
      fc.integer({ min: MAX_JSON_DEPTH + 1, max: MAX_JSON_DEPTH * 8 }).map((d) => ({ kind: 'deep', body: Buffer.from(`${'['.repeat(d)}${']'.repeat(d)}`) })),
    );

    it('answers 240 malformed bodies on /validate, /mutate and /validate-objects with a 4xx or a review, never a 5xx, each in bounded time', async () => {
      const cases = fc.sample(fc.tuple(fc.constantFrom('/validate', '/mutate', '/validate-objects'), bodies), { seed: RUNS.seed, numRuns: 240 });
      const statuses = new Map<number, number>();
      let slowest = 0;
      const started = performance.now();
      for (const [path, { kind, body }] of cases) {
        const t = performance.now();
        const answer = await post(path, body);
        slowest = Math.max(slowest, performance.now() - t);
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        expect(answer.status, `${kind} to ${path}: ${answer.body.slice(0, 200)}`).to.be.oneOf([200, 400, 403, 413]);
        if (answer.status !== 200 && answer.status !== 403) continue;
        // A review came back: it answers the request's own uid (the body decoded), allowed or refused.
        const review = JSON.parse(answer.body) as { response?: { uid?: string; allowed?: boolean } };
        expect(review.response?.uid, `${kind} to ${path}`).to.equal('fuzz-uid');
        expect(review.response?.allowed).to.be.a('boolean');
      }
      const seconds = (performance.now() - started) / 1000;
      // What ran, so that the figure in docs/security.md comes from a command: count, rate, slowest, statuses.
      console.log(`      fuzz: ${cases.length} requests in ${seconds.toFixed(2)} s (${(cases.length / seconds).toFixed(0)}/s), slowest ${slowest.toFixed(0)} ms, statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
      expect(slowest, 'slowest answer (ms)').to.be.below(CASE_BOUND_MS);
      expect((statuses.get(400) ?? 0) > 0 && (statuses.get(200) ?? 0) > 0, 'both refused and decided bodies were sent').to.equal(true);
      expect((await post('/healthz', '')).status, 'the server is still up').to.equal(200);
    });
  });
});
