import { expect } from 'chai';
import { BUILTIN_KINDS, createSnapshot, describeObject, groupOf, projectSnapshot } from '../../../src/core/snapshot.js';
import type { Impact } from '../../../src/core/types.js';
import { configMap, crd, custom, deployment, edited, ns, owned, pod, replicaSet, uidOf } from './fixtures.js';

describe('core/snapshot', () => {
  const prod = ns('prod', { env: 'prod' });
  const web = deployment('prod', 'web', 2);
  const rs = owned(replicaSet('prod', 'web-1'), web);
  const p1 = owned(pod('prod', 'web-1-a'), rs);
  const p2 = owned(pod('prod', 'web-1-b'), rs);
  const other = pod('dev', 'x');
  const cert = custom('certmanager.k8s.io/v1', 'Certificate', 'prod', 'tls');
  const objects = [prod, ns('dev'), web, rs, p1, p2, other, cert, crd('certmanager.k8s.io', 'Certificate', 'certificates')];
  const snap = createSnapshot(objects, BUILTIN_KINDS);

  it('takes the group from apiVersion', () => {
    const cases: [string, string][] = [
      ['v1', ''],
      ['apps/v1', 'apps'],
      ['certmanager.k8s.io/v1alpha1', 'certmanager.k8s.io'],
    ];
    for (const [apiVersion, group] of cases) expect(groupOf(apiVersion), apiVersion).to.equal(group);
  });

  it('finds objects by key and uid, cluster-scoped with namespace ""', () => {
    expect(snap.get({ group: 'apps', kind: 'Deployment', namespace: 'prod', name: 'web' })).to.equal(web);
    expect(snap.get({ group: '', kind: 'Namespace', namespace: '', name: 'prod' })).to.equal(prod);
    expect(snap.get({ group: '', kind: 'Deployment', namespace: 'prod', name: 'web' })).to.equal(undefined);
    expect(snap.getByUid(uidOf('Pod', 'prod', 'web-1-a'))).to.equal(p1);
    expect(snap.getByUid('nope')).to.equal(undefined);
    expect(snap.size).to.equal(objects.length);
  });

  it('lists by kind, in one namespace or all, custom kinds included', () => {
    expect(snap.list('', 'Pod', 'prod')).to.have.members([p1, p2]);
    expect(snap.list('', 'Pod')).to.have.members([p1, p2, other]);
    expect(snap.list('', 'Pod', 'nowhere')).to.deep.equal([]);
    expect(snap.list('certmanager.k8s.io', 'Certificate')).to.deep.equal([cert]);
  });

  it('indexes dependents, namespaces and namespace labels', () => {
    expect(snap.dependents(uidOf('ReplicaSet', 'prod', 'web-1'))).to.have.members([p1, p2]);
    expect(snap.dependents(uidOf('Deployment', 'prod', 'web'))).to.deep.equal([rs]);
    expect(snap.inNamespace('prod')).to.have.members([web, rs, p1, p2, cert]);
    expect(snap.namespaceLabels('prod')).to.deep.equal({ env: 'prod' });
    expect(snap.namespaceLabels('dev')).to.deep.equal({});
    expect(snap.namespaceLabels('nowhere')).to.equal(undefined);
  });

  it('knows kinds by kind and by resource, the Suture kinds among them', () => {
    expect(snap.kindOf('apps', 'StatefulSet')?.resource).to.equal('statefulsets');
    expect(snap.kindOfResource('apps', 'deployments')?.kind).to.equal('Deployment');
    expect(snap.kindOf('', 'Namespace')?.namespaced).to.equal(false);
    expect(snap.kindOf('suture.dev', 'SutureLease')).to.deep.include({ resource: 'sutureleases', namespaced: true });
    expect(snap.kindOf('suture.dev', 'SuturePolicy')?.namespaced).to.equal(false);
    expect(snap.kindOf('example.com', 'Nope')).to.equal(undefined);
  });

  it('describes objects readably', () => {
    expect(describeObject(web)).to.equal('apps/Deployment prod/web');
    expect(describeObject(prod)).to.equal('Namespace prod');
    expect(describeObject(p1)).to.equal('Pod prod/web-1-a');
  });

  describe('projectSnapshot', () => {
    const scaled = edited(web, (d) => {
      (d.spec as { replicas: number }).replicas = 5;
    });
    const cm = configMap('prod', 'new');
    const newPod = owned(pod('prod', 'web-1-c'), rs);
    const impact: Impact = {
      affected: [],
      deleted: [p1],
      changed: [{ object: scaled, before: web, effect: 'UPDATE', via: 'target' }],
      created: [cm, newPod],
    };
    const after = projectSnapshot(snap, impact);

    it('removes deleted, replaces changed and adds created objects', () => {
      expect(after.get({ group: '', kind: 'Pod', namespace: 'prod', name: 'web-1-a' })).to.equal(undefined);
      expect(after.getByUid(uidOf('Pod', 'prod', 'web-1-a'))).to.equal(undefined);
      expect(after.get({ group: 'apps', kind: 'Deployment', namespace: 'prod', name: 'web' })).to.equal(scaled);
      expect(after.getByUid(uidOf('Deployment', 'prod', 'web'))).to.equal(scaled);
      expect(after.get({ group: '', kind: 'ConfigMap', namespace: 'prod', name: 'new' })).to.equal(cm);
      expect(after.size).to.equal(snap.size + 1);
    });

    it('reflects the request in lists, dependents and namespaces', () => {
      expect(after.list('', 'Pod', 'prod')).to.have.members([p2, newPod]);
      expect(after.list('', 'Pod')).to.have.members([p2, newPod, other]);
      expect(after.list('apps', 'Deployment')).to.deep.equal([scaled]);
      expect(after.dependents(uidOf('ReplicaSet', 'prod', 'web-1'))).to.have.members([p2, newPod]);
      expect(after.inNamespace('prod')).to.have.members([scaled, rs, p2, cert, cm, newPod]);
      expect(after.inNamespace('dev')).to.deep.equal([other]);
    });

    it('reflects the request in label-selected lists: a relabelled object moves in or out, a new one joins', () => {
      const tagged = (o: typeof cm, tier: string): typeof cm => edited(o, (x) => void (x.metadata.labels = { ...x.metadata.labels, tier }));
      const keep = { key: 'tier=keep', matches: (l: Readonly<Record<string, string>>): boolean => l['tier'] === 'keep' };
      const old = tagged(configMap('prod', 'old'), 'keep');
      const base = createSnapshot([old, tagged(configMap('prod', 'stays'), 'keep')]);
      const relabel = projectSnapshot(base, { affected: [], deleted: [], created: [tagged(cm, 'keep')], changed: [{ object: tagged(old, 'drop'), before: old, effect: 'UPDATE', via: 'target' }] });
      expect(relabel.listMatching('', 'ConfigMap', 'prod', keep).map((o) => o.metadata.name)).to.have.members(['stays', 'new']);
      expect(relabel.listMatching('', 'ConfigMap', undefined, keep).map((o) => o.metadata.name)).to.have.members(['stays', 'new']);
      expect(relabel.listMatching('', 'ConfigMap', 'dev', keep)).to.deep.equal([]);
    });

    it('leaves the snapshot before untouched and passes untouched kinds through', () => {
      expect(snap.list('', 'Pod', 'prod')).to.have.members([p1, p2]);
      expect(after.list('certmanager.k8s.io', 'Certificate')).to.equal(snap.list('certmanager.k8s.io', 'Certificate'));
    });

    it('shows namespace labels after a relabel and none after a namespace delete', () => {
      const relabelled = edited(prod, (n) => {
        n.metadata.labels = { env: 'staging' };
      });
      const relabel = projectSnapshot(snap, { affected: [], created: [], deleted: [], changed: [{ object: relabelled, before: prod, effect: 'UPDATE', via: 'target' }] });
      expect(relabel.namespaceLabels('prod')).to.deep.equal({ env: 'staging' });
      const gone = projectSnapshot(snap, { affected: [], created: [], changed: [], deleted: [prod] });
      expect(gone.namespaceLabels('prod')).to.equal(undefined);
      expect(gone.namespaceLabels('dev')).to.deep.equal({});
    });
  });
});
