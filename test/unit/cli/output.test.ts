import { expect } from 'chai';
import type { DecisionRecord } from '../../../src/admission/recorder.js';
import { fetchDirect, fetchThroughApiServer, isLoopback, podProxyPath, serviceProxyPath, type Get } from '../../../src/cli/fetch-record.js';
import { formatRecord, isDecisionRecord } from '../../../src/cli/record.js';
import { decisionIdOf, exitCodeOf, formatAnswer, parseManifest, type WhatIfAnswer } from '../../../src/cli/what-if.js';
import type { ApiResponse } from '../../../src/scenario/classify.js';

const record: DecisionRecord = {
  id: 'd-1',
  at: '2026-11-23T09:45:00.000Z',
  subject: 'system:serviceaccount:zk:zookeeper-operator',
  request: 'delete PersistentVolumeClaim zk/data-0',
  dryRun: true,
  decision: {
    id: 'd-1',
    verdict: 'deny',
    allowed: false,
    message: 'delete PersistentVolumeClaim zk/data-0 by system:serviceaccount:zk:zookeeper-operator denied: SuturePolicy protect-zk, invariant data-survives: would delete 1 protected object: PersistentVolumeClaim zk/data-0 (impact: removes 1 object) [decision d-1]',
    warnings: [],
    patch: [],
    auditAnnotations: {},
    floors: [],
    budgets: [{ policy: 'churn', invariant: 'slow', key: 'system:serviceaccount:zk:zookeeper-operator', count: 1, windowSeconds: 600, limit: 3 }],
    exceptionsUsed: [],
    violations: [{ policy: 'protect-zk', invariant: 'data-survives', enforcement: 'Deny', message: 'would delete 1 protected object: PersistentVolumeClaim zk/data-0' }],
    leaseViolations: [{ lease: 'zk/zk', holder: { kind: 'ServiceAccount', namespace: 'zk', name: 'other' }, message: 'lease zk/zk held by …' }],
    readsClusterState: true,
    consulted: { policies: [], leases: [], lookups: [] },
    failurePolicy: 'Fail',
    impact: { created: 0, changed: 0, deleted: 12, sample: ['delete PersistentVolumeClaim zk/data-0'] },
    trace: [
      { stage: 'exempt', summary: 'system:serviceaccount:zk:zookeeper-operator is governed', checks: [] },
      { stage: 'invariants', summary: '1 violation(s)', checks: [{ source: 'policy/protect-zk/data-survives', result: 'fail', message: 'would delete 1 protected object' }] },
    ],
  },
};

describe('kubectl suture explain: the record', () => {
  it('prints verdict and message first, then requester, request, impact with sample, findings, budgets and each stage with its checks', () => {
    expect(formatRecord(record)).to.deep.equal([
      'Decision   d-1 (dry run)',
      'At         2026-11-23T09:45:00.000Z',
      'Verdict    DENIED',
      `Message    ${record.decision.message}`,
      'Requester  system:serviceaccount:zk:zookeeper-operator',
      'Request    delete PersistentVolumeClaim zk/data-0',
      'Impact     removes 12, changes 0, creates 0',
      '  - delete PersistentVolumeClaim zk/data-0',
      '  … and 11 more',
      'Findings',
      '  lease zk/zk (held by ServiceAccount zk/other): lease zk/zk held by …',
      '  SuturePolicy protect-zk, invariant data-survives [Deny]: would delete 1 protected object: PersistentVolumeClaim zk/data-0',
      'Budgets    churn/slow: 1 of 3 per 600s for system:serviceaccount:zk:zookeeper-operator',
      'Stages',
      '  exempt     system:serviceaccount:zk:zookeeper-operator is governed',
      '  invariants 1 violation(s)',
      '    FAIL     policy/protect-zk/data-survives: would delete 1 protected object',
    ]);
  });

  it('says when a request was allowed because Suture patched it', () => {
    const averted = { ...record, dryRun: false, decision: { ...record.decision, verdict: 'warn' as const, allowed: true, averted: true, patch: [{ op: 'replace' as const, path: '/spec/replicas', value: 2 }] } };
    const lines = formatRecord(averted);
    expect(lines).to.include('Verdict    ALLOWED with a warning (averted: the request was patched)');
    expect(lines).to.include('Patch      replace /spec/replicas = 2');
    expect(lines[0]).to.equal('Decision   d-1');
  });

  it('recognises a record body', () => {
    expect(isDecisionRecord(record)).to.equal(true);
    expect(isDecisionRecord({ kind: 'Status', message: 'no decision' })).to.equal(false);
  });
});

