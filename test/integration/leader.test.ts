// Leader election between two electors on a real coordination.k8s.io/v1 Lease.
import { expect } from 'chai';
import type { LeaseObject } from '../../src/controller/leader.js';
import { LeaderElector } from '../../src/controller/leader.js';
import type { ObjectClient } from '../../src/kube/client.js';
import { createObjectClient } from '../../src/kube/client.js';
import { createMemoryLogger } from '../../src/observability/logger.js';
import { cluster } from './cluster.js';
import { createNamespace, deleteNamespace, eventually, uniqueName } from './support.js';

interface Candidate {
  elector: LeaderElector;
  events: string[];
}

describe('LeaderElector (real API server)', () => {
  let client: ObjectClient;
  let namespace: string;
  let name: string;
  const candidates: Candidate[] = [];

  const candidate = (identity: string): Candidate => {
    const events: string[] = [];
    const elector = new LeaderElector(
      { namespace, name, identity, leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 250 },
      { onStartedLeading: () => void events.push('started'), onStoppedLeading: () => void events.push('stopped') },
      { client, logger: createMemoryLogger() },
    );
    const entry = { elector, events };
    candidates.push(entry);
    return entry;
  };
  const lease = (): Promise<LeaseObject> => client.get<LeaseObject>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace, name });

  beforeEach(async () => {
    client = createObjectClient(cluster().kubeConfig);
    namespace = await createNamespace(cluster().kubeConfig, 'it-leader');
    name = uniqueName('leader');
  });
  afterEach(async () => {
    await Promise.all(candidates.splice(0).map((c) => c.elector.stop()));
    await deleteNamespace(cluster().kubeConfig, namespace);
  });

  it('elects exactly one leader and fails over within the lease duration after it stops renewing', async () => {
    const a = candidate('replica-a');
    a.elector.start();
    await eventually('a leads', () => Promise.resolve(a.elector.isLeader()), 10_000);
    const b = candidate('replica-b');
    b.elector.start();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(b.elector.isLeader()).to.be.false;
    expect((await lease()).spec).to.include({ holderIdentity: 'replica-a', leaseDurationSeconds: 3, leaseTransitions: 0 });

    const crashed = Date.now();
    await a.elector.stop({ release: false });
    await eventually('b leads', () => Promise.resolve(b.elector.isLeader()), 10_000);
    const failover = Date.now() - crashed;
    expect(failover).to.be.within(2000, 3000 + 250 + 1500);
    expect((await lease()).spec).to.include({ holderIdentity: 'replica-b', leaseTransitions: 1 });
    expect(a.events).to.deep.equal(['started', 'stopped']);
    expect(b.events).to.deep.equal(['started']);
  });

  it('hands over at once when the leader releases the Lease on a graceful stop', async () => {
    const a = candidate('replica-a');
    a.elector.start();
    await eventually('a leads', () => Promise.resolve(a.elector.isLeader()), 10_000);
    const b = candidate('replica-b');
    b.elector.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stopped = Date.now();
    await a.elector.stop();
    expect((await lease()).spec?.holderIdentity).to.satisfy((holder: string) => holder === '' || holder === 'replica-b');
    await eventually('b leads', () => Promise.resolve(b.elector.isLeader()), 10_000);
    expect(Date.now() - stopped).to.be.below(1500);
  });
});
