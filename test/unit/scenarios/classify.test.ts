import { expect } from 'chai';
import type { ApiResponse } from '../../../src/scenario/classify.js';
import { classify, explainOutcome, isSutureWarning, judgeCheck, judgeRequest } from '../../../src/scenario/classify.js';
import type { CheckStep, RequestStep } from '../../../src/scenario/model.js';

function status(code: number, message: string, reason = 'Forbidden'): ApiResponse {
  return { status: code, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code }, warnings: [] };
}

const rbac = status(403, 'persistentvolumeclaims "data-0" is forbidden: User "system:serviceaccount:zk:op" cannot delete resource "persistentvolumeclaims" in API group "" in the namespace "zk"');
const sutureDenial = status(403, 'admission webhook "validate.suture.dev" denied the request: delete PersistentVolumeClaim zk/data-0 by system:serviceaccount:zk:op: policy protect-zookeeper-data, invariant data-survives');
const names = ['protect-zookeeper-data', 'data-survives'];

describe('classify', () => {
  const cases: [string, ApiResponse, string][] = [
    ['a 200', { status: 200, body: {}, warnings: [] }, 'allowed'],
    ['a 201 with a Kubernetes warning', { status: 201, body: {}, warnings: ['spec.nodeSelector[beta.kubernetes.io/arch]: deprecated since v1.14'] }, 'allowed'],
    ['a 200 with a warning naming a policy', { status: 200, body: {}, warnings: ['policy protect-zookeeper-data would deny this'] }, 'warned'],
    ['a 200 with a warning naming Suture', { status: 200, body: {}, warnings: ['Suture: averted /spec/replicas'] }, 'warned'],
    ['a denial by validate.suture.dev', sutureDenial, 'denied'],
    ['a denial by mutate.suture.dev with the code Suture set', status(422, 'admission webhook "mutate.suture.dev" denied the request: still breaks quorum', 'Invalid'), 'denied'],
    ['a denial by another webhook', status(403, 'admission webhook "validate.kyverno.svc" denied the request: no'), 'other-webhook'],
    ['a webhook whose name only contains suture.dev', status(403, 'admission webhook "suture.dev.evil.example.com" denied the request: x'), 'other-webhook'],
    ['an RBAC refusal', rbac, 'rbac'],
    ['a ValidatingAdmissionPolicy denial', status(403, "secrets \"x\" is forbidden: ValidatingAdmissionPolicy 'p' with binding 'b' denied request: no"), 'forbidden'],
    ['a terminating namespace', status(403, 'configmaps "a" is forbidden: unable to create new content in namespace zk because it is being terminated'), 'forbidden'],
    ['a validation error', status(422, 'ConfigMap "Not_Valid" is invalid: metadata.name: Invalid value', 'Invalid'), 'invalid'],
    ['a failed webhook call', status(500, 'Internal error occurred: failed calling webhook "validate.suture.dev": connection refused', 'InternalError'), 'webhook-error'],
    ['a 404', status(404, 'configmaps "x" not found', 'NotFound'), 'not-found'],
    ['a 409', status(409, 'configmaps "x" already exists', 'AlreadyExists'), 'conflict'],
    ['a 500 with a text body', { status: 500, body: 'boom', warnings: [] }, 'error'],
  ];
  for (const [what, response, outcome] of cases) {
    it(`classifies ${what} as ${outcome}`, () => {
      expect(classify(response, names).outcome).to.equal(outcome);
    });
  }

  it('names the webhook that denied and keeps the whole message', () => {
    expect(classify(sutureDenial, names)).to.deep.include({ webhook: 'validate.suture.dev', message: (sutureDenial.body as { message: string }).message });
  });

  it('explains refusals that are not Suture\'s', () => {
    expect(explainOutcome(classify(rbac, names), 403)).to.equal('refused by RBAC, not Suture');
    expect(explainOutcome({ outcome: 'invalid', message: '' }, 422)).to.equal('rejected by validation (422), not Suture');
    expect(explainOutcome({ outcome: 'other-webhook', message: '', webhook: 'x.example.com' }, 403)).to.include('"x.example.com", not Suture');
  });

  it('attributes warnings by the word Suture or a Suture object name, case-insensitively', () => {
    expect(isSutureWarning('SUTURE: averted', [])).to.equal(true);
    expect(isSutureWarning('invariant Data-Survives relaxed', names)).to.equal(true);
    expect(isSutureWarning('deprecated since v1.14', names)).to.equal(false);
    expect(isSutureWarning('anything', [''])).to.equal(false);
  });
});