function answers(table: Record<string, ApiResponse>): { get: Get; asked: string[] } {
  const asked: string[] = [];
  const get: Get = (path) => {
    asked.push(path);
    return Promise.resolve(table[path] ?? { status: 404, body: { message: `nothing at ${path}` }, warnings: [] });
  };
  return { get, asked };
}

const notHere: ApiResponse = { status: 404, body: { kind: 'Status', message: 'no decision d-1 on this replica (decisions are kept in memory, newest first, per replica)' }, warnings: [] };
const ref = { namespace: 'suture-system', service: 'suture-webhook' };
const service: ApiResponse = { status: 200, body: { spec: { selector: { 'app.kubernetes.io/name': 'suture' }, ports: [{ port: 443, targetPort: 'webhook' }] } }, warnings: [] };
const pods: ApiResponse = {
  status: 200,
  body: {
    items: [
      { metadata: { name: 'suture-a' }, status: { phase: 'Running' }, spec: { containers: [{ ports: [{ name: 'webhook', containerPort: 9443 }] }] } },
      { metadata: { name: 'suture-b' }, status: { phase: 'Running' }, spec: { containers: [{ ports: [{ name: 'webhook', containerPort: 9443 }] }] } },
      { metadata: { name: 'suture-old' }, status: { phase: 'Failed' }, spec: { containers: [] } },
    ],
  },
  warnings: [],
};

