import { ApiException } from '@kubernetes/client-node';
import { expect } from 'chai';
import { objectKey, resourcePath, splitApiVersion, splitKey } from '../../../src/kube/client.js';
import { KubeError, isAlreadyExists, isConflict, isForbidden, isGone, isNotFound, toKubeError } from '../../../src/kube/errors.js';
import { compareResourceVersions } from '../../../src/kube/resource-version.js';

const apiError = (code: number, reason: string, message: string): ApiException<string> =>
  new ApiException(code, 'Unsuccessful HTTP Request', JSON.stringify({ kind: 'Status', reason, message }), {});

describe('kube errors', () => {
  const cases: [number, string, (e: unknown) => boolean, string][] = [
    [404, 'NotFound', isNotFound, 'NotFound'],
    [409, 'Conflict', isConflict, 'Conflict'],
    [409, 'AlreadyExists', isAlreadyExists, 'Conflict'],
    [403, 'Forbidden', isForbidden, 'Forbidden'],
    [410, 'Expired', isGone, 'Gone'],
    [500, 'InternalError', (e) => e instanceof KubeError && e.kind === 'Other', 'Other'],
  ];
  for (const [code, reason, predicate, kind] of cases) {
    it(`maps ${code} ${reason} to ${kind}, keeping the cause and the Status message`, () => {
      const cause = apiError(code, reason, 'the message');
      const error = toKubeError(cause, 'get v1 ConfigMap ns/x');
      expect(predicate(error)).to.be.true;
      expect(error.kind).to.equal(kind);
      expect(error.code).to.equal(code);
      expect(error.reason).to.equal(reason);
      expect(error.cause).to.equal(cause);
      expect(error.message).to.equal(`get v1 ConfigMap ns/x failed (${code} ${reason}): the message`);
    });
  }

  it('maps a watch error with statusCode and a network error', () => {
    expect(toKubeError(Object.assign(new Error('Gone'), { statusCode: 410 }), 'watch').kind).to.equal('Gone');
    const network = toKubeError(new Error('connect ECONNREFUSED'), 'list v1 Pod');
    expect(network.kind).to.equal('Other');
    expect(network.code).to.equal(undefined);
    expect(network.message).to.equal('list v1 Pod failed: connect ECONNREFUSED');
  });

  it('does not wrap a KubeError twice', () => {
    const error = toKubeError(apiError(404, 'NotFound', 'x'), 'a');
    expect(toKubeError(error, 'b')).to.equal(error);
  });
});

describe('kube paths and keys', () => {
  it('builds resource paths for core and grouped kinds', () => {
    expect(resourcePath({ apiVersion: 'v1', resource: 'pods', namespace: 'ns', name: 'p', subresource: 'status' })).to.equal('/api/v1/namespaces/ns/pods/p/status');
    expect(resourcePath({ apiVersion: 'apps/v1', resource: 'deployments' })).to.equal('/apis/apps/v1/deployments');
    expect(resourcePath({ apiVersion: 'suture.dev/v1alpha1', resource: 'suturepolicies', name: 'p' })).to.equal('/apis/suture.dev/v1alpha1/suturepolicies/p');
  });

  it('splits apiVersions and keys', () => {
    expect(splitApiVersion('apps/v1')).to.deep.equal({ group: 'apps', version: 'v1' });
    expect(splitApiVersion('v1')).to.deep.equal({ group: '', version: 'v1' });
    expect(objectKey({ namespace: 'ns', name: 'a' })).to.equal('ns/a');
    expect(objectKey({ name: 'a' })).to.equal('a');
    expect(splitKey('ns/a')).to.deep.equal({ namespace: 'ns', name: 'a' });
    expect(splitKey('a')).to.deep.equal({ namespace: '', name: 'a' });
  });

  it('compares numeric resourceVersions and refuses opaque ones', () => {
    expect(compareResourceVersions('9', '10')).to.equal(-1);
    expect(compareResourceVersions('10', '10')).to.equal(0);
    expect(compareResourceVersions('123456789012345678901', '2')).to.equal(1);
    expect(compareResourceVersions('abc', '1')).to.equal(undefined);
    expect(compareResourceVersions('', '1')).to.equal(undefined);
  });
});