function request(expect: RequestStep['expect'], messageIncludes: string[] = []): RequestStep {
  return { type: 'request', index: 1, as: 'system:serviceaccount:zk:op', do: 'delete', apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: 'zk', name: 'data-0', expect, messageIncludes };
}

describe('judgeRequest', () => {
  it('passes a Suture denial whose message holds every substring', () => {
    expect(judgeRequest(request('denied', ['protect-zookeeper-data', 'data-0']), sutureDenial, names)).to.include({ pass: true, got: 'denied' });
  });

  it('fails an expected denial that RBAC gave, saying so', () => {
    const verdict = judgeRequest(request('denied'), rbac, names);
    expect(verdict).to.include({ pass: false, got: 'rbac' });
    expect(verdict.reason).to.equal('expected denied, got refused by RBAC, not Suture');
  });

  it('fails a Suture denial that lacks a substring, naming it', () => {
    const verdict = judgeRequest(request('denied', ['keep-quorum']), sutureDenial, names);
    expect(verdict.pass).to.equal(false);
    expect(verdict.reason).to.include('lacks "keep-quorum"');
  });

  it('passes allowed with or without warnings, and checks messageIncludes against the warnings', () => {
    const warned: ApiResponse = { status: 200, body: {}, warnings: ['Suture: data-survives relaxed by schedule'] };
    expect(judgeRequest(request('allowed'), warned, names).pass).to.equal(true);
    expect(judgeRequest(request('allowed', ['relaxed']), warned, names).pass).to.equal(true);
    expect(judgeRequest(request('warned', ['relaxed']), warned, names).pass).to.equal(true);
  });

  it('fails warned when the only warnings are not Suture\'s, and says why', () => {
    const verdict = judgeRequest(request('warned'), { status: 200, body: {}, warnings: ['deprecated since v1.14'] }, names);
    expect(verdict).to.include({ pass: false, got: 'allowed' });
    expect(verdict.reason).to.include('do not name Suture');
  });

  it('fails allowed when Suture denied', () => {
    expect(judgeRequest(request('allowed'), sutureDenial, names)).to.include({ pass: false, got: 'denied' });
  });
});

function check(fields: Partial<CheckStep>): CheckStep {
  return { type: 'check', index: 1, apiVersion: 'v1', kind: 'Secret', namespace: 'db', name: 's', hasEquals: false, exists: true, withinMs: 10_000, ...fields };
}

describe('judgeCheck', () => {
  const object = { metadata: { name: 's', labels: { 'suture.dev/lease': 'op-a.pg' } }, spec: { replicas: 5 } };

  it('asserts existence', () => {
    expect(judgeCheck(check({}), { object })).to.include({ pass: true, got: 'present' });
    expect(judgeCheck(check({}), { object: undefined })).to.include({ pass: false, got: 'absent' });
  });

  it('asserts a value at a path, as JSON', () => {
    expect(judgeCheck(check({ path: '/spec/replicas', hasEquals: true, equals: 5 }), { object }).pass).to.equal(true);
    const wrong = judgeCheck(check({ path: '/spec/replicas', hasEquals: true, equals: '5' }), { object });
    expect(wrong).to.include({ pass: false, got: '5', reason: 'expected 5, got 5' });
    expect(judgeCheck(check({ path: '/metadata/labels/suture.dev~1lease', hasEquals: true, equals: 'op-a.pg' }), { object }).pass).to.equal(true);
    expect(judgeCheck(check({ path: '/status/phase', hasEquals: true, equals: 'Granted' }), { object })).to.include({ pass: false, got: 'unset' });
  });

  it('asserts a path is set when there is no equals', () => {
    expect(judgeCheck(check({ path: '/spec/replicas' }), { object })).to.include({ pass: true, got: '5' });
  });

  it('asserts absence of the object, or of a path', () => {
    expect(judgeCheck(check({ exists: false }), { object: undefined }).pass).to.equal(true);
    expect(judgeCheck(check({ exists: false }), { object })).to.include({ pass: false, got: 'present' });
    expect(judgeCheck(check({ exists: false, path: '/status' }), { object }).pass).to.equal(true);
    expect(judgeCheck(check({ exists: false, path: '/spec/replicas' }), { object })).to.include({ pass: false, got: '5' });
  });
});
