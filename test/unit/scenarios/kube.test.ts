import { expect } from 'chai';
import { impersonationHeaders, parseWarningHeader, warningsOf } from '../../../src/kube/client.js';
import type { DiscoveredKind } from '../../../src/kube/discovery.js';
import { identityOf } from '../../../src/scenario/identity.js';
import { Kinds, resourcePath, UnknownKindError } from '../../../src/scenario/kube.js';

describe('Warning headers', () => {
  it('parses the API server form 299 - "text", with escapes', () => {
    expect(parseWarningHeader('299 - "spec.nodeSelector[beta.kubernetes.io/arch]: deprecated"')).to.deep.equal(['spec.nodeSelector[beta.kubernetes.io/arch]: deprecated']);
    expect(parseWarningHeader('299 - "say \\"hi\\""')).to.deep.equal(['say "hi"']);
  });

  it('splits comma-joined warnings and keeps a malformed value whole', () => {
    expect(parseWarningHeader('299 - "a, b", 299 - "c"')).to.deep.equal(['a, b', 'c']);
    expect(parseWarningHeader('not a warning')).to.deep.equal(['not a warning']);
  });

  it('collects every Warning header of a response in order: one value or one per repeated header', () => {
    expect(warningsOf(['299 - "one"', '299 - "two", 299 - "three"'])).to.deep.equal(['one', 'two', 'three']);
    expect(warningsOf('299 - "one"')).to.deep.equal(['one']);
    expect(warningsOf(undefined)).to.deep.equal([]);
  });
});

describe('resource paths', () => {
  const pvc = { plural: 'persistentvolumeclaims', namespaced: true };
  const node = { plural: 'nodes', namespaced: false };

  it('builds collection, object and subresource paths, namespaced or not', () => {
    expect(resourcePath('v1', pvc, { namespace: 'zk' })).to.equal('/api/v1/namespaces/zk/persistentvolumeclaims');
    expect(resourcePath('v1', pvc, { namespace: 'zk', name: 'data-0' })).to.equal('/api/v1/namespaces/zk/persistentvolumeclaims/data-0');
    expect(resourcePath('apps/v1', { plural: 'statefulsets', namespaced: true }, { namespace: 'mq', name: 's', subresource: 'scale' })).to.equal('/apis/apps/v1/namespaces/mq/statefulsets/s/scale');
    expect(resourcePath('v1', node, { namespace: 'ignored', name: 'ip-10-0-1-17' })).to.equal('/api/v1/nodes/ip-10-0-1-17');
    expect(resourcePath('v1', pvc, { namespace: 'zk', subresource: 'status' })).to.equal('/api/v1/namespaces/zk/persistentvolumeclaims');
  });
});

describe('kinds to resources', () => {
  const kind = (group: string, version: string, k: string, resource: string): DiscoveredKind => ({ group, version, kind: k, resource, namespaced: true, preferred: true, verbs: [], shortNames: [] });

  it('answers from the map as last fetched, fetches again on a miss only, and matches a kind in another case', async () => {
    let server: DiscoveredKind[] = [kind('apps', 'v1', 'StatefulSet', 'statefulsets')];
    let map: DiscoveredKind[] = [];
    let refreshes = 0;
    const kinds = new Kinds({ refresh: () => ((refreshes += 1), (map = [...server]), Promise.resolve()), all: () => map });
    expect(await kinds.resolve('apps/v1', 'StatefulSet')).to.deep.equal({ plural: 'statefulsets', namespaced: true });
    expect(await kinds.resolve('apps/v1', 'statefulset')).to.deep.equal({ plural: 'statefulsets', namespaced: true });
    expect(refreshes).to.equal(1);
    server = [...server, kind('db.example.com', 'v1', 'Cluster', 'clusters')];
    expect(await kinds.resolve('db.example.com/v1', 'Cluster')).to.deep.equal({ plural: 'clusters', namespaced: true });
    expect(refreshes).to.equal(2);
    try {
      await kinds.resolve('db.example.com/v2', 'Cluster');
      expect.fail('v2 is not served');
    } catch (error) {
      expect(error).to.be.instanceOf(UnknownKindError);
    }
    expect(refreshes).to.equal(3);
    expect(await kinds.serves('db.example.com/v1', 'Cluster')).to.equal(true);
    expect(refreshes).to.equal(4);
  });
});

describe('identities', () => {
  it('gives a service account the groups Kubernetes gives it', () => {
    expect(identityOf('system:serviceaccount:zk:zookeeper-operator')).to.deep.equal({
      user: 'system:serviceaccount:zk:zookeeper-operator',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:zk', 'system:authenticated'],
    });
  });

  it('gives a user system:authenticated, and admin no impersonation', () => {
    expect(identityOf('alice@example.com')).to.deep.equal({ user: 'alice@example.com', groups: ['system:authenticated'] });
    expect(identityOf('admin')).to.equal(undefined);
    expect(impersonationHeaders(undefined)).to.deep.equal({});
  });

  it('sends one Impersonate-Group header per group', () => {
    expect(impersonationHeaders(identityOf('system:serviceaccount:a:b'))).to.deep.equal({
      'Impersonate-User': 'system:serviceaccount:a:b',
      'Impersonate-Group': ['system:serviceaccounts', 'system:serviceaccounts:a', 'system:authenticated'],
    });
  });
});
