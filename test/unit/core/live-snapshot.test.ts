// LiveSnapshot answers every query exactly as a snapshot built from scratch over the same objects, after any
// sequence of upserts and removes.
import { expect } from 'chai';
import type { KubeObject } from '../../../src/api/types.js';
import { LiveSnapshot } from '../../../src/core/live-snapshot.js';
import { createSnapshot, objectKeyOf } from '../../../src/core/snapshot.js';
import { matchesLabelSelector, parseLabelSelector } from '../../../src/core/selectors.js';
import type { LabelTest, Snapshot } from '../../../src/core/types.js';
import { configMap, edited, labelled, ns, owned, pod, pvc, sts } from './fixtures.js';

function labelTest(selector: string): LabelTest {
  const parsed = parseLabelSelector(selector);
  return { key: selector, matches: (labels) => matchesLabelSelector(parsed, labels) };
}
const SELECTORS = ['tier=db', 'tier', '!tier', 'app in (db,web)'].map(labelTest);

const names = (list: readonly KubeObject[]): string[] => list.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`).sort();

function sameAnswers(live: Snapshot, objects: KubeObject[]): void {
  const fresh = createSnapshot(objects);
  expect(live.size).to.equal(fresh.size);
  for (const o of objects) {
    expect(live.get(objectKeyOf(o))).to.deep.equal(o);
    expect(live.getByUid(o.metadata.uid ?? '')).to.deep.equal(o);
    expect(names(live.dependents(o.metadata.uid ?? ''))).to.deep.equal(names(fresh.dependents(o.metadata.uid ?? '')));
  }
  for (const namespace of ['a', 'b', 'none']) {
    expect(names(live.inNamespace(namespace))).to.deep.equal(names(fresh.inNamespace(namespace)));
    expect(live.namespaceLabels(namespace)).to.deep.equal(fresh.namespaceLabels(namespace));
    for (const [group, kind] of [['', 'Pod'], ['', 'ConfigMap'], ['apps', 'StatefulSet']] as const) {
      expect(names(live.list(group, kind, namespace))).to.deep.equal(names(fresh.list(group, kind, namespace)));
      expect(names(live.list(group, kind))).to.deep.equal(names(fresh.list(group, kind)));
      for (const s of SELECTORS) {
        expect(names(live.listMatching(group, kind, namespace, s))).to.deep.equal(names(fresh.listMatching(group, kind, namespace, s)));
        expect(names(live.listMatching(group, kind, undefined, s))).to.deep.equal(names(fresh.listMatching(group, kind, undefined, s)));
      }
    }
  }
  expect(live.kindOfResource('apps', 'statefulsets')?.kind).to.equal('StatefulSet');
}

describe('core/live-snapshot', () => {
  const set = sts('a', 'db');
  const base = [ns('a', { tier: 'app' }), ns('b'), set, owned(pod('a', 'db-0'), set), owned(pvc('a', 'data-db-0'), set), configMap('b', 'settings')];

  it('answers like a fresh snapshot after filling', () => {
    const live = new LiveSnapshot();
    for (const o of base) live.upsert(o);
    sameAnswers(live, base);
  });

  it('answers like a fresh snapshot after updates that move labels, owners and namespaces', () => {
    const live = new LiveSnapshot();
    for (const o of base) live.upsert(o);
    const relabelled = labelled(ns('a'), { tier: 'db' });
    const orphaned = edited(base[3] as KubeObject, (p) => delete p.metadata.ownerReferences);
    live.upsert(relabelled);
    live.upsert(orphaned);
    sameAnswers(live, [relabelled, base[1], set, orphaned, base[4], base[5]] as KubeObject[]);
  });

  it('answers like a fresh snapshot after removals, and forgets a whole kind', () => {
    const live = new LiveSnapshot();
    for (const o of base) live.upsert(o);
    live.remove(set);
    live.remove(set); // twice is harmless
    sameAnswers(live, base.filter((o) => o !== set));
    live.removeKind('', 'Pod');
    sameAnswers(live, base.filter((o) => o !== set && o.kind !== 'Pod'));
  });

  it('returns the same list object while a bucket is unchanged, and a new one after a change', () => {
    const live = new LiveSnapshot();
    for (const o of base) live.upsert(o);
    const first = live.inNamespace('a');
    expect(live.inNamespace('a')).to.equal(first);
    live.upsert(configMap('a', 'new'));
    expect(live.inNamespace('a')).to.not.equal(first);
    expect(live.inNamespace('a')).to.have.length(first.length + 1);
  });

  it('keeps a selector view up to date once asked for: objects relabelled into and out of it, removed, re-added', () => {
    const live = new LiveSnapshot();
    for (const o of base) live.upsert(o);
    const db = labelTest('tier=db');
    expect(live.listMatching('', 'ConfigMap', 'b', db)).to.deep.equal([]);
    const tagged = labelled(configMap('b', 'settings'), { tier: 'db' });
    live.upsert(tagged);
    expect(names(live.listMatching('', 'ConfigMap', 'b', db))).to.deep.equal(['ConfigMap/b/settings']);
    expect(names(live.listMatching('', 'ConfigMap', undefined, db))).to.deep.equal(['ConfigMap/b/settings']);
    live.upsert(labelled(configMap('b', 'settings'), { tier: 'web' }));
    expect(live.listMatching('', 'ConfigMap', 'b', db)).to.deep.equal([]);
    live.upsert(tagged);
    live.remove(tagged);
    expect(live.listMatching('', 'ConfigMap', 'b', db)).to.deep.equal([]);
    expect(live.listMatching('', 'ConfigMap', undefined, db)).to.deep.equal([]);
  });
});
