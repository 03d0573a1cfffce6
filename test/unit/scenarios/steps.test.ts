import { expect } from 'chai';
import { mergePatch } from '../../../src/scenario/merge.js';
import type { RequestStep } from '../../../src/scenario/model.js';
import { buildRequest, describeStep, expectedText } from '../../scenarios/steps.js';

const sts = { plural: 'statefulsets', namespaced: true };
const crb = { plural: 'clusterrolebindings', namespaced: false };
const sa = 'system:serviceaccount:mq:rabbitmq-operator';
const groups = ['system:serviceaccounts', 'system:serviceaccounts:mq', 'system:authenticated'];

function step(fields: Partial<RequestStep>): RequestStep {
  return { type: 'request', index: 1, as: sa, do: 'delete', apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: 'mq', name: 'rabbit', expect: 'denied', messageIncludes: [], ...fields };
}

describe('buildRequest', () => {
  it('deletes with the propagation policy in DeleteOptions, as the impersonated identity', () => {
    expect(buildRequest(step({ propagationPolicy: 'Background' }), sts)).to.deep.equal({
      method: 'DELETE',
      path: '/apis/apps/v1/namespaces/mq/statefulsets/rabbit',
      body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' },
      impersonate: { user: sa, groups },
    });
  });

  it('patches a subresource with the content type of each patch type', () => {
    const scale = buildRequest(step({ do: 'patch', subresource: 'scale', patchType: 'merge', body: { spec: { replicas: 1 } } }), sts);
    expect(scale).to.include({ method: 'PATCH', path: '/apis/apps/v1/namespaces/mq/statefulsets/rabbit/scale', contentType: 'application/merge-patch+json' });
    expect(buildRequest(step({ do: 'patch', patchType: 'json', body: [] }), sts).contentType).to.equal('application/json-patch+json');
    expect(buildRequest(step({ do: 'patch', patchType: 'strategic', body: {} }), sts).contentType).to.equal('application/strategic-merge-patch+json');
  });

  it('creates in the collection, filling apiVersion, kind and namespace', () => {
    const request = buildRequest(step({ do: 'create', name: undefined, body: { metadata: { name: 'new' }, spec: {} } }), sts);
    expect(request).to.deep.include({ method: 'POST', path: '/apis/apps/v1/namespaces/mq/statefulsets' });
    expect(request.body).to.deep.equal({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'new', namespace: 'mq' }, spec: {} });
  });

  it('creates cluster-scoped objects without a namespace, and takes the namespace from the body when the step has none', () => {
    const cluster = buildRequest(step({ do: 'create', apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', namespace: undefined, name: undefined, body: { metadata: { name: 'x' } } }), crb);
    expect(cluster.path).to.equal('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings');
    const fromBody = buildRequest(step({ do: 'create', namespace: undefined, name: undefined, body: { metadata: { name: 'y', namespace: 'other' } } }), sts);
    expect(fromBody.path).to.equal('/apis/apps/v1/namespaces/other/statefulsets');
  });

  it('updates by merging the body into the current object and PUTting it whole', () => {
    const current = { metadata: { name: 'rabbit', resourceVersion: '7', labels: { a: '1' } }, spec: { replicas: 3, serviceName: 's' } };
    const request = buildRequest(step({ do: 'update', body: { spec: { replicas: 5 }, metadata: { labels: { b: '2' } } } }), sts, current);
    expect(request).to.deep.include({ method: 'PUT', path: '/apis/apps/v1/namespaces/mq/statefulsets/rabbit' });
    expect(request.body).to.deep.equal({ metadata: { name: 'rabbit', resourceVersion: '7', labels: { a: '1', b: '2' } }, spec: { replicas: 5, serviceName: 's' } });
  });

  it('deletes a collection by label selector', () => {
    const request = buildRequest(step({ do: 'deletecollection', name: undefined, labelSelector: 'app=zk' }), sts);
    expect(request).to.deep.include({ method: 'DELETE', path: '/apis/apps/v1/namespaces/mq/statefulsets', query: { labelSelector: 'app=zk' } });
  });

  it('sends admin requests without impersonation', () => {
    expect(buildRequest(step({ as: 'admin' }), sts).impersonate).to.equal(undefined);
  });
});

describe('mergePatch', () => {
  it('merges objects, replaces arrays and scalars, removes keys set to null, does not touch its input', () => {
    const target = { a: { b: 1, c: 2 }, list: [1, 2], keep: 'x' };
    expect(mergePatch(target, { a: { c: null, d: 3 }, list: [3] })).to.deep.equal({ a: { b: 1, d: 3 }, list: [3], keep: 'x' });
    expect(target).to.deep.equal({ a: { b: 1, c: 2 }, list: [1, 2], keep: 'x' });
    expect(mergePatch({ a: 1 }, 'scalar')).to.equal('scalar');
  });
});

describe('step texts', () => {
  it('describes requests and checks for the report', () => {
    expect(describeStep(step({ do: 'patch', patchType: 'merge', subresource: 'scale', body: {} }))).to.equal(`${sa} patch(merge) StatefulSet mq/rabbit/scale`);
    expect(describeStep(step({ do: 'deletecollection', name: undefined, labelSelector: 'a=b' }))).to.equal(`${sa} deletecollection StatefulSet mq/-l a=b`);
    const check = { type: 'check', index: 2, apiVersion: 'v1', kind: 'Node', name: 'n', path: '/status/phase', hasEquals: true, equals: 'Ready', exists: true, withinMs: 1 } as const;
    expect(describeStep(check)).to.equal('check Node n /status/phase == "Ready"');
    expect(expectedText(check)).to.equal('= "Ready"');
    expect(expectedText({ ...check, exists: false, hasEquals: false })).to.equal('absent');
    expect(expectedText(step({ expect: 'warned' }))).to.equal('warned');
  });
});
