import { expect } from 'chai';
import { LEASE_LABEL } from '../../../src/api/constants.js';
import type { KubeObject, LeaseResource, SutureLease, SutureLeaseStatus } from '../../../src/api/types.js';
import { LeaseGrants, leasesMayConflict } from '../../../src/core/lease-grants.js';
import { grantLeases, leaseName, leasesConflict } from '../../../src/core/leases.js';
import { LiveSnapshot } from '../../../src/core/live-snapshot.js';
import { createSnapshot } from '../../../src/core/snapshot.js';
import type { Snapshot } from '../../../src/core/types.js';
import { configMap, deployment, lease, ns, saSubject, secret } from './fixtures.js';

/** mulberry32: a small seeded generator, so a failure names the seed that reproduces it. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const T0 = Date.parse('2026-11-23T09:00:00.000Z');
const NAMESPACES = ['a', 'b', 'c'];
const NAMES = ['x', 'y', 'z', 'xy'];
const LEASE_NAMESPACES = ['ops', 'dev'];

class Gen {
  constructor(readonly next: () => number) {}

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  /** undefined, [], ['*'], or one or two of the values. */
  list(values: readonly string[]): string[] | undefined {
    const r = this.next();
    if (r < 0.3) return undefined;
    if (r < 0.35) return [];
    if (r < 0.4) return ['*'];
    const first = this.pick(values);
    return this.chance(0.3) ? [first, this.pick(values)] : [first];
  }

  time(): string {
    return new Date(T0 + (this.int(120) - 60) * 60_000).toISOString();
  }

  stamp(): string {
    return `${this.pick(LEASE_NAMESPACES)}.l${this.int(10)}`;
  }

  object(): KubeObject {
    const labels: Record<string, string> = {};
    if (this.chance(0.5)) labels['app'] = this.pick(['p', 'q']);
    if (this.chance(0.4)) labels[LEASE_LABEL] = this.stamp();
    const make = this.pick([configMap, secret, deployment] as const);
    const o = make === deployment ? deployment(this.pick(NAMESPACES), this.pick(NAMES)) : make(this.pick(NAMESPACES), this.pick(NAMES));
    return { ...o, metadata: { ...o.metadata, labels } };
  }

  namespace(name: string): KubeObject {
    return ns(name, this.chance(0.5) ? { team: this.pick(['red', 'blue']) } : {});
  }

  resource(): LeaseResource {
    const r: LeaseResource = {};
    const groups = this.list(['', 'apps']);
    const kinds = this.list(['ConfigMap', 'Secret', 'Deployment']);
    const namespaces = this.list(NAMESPACES);
    const names = this.list(NAMES);
    if (groups !== undefined) r.apiGroups = groups;
    if (kinds !== undefined) r.kinds = kinds;
    if (namespaces !== undefined) r.namespaces = namespaces;
    if (names !== undefined) r.names = names;
    if (this.chance(0.15)) r.namePrefixes = [this.pick(['x', 'y', 'z'])];
    if (this.chance(0.2)) r.selector = { matchLabels: { app: this.pick(['p', 'q']) } };
    if (this.chance(0.1)) r.namespaceSelector = { matchLabels: { team: this.pick(['red', 'blue']) } };
    if (this.chance(0.25)) r.fields = [this.pick(['/data', '/data/k', '/metadata/labels', '/spec/replicas'])];
    return r;
  }

  status(): SutureLeaseStatus | undefined {
    const r = this.next();
    if (r < 0.3) return undefined;
    if (r < 0.6) return { phase: 'Granted', grantedAt: this.time() };
    if (r < 0.7) return { phase: 'Expired', grantedAt: this.time() };
    if (r < 0.85) return { phase: 'Conflicted' };
    return { phase: 'Pending' };
  }

  lease(i: number, generation = 1): SutureLease {
    const namespace = this.pick(LEASE_NAMESPACES);
    const spec: Parameters<typeof lease>[2] = { holder: saSubject(namespace, `op-${this.int(3)}`), resources: Array.from({ length: 1 + this.int(2) }, () => this.resource()) };
    if (this.chance(0.2)) spec.access = 'Shared';
    if (this.chance(0.25)) spec.duration = this.pick(['10m', '30m', '0s', '1h', 'soon']);
    if (this.chance(0.15)) spec.renewTime = this.time();
    const l = lease(namespace, `l${i}`, spec, { created: new Date(T0 - this.int(4) * 1000).toISOString(), deleting: this.chance(0.05) });
    const status = this.status();
    return { ...l, metadata: { ...l.metadata, generation }, ...(status === undefined ? {} : { status }) };
  }
}

/** Every lease's grant from both computations. */
function compare(memo: LeaseGrants, leases: readonly SutureLease[], at: { snapshot: Snapshot; now: Date }, where: string): void {
  const { snapshot, now } = at;
  const naive = grantLeases(leases, snapshot, now);
  const fast = memo.grants(leases, snapshot, now);
  for (const l of leases) {
    const key = leaseName(l);
    expect(fast.get(key), `${where}: ${key}`).to.deep.equal(naive.get(key));
  }
}

