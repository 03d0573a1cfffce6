import { expect } from 'chai';
import type { LeaseObject } from '../../../src/controller/leader.js';
import { LeaderElector, microTime } from '../../../src/controller/leader.js';
import { createMemoryLogger } from '../../../src/observability/logger.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';
import { MemoryObjects } from '../support/memory-objects.js';

const ref = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: 'suture-system', name: 'suture-leader' };

interface Candidate {
  elector: LeaderElector;
  log: string[];
}

function candidate(identity: string, client: MemoryObjects, clock: FakeClock): Candidate {
  const log: string[] = [];
  const elector = new LeaderElector(
    { namespace: ref.namespace, name: ref.name, identity, leaseDurationMs: 10_000, renewDeadlineMs: 8_000, retryPeriodMs: 2_000 },
    { onStartedLeading: () => void log.push('started'), onStoppedLeading: () => void log.push('stopped'), onNewLeader: (who) => void log.push(`leader=${who}`) },
    { client, clock, logger: createMemoryLogger() },
  );
  return { elector, log };
}

async function tick(clock: FakeClock, ms: number, step = 500): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(step);
    await flushPromises();
  }
}

async function lease(client: MemoryObjects): Promise<LeaseObject> {
  return client.get<LeaseObject>(ref);
}

describe('LeaderElector', () => {
  it('formats MicroTime with six fractional digits', () => {
    expect(microTime(Date.UTC(2025, 0, 1, 0, 0, 0, 123))).to.equal('2025-01-01T00:00:00.123000Z');
  });

  it('creates the Lease and leads; a second candidate waits', async () => {
    const client = new MemoryObjects();
    const clock = new FakeClock();
    const a = candidate('a', client, clock);
    const b = candidate('b', client, clock);
    a.elector.start();
    await flushPromises();
    b.elector.start();
    await tick(clock, 6_000);
    expect(a.elector.isLeader()).to.be.true;
    expect(b.elector.isLeader()).to.be.false;
    expect(a.log).to.deep.equal(['leader=a', 'started']);
    expect(b.log).to.deep.equal(['leader=a']);
    const spec = (await lease(client)).spec;
    expect(spec).to.include({ holderIdentity: 'a', leaseDurationSeconds: 10, leaseTransitions: 0 });
    expect(spec?.renewTime).to.equal(microTime(clock.now() - (clock.now() % 2000)));
    await a.elector.stop();
    await b.elector.stop();
  });

  it('fails over after the leader stops renewing, within the lease duration of its last renewal', async () => {
    const client = new MemoryObjects();
    const clock = new FakeClock();
    const a = candidate('a', client, clock);
    const b = candidate('b', client, clock);
    a.elector.start();
    await flushPromises();
    b.elector.start();
    await tick(clock, 4_000);
    const lastRenew = Date.parse((await lease(client)).spec?.renewTime ?? '');
    await a.elector.stop({ release: false });
    expect(a.log.at(-1)).to.equal('stopped');
    await tick(clock, 14_000);
    expect(b.elector.isLeader()).to.be.true;
    const spec = (await lease(client)).spec;
    expect(spec).to.include({ holderIdentity: 'b', leaseTransitions: 1 });
    const takeover = Date.parse(spec?.acquireTime ?? '');
    expect(takeover - lastRenew).to.be.at.least(10_000).and.at.most(10_000 + 2_000 + 500);
    await b.elector.stop();
  });

  it('releases the Lease on graceful stop so a successor takes over at its next attempt', async () => {
    const client = new MemoryObjects();
    const clock = new FakeClock();
    const a = candidate('a', client, clock);
    const b = candidate('b', client, clock);
    a.elector.start();
    await flushPromises();
    b.elector.start();
    await tick(clock, 2_000);
    await a.elector.stop();
    expect((await lease(client)).spec?.holderIdentity).to.equal('');
    await tick(clock, 2_000);
    expect(b.elector.isLeader()).to.be.true;
    await b.elector.stop();
  });

  it('steps down when it cannot renew for the renew deadline', async () => {
    const client = new MemoryObjects();
    const clock = new FakeClock();
    const a = candidate('a', client, clock);
    a.elector.start();
    await tick(clock, 1_000);
    expect(a.elector.isLeader()).to.be.true;
    client.failWith = new Error('connection refused');
    await tick(clock, 6_000);
    expect(a.elector.isLeader()).to.be.true;
    await tick(clock, 4_000);
    expect(a.elector.isLeader()).to.be.false;
    expect(a.log).to.deep.equal(['leader=a', 'started', 'stopped']);
    await a.elector.stop();
  });

  it('refuses a renew deadline not shorter than the lease duration', () => {
    expect(() => new LeaderElector({ namespace: 'n', name: 'l', identity: 'a', leaseDurationMs: 5000, renewDeadlineMs: 5000 }, { onStartedLeading: () => undefined, onStoppedLeading: () => undefined }, { client: new MemoryObjects(), logger: createMemoryLogger() })).to.throw(/renewDeadline/);
  });
});
