// An eviction is given its pod's resourceVersion as delete precondition (finding 6 of the randomised safety test):
// the API server reads the pod only after admission, so the pod removed must be the pod judged.
import { expect } from 'chai';
import type { KubeObject } from '../../../src/api/types.js';
import { evictionPrecondition, isEviction } from '../../../src/core/evictions.js';
import { createRequest, deleteRequest, pod, saUser } from './fixtures.js';

const operator = saUser('ops', 'operator');
const cache0: KubeObject = { ...pod('mq', 'cache-0'), metadata: { ...pod('mq', 'cache-0').metadata, resourceVersion: '4711' } };
const eviction = (deleteOptions?: unknown): KubeObject => ({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'cache-0', namespace: 'mq' }, ...(deleteOptions === undefined ? {} : { deleteOptions }) });

describe('core/evictions: the pod removed is the pod judged', () => {
  it('tells an eviction from other requests', () => {
    const evict = { ...createRequest(cache0, operator), subResource: 'eviction', object: eviction() };
    expect(isEviction(evict)).to.equal(true);
    expect(isEviction(createRequest(cache0, operator))).to.equal(false);
    expect(isEviction(deleteRequest(cache0, operator))).to.equal(false);
    expect(isEviction({ ...evict, resource: { group: 'example.com', version: 'v1', resource: 'pods' } })).to.equal(false);
  });

  it('adds the pod\'s resourceVersion as precondition, wherever the eviction\'s deleteOptions leave room', () => {
    expect(evictionPrecondition(eviction(), cache0)).to.deep.equal([{ op: 'add', path: '/deleteOptions', value: { preconditions: { resourceVersion: '4711' } } }]);
    expect(evictionPrecondition(eviction({ gracePeriodSeconds: 0 }), cache0)).to.deep.equal([{ op: 'add', path: '/deleteOptions/preconditions', value: { resourceVersion: '4711' } }]);
    expect(evictionPrecondition(eviction({ preconditions: { uid: 'u-1' } }), cache0)).to.deep.equal([{ op: 'add', path: '/deleteOptions/preconditions/resourceVersion', value: '4711' }]);
    // `null` where an object may be (a client's JSON) is replaced, as "add" does with a member that exists.
    expect(evictionPrecondition(eviction(null), cache0)).to.deep.equal([{ op: 'add', path: '/deleteOptions', value: { preconditions: { resourceVersion: '4711' } } }]);
  });

  it('keeps a resourceVersion the client set (the API server honours it), and adds nothing for a pod that is gone', () => {
    expect(evictionPrecondition(eviction({ preconditions: { resourceVersion: '17' } }), cache0)).to.deep.equal([]);
    expect(evictionPrecondition(eviction(), undefined)).to.deep.equal([]);
  });
});