describe('kubectl suture explain: finding the replica that took the decision', () => {
  it('builds the service and pod proxy paths', () => {
    expect(serviceProxyPath(ref, 'd/1')).to.equal('/api/v1/namespaces/suture-system/services/https:suture-webhook:443/proxy/decisions/d%2F1');
    expect(podProxyPath('suture-system', { name: 'suture-a', port: 9443 }, 'd-1')).to.equal('/api/v1/namespaces/suture-system/pods/https:suture-a:9443/proxy/decisions/d-1');
  });

  it('takes the record from the Service when the replica behind it has it', async () => {
    const { get, asked } = answers({ [serviceProxyPath(ref, 'd-1')]: { status: 200, body: record, warnings: [] } });
    const r = await fetchThroughApiServer(get, ref, 'd-1');
    expect(r.ok && r.from).to.equal('service suture-system/suture-webhook');
    expect(asked).to.have.length(1);
  });

  it('asks each running pod behind the Service (named targetPort resolved) when the Service\'s replica answers 404', async () => {
    const { get, asked } = answers({
      [serviceProxyPath(ref, 'd-1')]: notHere,
      '/api/v1/namespaces/suture-system/services/suture-webhook': service,
      '/api/v1/namespaces/suture-system/pods?labelSelector=app.kubernetes.io%2Fname%3Dsuture': pods,
      [podProxyPath('suture-system', { name: 'suture-a', port: 9443 }, 'd-1')]: notHere,
      [podProxyPath('suture-system', { name: 'suture-b', port: 9443 }, 'd-1')]: { status: 200, body: record, warnings: [] },
    });
    const r = await fetchThroughApiServer(get, ref, 'd-1');
    expect(r.ok && r.from).to.equal('pod suture-system/suture-b');
    expect(asked.filter((p) => p.includes('suture-old'))).to.deep.equal([]);
  });

  it('says which replicas it asked when none has the record, and reports a missing Service as such', async () => {
    const none = answers({
      [serviceProxyPath(ref, 'd-1')]: notHere,
      '/api/v1/namespaces/suture-system/services/suture-webhook': service,
      '/api/v1/namespaces/suture-system/pods?labelSelector=app.kubernetes.io%2Fname%3Dsuture': pods,
    });
    const r = await fetchThroughApiServer(none.get, ref, 'd-1');
    expect(r.ok).to.equal(false);
    if (!r.ok) {
      expect(r.message).to.match(/no replica of Suture has decision d-1 \(2 pod\(s\) asked/);
      expect(r.tried).to.have.length(3);
    }
    const missing = answers({ [serviceProxyPath(ref, 'd-1')]: { status: 404, body: { message: 'services "suture-webhook" not found' }, warnings: [] } });
    const m = await fetchThroughApiServer(missing.get, ref, 'd-1');
    expect(m.ok).to.equal(false);
    if (!m.ok) expect(m.message).to.match(/HTTP 404: services "suture-webhook" not found/);
    expect(missing.asked).to.have.length(1);
  });

  it('asks one replica directly with --server', async () => {
    const { get } = answers({ '/decisions/d-1': { status: 200, body: record, warnings: [] } });
    const r = await fetchDirect(get, 'https://127.0.0.1:9443', 'd-1');
    expect(r.ok && r.from).to.equal('https://127.0.0.1:9443');
    expect(isLoopback('127.0.0.1')).to.equal(true);
    expect(isLoopback('suture.example.com')).to.equal(false);
  });
});

describe('kubectl suture explain -f: the answer', () => {
  const denied: WhatIfAnswer = {
    request: 'delete PersistentVolumeClaim zk/data-0',
    status: 403,
    classified: { outcome: 'denied', webhook: 'validate.suture.dev', message: 'admission webhook "validate.suture.dev" denied the request: … [decision 1b2c]' },
    warnings: [],
    decisionId: '1b2c',
  };

  it('prints Suture\'s denial with the decision to explain, exit 1', () => {
    expect(formatAnswer(denied, 'system:serviceaccount:zk:op')).to.deep.equal([
      'delete PersistentVolumeClaim zk/data-0 as system:serviceaccount:zk:op (dry run: nothing was changed)',
      '  DENIED by Suture (validate.suture.dev)',
      '  admission webhook "validate.suture.dev" denied the request: … [decision 1b2c]',
      '  details: kubectl suture explain 1b2c',
    ]);
    expect(exitCodeOf(denied)).to.equal(1);
  });

  it('prints an allowance with Suture\'s warnings, exit 0', () => {
    const warned: WhatIfAnswer = { request: 'create ConfigMap a/b', status: 201, classified: { outcome: 'warned', message: 'w' }, warnings: ['SuturePolicy x warned [decision 9]'], decisionId: '9' };
    expect(formatAnswer(warned, 'alice')).to.deep.equal(['create ConfigMap a/b as alice (dry run: nothing was changed)', '  ALLOWED, with a warning from Suture', '  warning: SuturePolicy x warned [decision 9]', '  details: kubectl suture explain 9']);
    expect(exitCodeOf(warned)).to.equal(0);
  });

  it('tells an RBAC or validation refusal apart from Suture, exit 2', () => {
    const rbac: WhatIfAnswer = { request: 'create Secret a/b', status: 403, classified: { outcome: 'rbac', message: 'secrets is forbidden: User "alice" cannot create resource "secrets"' }, warnings: [] };
    expect(formatAnswer(rbac, 'alice')[1]).to.equal('  REFUSED before Suture decided: refused by RBAC, not Suture');
    expect(exitCodeOf(rbac)).to.equal(2);
    const invalid: WhatIfAnswer = { request: 'create Pod a/b', status: 422, classified: { outcome: 'invalid', message: 'spec.containers: Required value' }, warnings: [] };
    expect(formatAnswer(invalid, 'alice')[1]).to.equal('  REFUSED before Suture decided: rejected by validation (422), not Suture');
  });

  it('finds the decision id in a message or warning', () => {
    expect(decisionIdOf(['x', 'denied … [decision 5f-7]'])).to.equal('5f-7');
    expect(decisionIdOf(['no id'])).to.equal(undefined);
  });

  it('reads several documents and List items, and refuses what is not an object', () => {
    const objects = parseManifest('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: Secret, metadata: {name: b}}\n', 'm.yaml');
    expect(objects.map((o) => `${o.kind}/${o.metadata.name ?? ''}`)).to.deep.equal(['ConfigMap/a', 'Secret/b']);
    expect(() => parseManifest('', 'e.yaml')).to.throw(/no objects/);
    expect(() => parseManifest('a: [', 'e.yaml')).to.throw(/e\.yaml: document 1/);
  });
});
