// Fuzz (fast-check, fixed seed and run count): the AdmissionReview decoder and decide() never throw, always answer,
// and echo the request uid (issue 9: faults and bad input kept as tests).
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import fc from 'fast-check';
import { decodeAdmissionReview, encodeAdmissionReview } from '../../../src/admission/review.js';
import { decide } from '../../../src/core/decide.js';
import { compilePolicy } from '../../../src/core/policy.js';
import { createSnapshot } from '../../../src/core/snapshot.js';
import type { KubeObject, SuturePolicy } from '../../../src/api/types.js';
import { parseAllDocuments } from 'yaml';
import { ledger, metricReader, owned, pod, sts } from '../core/fixtures.js';

const RUNS = { seed: 20261130, numRuns: 300 };
const base = JSON.parse(readFileSync(new URL('../../fixtures/admission/create-pod.json', import.meta.url), 'utf8')) as { request: Record<string, unknown> };
const guardrails = parseAllDocuments(readFileSync(new URL('../../../examples/policies/guardrails.yaml', import.meta.url), 'utf8')).flatMap((d) => {
  const r = compilePolicy(d.toJS() as SuturePolicy);
  return r.ok ? [r.policy] : [];
});
const rabbit = sts('mq', 'rabbit', { replicas: 3 });
const objects: KubeObject[] = [rabbit, ...[0, 1, 2].map((i) => owned(pod('mq', `rabbit-${i}`), rabbit))];

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
        const d = decide(decoded.request, { snapshot: createSnapshot(objects), policies: guardrails, leases: [], exceptions: [], budgets: ledger(), metrics: metricReader({}), identities: { exemptNamespaces: ['kube-system'], exemptUsers: [], exemptGroups: [] } }, new Date('2026-11-30T21:00:00Z'));
        expect(d.id).to.equal(uid);
        expect(encodeAdmissionReview(d, { uid, phase: 'validate', patchable: false }).response.uid).to.equal(uid);
      }),
      RUNS,
    );
  });
});