describe('core/lease-grants', () => {
  it('gives the same grants as grantLeases on random lease sets (seeded)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const g = new Gen(random(seed));
      const objects = [...NAMESPACES.map((n) => g.namespace(n)), ...Array.from({ length: g.int(16) }, () => g.object())];
      const snapshot = createSnapshot(objects);
      const leases = Array.from({ length: 1 + g.int(12) }, (_, i) => g.lease(i));
      compare(new LeaseGrants(), leases, { snapshot, now: new Date(T0 + g.int(120) * 60_000) }, `seed ${seed}`);
    }
  });

  it('leasesMayConflict holds for every pair leasesConflict finds in conflict, either way round (seeded)', () => {
    let conflicts = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const g = new Gen(random(5000 + seed));
      const snapshot = createSnapshot([...NAMESPACES.map((n) => g.namespace(n)), ...Array.from({ length: g.int(16) }, () => g.object())]);
      const leases = Array.from({ length: 2 + g.int(6) }, (_, i) => g.lease(i));
      for (const x of leases) {
        for (const y of leases) {
          if (x === y || !leasesConflict(x, y, snapshot).conflict) continue;
          conflicts++;
          expect(leasesMayConflict(x, y, snapshot), `seed ${5000 + seed}: ${leaseName(x)} / ${leaseName(y)}`).to.be.true;
          expect(leasesMayConflict(y, x, snapshot)).to.be.true;
        }
      }
    }
    expect(conflicts).to.be.above(100);
  });

  it('stays the same as grantLeases while leases, their status, the snapshot and the time change (seeded)', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const g = new Gen(random(1000 + seed));
      const snapshot = new LiveSnapshot();
      for (const n of NAMESPACES) snapshot.upsert(g.namespace(n));
      for (let i = 0; i < 10; i++) snapshot.upsert(g.object());
      let leases = Array.from({ length: 4 + g.int(8) }, (_, i) => g.lease(i));
      let generation = 1;
      let now = T0;
      const memo = new LeaseGrants();
      for (let step = 0; step < 60; step++) {
        const r = g.next();
        const at = g.int(leases.length);
        const current = leases[at];
        if (r < 0.3 && current !== undefined) {
          // A status write: a new object with the same spec.
          const status = g.status();
          leases = leases.map((l, i) => (i === at ? { ...l, metadata: { ...l.metadata }, ...(status === undefined ? { status: undefined } : { status }) } : l));
        } else if (r < 0.4) leases = [...leases, g.lease(leases.length + g.int(5), ++generation)];
        else if (r < 0.5 && leases.length > 1) leases = leases.filter((_, i) => i !== at);
        else if (r < 0.6 && current !== undefined) leases = leases.map((l, i) => (i === at ? { ...g.lease(Number((l.metadata.name ?? 'l0').slice(1)), ++generation), metadata: { ...l.metadata, generation } } : l));
        else if (r < 0.75) snapshot.upsert(g.object());
        else if (r < 0.8) snapshot.upsert(g.namespace(g.pick(NAMESPACES)));
        else if (r < 0.85) {
          const victim = snapshot.list('', 'ConfigMap')[0];
          if (victim !== undefined) snapshot.remove(victim);
        } else now += (g.int(40) - 10) * 60_000;
        compare(memo, leases, { snapshot, now: new Date(now) }, `seed ${1000 + seed} step ${step}`);
        // The same inputs again: answered from what was kept.
        compare(memo, leases, { snapshot, now: new Date(now) }, `seed ${1000 + seed} step ${step} (again)`);
      }
    }
  });

  it('compares only leases that can share an object: 1,000 leases on named ConfigMaps, 100 of them rivals', () => {
    const namespace = 'bench';
    const objects = Array.from({ length: 50 }, (_, i) => configMap(namespace, `cm-${i}`, i % 2 === 0 ? { [LEASE_LABEL]: `${namespace}.lease-${i}` } : {}));
    const snapshot = createSnapshot(objects);
    const leases = Array.from({ length: 1000 }, (_, i) => {
      const target = i >= 900 ? i - 900 : i;
      const created = new Date(T0 + Math.floor(i / 100) * 1000).toISOString();
      return lease(namespace, `lease-${i}`, { holder: saSubject(namespace, `holder-${i}`), resources: [{ apiGroups: [''], kinds: ['ConfigMap'], namespaces: [namespace], names: [`cm-${target}`] }] }, { created });
    });
    const memo = new LeaseGrants();
    const now = new Date(T0 + 3_600_000);
    const grants = memo.grants(leases, snapshot, now);
    expect(memo.stats.comparisons).to.equal(100);
    expect(leases.filter((l) => grants.get(leaseName(l))?.phase === 'Granted')).to.have.length(900);
    expect(grants.get(`${namespace}/lease-950`)?.phase).to.equal('Conflicted');
    expect(grants.get(`${namespace}/lease-50`)?.phase).to.equal('Granted');
    // A status write of one lease re-judges without comparing any pair again; the same inputs judge nothing.
    const written = leases.map((l, i) => (i === 3 ? { ...l, status: { phase: 'Granted' as const, grantedAt: now.toISOString() } } : l));
    memo.grants(written, snapshot, now);
    memo.grants(written, snapshot, new Date(now.getTime() + 1000));
    expect(memo.stats).to.deep.equal({ comparisons: 100, graphs: 1, judgements: 2 });
  });
});
