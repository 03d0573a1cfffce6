import { expect } from 'chai';
import { identityOf, impersonationHeaders } from '../../../src/scenario/identity.js';
import { groupVersionPath, parseWarningHeader, resourcePath, warningsOf } from '../../../src/scenario/kube.js';

describe('Warning headers', () => {
  it('parses the API server form 299 - "text", with escapes', () => {
    expect(parseWarningHeader('299 - "spec.nodeSelector[beta.kubernetes.io/arch]: deprecated"')).to.deep.equal(['spec.nodeSelector[beta.kubernetes.io/arch]: deprecated']);
    expect(parseWarningHeader('299 - "say \\"hi\\""')).to.deep.equal(['say "hi"']);
  });

  it('splits comma-joined warnings and keeps a malformed value whole', () => {
    expect(parseWarningHeader('299 - "a, b", 299 - "c"')).to.deep.equal(['a, b', 'c']);
    expect(parseWarningHeader('not a warning')).to.deep.equal(['not a warning']);
  });

  it('collects every Warning header of a response in order, case-insensitively', () => {
    const raw = ['Content-Type', 'application/json', 'Warning', '299 - "one"', 'warning', '299 - "two"'];
    expect(warningsOf(raw)).to.deep.equal(['one', 'two']);
  });
});

describe('resource paths', () => {
  const pvc = { plural: 'persistentvolumeclaims', namespaced: true };
  const node = { plural: 'nodes', namespaced: false };

  it('builds core and group paths', () => {
    expect(groupVersionPath('v1')).to.equal('/api/v1');
    expect(groupVersionPath('apps/v1')).to.equal('/apis/apps/v1');
  });

  it('builds collection, object and subresource paths, namespaced or not', () => {
    expect(resourcePath('v1', pvc, { namespace: 'zk' })).to.equal('/api/v1/namespaces/zk/persistentvolumeclaims');
    expect(resourcePath('v1', pvc, { namespace: 'zk', name: 'data-0' })).to.equal('/api/v1/namespaces/zk/persistentvolumeclaims/data-0');
    expect(resourcePath('apps/v1', { plural: 'statefulsets', namespaced: true }, { namespace: 'mq', name: 's', subresource: 'scale' })).to.equal('/apis/apps/v1/namespaces/mq/statefulsets/s/scale');
    expect(resourcePath('v1', node, { namespace: 'ignored', name: 'ip-10-0-1-17' })).to.equal('/api/v1/nodes/ip-10-0-1-17');
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
