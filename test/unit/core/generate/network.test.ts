import { expect } from 'chai';
import type { SutureLease } from '../../../../src/api/types.js';
import { buildIsolationPolicy } from '../../../../src/core/generate/network.js';
import { expectGolden } from './golden.js';

const lease: SutureLease = {
  apiVersion: 'suture.dev/v1alpha1',
  kind: 'SutureLease',
  metadata: { namespace: 'db-system', name: 'postgres', uid: 'uid-1' },
  spec: { holder: { kind: 'ServiceAccount', name: 'postgres-operator', namespace: 'db-system' }, resources: [{ kinds: ['Secret'] }], network: 'Isolate' },
};
const config = { apiServer: { ips: ['10.0.0.2', '10.0.0.1'], port: 6443 }, metricsPort: 9090 };

describe('core/generate/network', () => {
  it('golden: quarantines the holder namespace (metrics in; API server and DNS out), owned by the lease in its namespace', () => {
    const policy = buildIsolationPolicy(lease, config);
    expectGolden('network-isolate', [policy]);
    expect(policy?.metadata.ownerReferences?.[0]?.uid).to.equal('uid-1');
  });

  it('nothing without network: Isolate, or for a holder without a namespace', () => {
    expect(buildIsolationPolicy({ ...lease, spec: { ...lease.spec, network: 'None' } }, config)).to.equal(undefined);
    expect(buildIsolationPolicy({ ...lease, spec: { ...lease.spec, holder: { kind: 'User', name: 'alice' } } }, config)).to.equal(undefined);
  });

  it('not owned when the holder lives in another namespace than the lease', () => {
    const other = { ...lease, metadata: { ...lease.metadata, namespace: 'leases' } };
    const policy = buildIsolationPolicy(other, config);
    expect(policy?.metadata.namespace).to.equal('db-system');
    expect(policy?.metadata.ownerReferences).to.equal(undefined);
  });
});
