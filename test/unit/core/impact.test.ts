import { expect } from 'chai';
import type { KubeObject } from '../../../src/api/types.js';
import { computeImpact } from '../../../src/core/impact.js';
import { createSnapshot, describeObject } from '../../../src/core/snapshot.js';
import type { Impact } from '../../../src/core/types.js';
import {
  configMap,
  createRequest,
  crd,
  custom,
  deleteRequest,
  deployment,
  edited,
  ns,
  owned,
  pod,
  pvc,
  replicaSet,
  saUser,
  scaleRequest,
  secret,
  sts,
  updateRequest,
} from './fixtures.js';

const operator = saUser('ops', 'operator');

function names(objects: readonly KubeObject[]): string[] {
  return objects.map(describeObject);
}

function vias(impact: Impact): Record<string, string> {
  return Object.fromEntries(impact.affected.map((a) => [describeObject(a.object), a.via]));
}

describe('core/impact', () => {
  // zk: a StatefulSet with pods, a Deployment → ReplicaSet → Pods, a ConfigMap owned by the Deployment, a Secret
  // owned by both the Deployment and an object elsewhere that survives.
  const zk = ns('zk');
  const web = sts('zk', 'web', { replicas: 3, claims: ['data'], whenDeleted: 'Delete', whenScaled: 'Delete' });
  const webPods = [0, 1, 2].map((i) => owned(pod('zk', `web-${i}`), web));
  const webClaims = [0, 1, 2].map((i) => pvc('zk', `data-web-${i}`));
  const staleClaim = pvc('zk', 'data-web-7');
  const front = deployment('zk', 'front', 2);
  const frontRs = owned(replicaSet('zk', 'front-1'), front);
  const frontPods = ['a', 'b'].map((x) => owned(pod('zk', `front-1-${x}`), frontRs));
  const frontConfig = owned(configMap('zk', 'front-config'), front);
  const keeper = configMap('other', 'keeper');
  const shared = owned(secret('zk', 'shared'), front, keeper);
  const outside = pod('other', 'bystander');
  const objects = [zk, ns('other'), web, ...webPods, ...webClaims, staleClaim, front, frontRs, ...frontPods, frontConfig, keeper, shared, outside];
  const snap = createSnapshot(objects);

  describe('CREATE', () => {
    it('creates the object', () => {
      const cm = configMap('zk', 'new');
      const impact = computeImpact(createRequest(cm, operator), snap);
      expect(impact.created).to.deep.equal([cm]);
      expect(impact.affected).to.deep.equal([{ object: cm, effect: 'CREATE', via: 'target' }]);
      expect(impact.counts).to.deep.equal({ created: 1, changed: 0, deleted: 0 });
    });

    it('takes the namespace from the request when the body leaves it out', () => {
      const bare = configMap('zk', 'bare');
      delete bare.metadata.namespace;
      const req = { ...createRequest(bare, operator), namespace: 'zk' };
      expect(names(computeImpact(req, snap).created)).to.deep.equal(['ConfigMap zk/bare']);
    });

    it('an eviction removes its pod', () => {
      const req = { ...createRequest(pod('zk', 'web-0'), operator), subResource: 'eviction', kind: { group: 'policy', version: 'v1', kind: 'Eviction' } };
      const impact = computeImpact(req, snap);
      expect(names(impact.deleted)).to.deep.equal(['Pod zk/web-0']);
      expect(impact.created).to.deep.equal([]);
    });

    it('a token request creates nothing that matters', () => {
      const req = { ...createRequest(pod('zk', 'web-0'), operator), subResource: 'token' };
      expect(computeImpact(req, snap).affected).to.deep.equal([]);
    });
  });

  describe('DELETE', () => {
    it('of a plain object removes it alone', () => {
      const impact = computeImpact(deleteRequest(webClaims[0] as KubeObject, operator), snap);
      expect(names(impact.deleted)).to.deep.equal(['PersistentVolumeClaim zk/data-web-0']);
      expect(impact.affected[0]?.via).to.equal('target');
    });

    it('without oldObject takes the target from the snapshot, else a stand-in', () => {
      const req = deleteRequest(front, operator);
      delete req.oldObject;
      expect(computeImpact(req, snap).deleted[0]).to.equal(front);
      const gone = deleteRequest(pvc('zk', 'never-cached'), operator);
      delete gone.oldObject;
      expect(names(computeImpact(gone, snap).deleted)).to.deep.equal(['PersistentVolumeClaim zk/never-cached']);
    });

    it('cascades through ownerReferences, breadth-first, in Background and Foreground alike', () => {
      for (const propagationPolicy of ['Background', 'Foreground', undefined] as const) {
        const impact = computeImpact(deleteRequest(front, operator, propagationPolicy === undefined ? {} : { propagationPolicy }), snap);
        expect(names(impact.deleted), String(propagationPolicy)).to.deep.equal([
          'apps/Deployment zk/front',
          'apps/ReplicaSet zk/front-1',
          'ConfigMap zk/front-config',
          'Pod zk/front-1-a',
          'Pod zk/front-1-b',
        ]);
        expect(vias(impact)['Pod zk/front-1-a']).to.equal('ownerReference of apps/ReplicaSet zk/front-1');
      }
    });

    it('keeps a dependent whose other owner survives', () => {
      const impact = computeImpact(deleteRequest(front, operator), snap);
      expect(names(impact.deleted)).not.to.include('Secret zk/shared');
    });

    it('removes a dependent once its last owner goes, whichever owner is reached first', () => {
      const a = configMap('x', 'a');
      const b = configMap('x', 'b');
      const both = owned(secret('x', 'both'), a, b);
      const parent = deployment('x', 'parent');
      const aOwned = owned(a, parent);
      const bOwned = owned(b, parent);
      const s = createSnapshot([ns('x'), parent, aOwned, bOwned, both]);
      const impact = computeImpact(deleteRequest(parent, operator), s);
      expect(names(impact.deleted)).to.deep.equal(['apps/Deployment x/parent', 'ConfigMap x/a', 'ConfigMap x/b', 'Secret x/both']);
    });

    it('treats an owner missing from the snapshot as gone (conservative)', () => {
      const ghostOwned = owned(secret('x', 's'), configMap('x', 'owner'), configMap('x', 'not-cached'));
      const owner = configMap('x', 'owner');
      const s = createSnapshot([owner, ghostOwned]);
      expect(names(computeImpact(deleteRequest(owner, operator), s).deleted)).to.include('Secret x/s');
    });

    it('with Orphan keeps the dependents', () => {
      const impact = computeImpact(deleteRequest(front, operator, { propagationPolicy: 'Orphan' }), snap);
      expect(names(impact.deleted)).to.deep.equal(['apps/Deployment zk/front']);
    });

    it('of a StatefulSet removes its pods, and its PVCs under whenDeleted: Delete', () => {
      const impact = computeImpact(deleteRequest(web, operator), snap);
      expect(names(impact.deleted)).to.have.members([
        'apps/StatefulSet zk/web',
        'PersistentVolumeClaim zk/data-web-0',
        'PersistentVolumeClaim zk/data-web-1',
        'PersistentVolumeClaim zk/data-web-2',
        'Pod zk/web-0',
        'Pod zk/web-1',
        'Pod zk/web-2',
      ]);
      expect(vias(impact)['PersistentVolumeClaim zk/data-web-1']).to.equal('PVC retention of StatefulSet zk/web');
      expect(names(impact.deleted)).not.to.include('PersistentVolumeClaim zk/data-web-7');
    });

    it('of a StatefulSet under whenDeleted: Retain keeps its PVCs', () => {
      const retained = sts('zk', 'web', { replicas: 3, claims: ['data'] });
      const impact = computeImpact(deleteRequest(retained, operator), createSnapshot(objects.map((o) => (o === web ? retained : o))));
      expect(impact.deleted.filter((o) => o.kind === 'PersistentVolumeClaim')).to.deep.equal([]);
    });

    it('of a namespace removes everything in it and the cascades, once each', () => {
      const impact = computeImpact(deleteRequest(zk, operator), snap);
      const inZk = objects.filter((o) => o.metadata.namespace === 'zk');
      expect(impact.deleted).to.have.length(1 + inZk.length);
      expect(impact.deleted[0]).to.equal(zk);
      expect(names(impact.deleted)).to.include.members(names(inZk));
      expect(names(impact.deleted)).not.to.include('Pod other/bystander');
      expect(vias(impact)['Pod zk/front-1-a']).to.equal('namespace zk');
      expect(new Set(names(impact.deleted)).size).to.equal(impact.deleted.length);
    });

    it('of a namespace follows ownerReferences out of it, and Orphan does not spare its content', () => {
      const owner = configMap('a', 'owner');
      const elsewhere = owned(configMap('b', 'dependent'), owner);
      const s = createSnapshot([ns('a'), ns('b'), owner, elsewhere]);
      const impact = computeImpact(deleteRequest(ns('a'), operator, { propagationPolicy: 'Orphan' }), s);
      expect(names(impact.deleted)).to.deep.equal(['Namespace a', 'ConfigMap a/owner', 'ConfigMap b/dependent']);
      expect(vias(impact)['ConfigMap b/dependent']).to.equal('ownerReference of ConfigMap a/owner');
    });

    it('of a CRD removes its custom resources in every namespace, not those of other CRDs', () => {
      const certs = crd('certmanager.k8s.io', 'Certificate', 'certificates');
      const challenges = crd('certmanager.k8s.io', 'Challenge', 'challenges');
      const c1 = custom('certmanager.k8s.io/v1alpha1', 'Certificate', 'shop', 'shop-tls');
      const c2 = custom('certmanager.k8s.io/v1alpha1', 'Certificate', 'blog', 'blog-tls');
      const tlsSecret = owned(secret('shop', 'shop-tls'), c1);
      const ch = custom('certmanager.k8s.io/v1alpha1', 'Challenge', 'shop', 'ch');
      const s = createSnapshot([certs, challenges, c1, c2, tlsSecret, ch]);
      const impact = computeImpact(deleteRequest(certs, operator), s);
      expect(names(impact.deleted)).to.deep.equal([
        'apiextensions.k8s.io/CustomResourceDefinition certificates.certmanager.k8s.io',
        'certmanager.k8s.io/Certificate shop/shop-tls',
        'certmanager.k8s.io/Certificate blog/blog-tls',
        'Secret shop/shop-tls',
      ]);
      expect(vias(impact)['certmanager.k8s.io/Certificate blog/blog-tls']).to.equal('CRD certificates.certmanager.k8s.io');
      expect(names(computeImpact(deleteRequest(challenges, operator), s).deleted)).to.have.length(2);
    });

    it('survives ownership cycles', () => {
      const a = configMap('c', 'a');
      const b = owned(configMap('c', 'b'), a);
      const aCyclic = owned(a, b);
      const s = createSnapshot([aCyclic, b]);
      const impact = computeImpact(deleteRequest(aCyclic, operator), s);
      expect(names(impact.deleted)).to.deep.equal(['ConfigMap c/a', 'ConfigMap c/b']);
    });

    it('caps the lists but counts everything', () => {
      const impact = computeImpact(deleteRequest(zk, operator), snap, { maxObjects: 3 });
      expect(impact.affected).to.have.length(3);
      expect(impact.deleted).to.have.length(3);
      const inZk = objects.filter((o) => o.metadata.namespace === 'zk').length;
      expect(impact.counts).to.deep.equal({ created: 0, changed: 0, deleted: 1 + inZk });
    });
  });

  describe('UPDATE', () => {
    it('changes the object, before and after', () => {
      const after = edited(front, (d) => {
        d.metadata.labels = { x: 'y' };
      });
      const impact = computeImpact(updateRequest(front, after, operator), snap);
      expect(impact.changed).to.deep.equal([{ object: after, before: front, effect: 'UPDATE', via: 'target' }]);
      expect(impact.deleted).to.deep.equal([]);
    });

    it('of the status subresource changes the object', () => {
      const after = edited(web, (s) => {
        s.status = { readyReplicas: 1 };
      });
      const impact = computeImpact(updateRequest(web, after, operator, 'status'), snap);
      expect(impact.changed[0]?.object).to.equal(after);
    });

    it('through /scale changes the parent spec.replicas', () => {
      const impact = computeImpact(scaleRequest(front, 4, operator), snap);
      expect(impact.changed).to.have.length(1);
      const change = impact.changed[0];
      expect(describeObject(change?.object as KubeObject)).to.equal('apps/Deployment zk/front');
      expect((change?.object.spec as { replicas: number }).replicas).to.equal(4);
      expect((change?.before?.spec as { replicas: number }).replicas).to.equal(2);
      expect(impact.deleted).to.deep.equal([]);
    });

    it('through /scale of an uncached parent uses a stand-in of the resource kind', () => {
      const impact = computeImpact(scaleRequest(deployment('zk', 'gone', 3), 1, operator), snap);
      expect(describeObject(impact.changed[0]?.object as KubeObject)).to.equal('apps/Deployment zk/gone');
    });

    it('a StatefulSet scale-down removes the last ordinals pods and, under whenScaled: Delete, their PVCs', () => {
      const impact = computeImpact(scaleRequest(web, 1, operator), snap);
      expect(impact.changed).to.have.length(1);
      expect(names(impact.deleted)).to.deep.equal([
        'Pod zk/web-1',
        'Pod zk/web-2',
        'PersistentVolumeClaim zk/data-web-1',
        'PersistentVolumeClaim zk/data-web-2',
      ]);
      expect(vias(impact)['PersistentVolumeClaim zk/data-web-2']).to.equal('PVC retention of StatefulSet zk/web');
      expect(vias(impact)['Pod zk/web-2']).to.equal('scale-down of apps/StatefulSet zk/web');
    });

    it('a StatefulSet scale-down through a spec update does the same; whenScaled: Retain keeps the PVCs', () => {
      const down = edited(web, (s) => {
        (s.spec as { replicas: number }).replicas = 2;
      });
      expect(names(computeImpact(updateRequest(web, down, operator), snap).deleted)).to.deep.equal(['Pod zk/web-2', 'PersistentVolumeClaim zk/data-web-2']);
      const retain = sts('zk', 'web', { replicas: 3, claims: ['data'] });
      const retainDown = edited(retain, (s) => {
        (s.spec as { replicas: number }).replicas = 2;
      });
      expect(names(computeImpact(updateRequest(retain, retainDown, operator), snap).deleted)).to.deep.equal(['Pod zk/web-2']);
    });

    it('a scale-up removes nothing', () => {
      expect(computeImpact(scaleRequest(web, 5, operator), snap).deleted).to.deep.equal([]);
    });

    it('removing the last ownerReference orphans the object: a change, not a removal', () => {
      const pod0 = webPods[0] as KubeObject;
      const orphaned = edited(pod0, (p) => {
        delete p.metadata.ownerReferences;
      });
      const impact = computeImpact(updateRequest(pod0, orphaned, operator), snap);
      expect(impact.deleted).to.deep.equal([]);
      expect(impact.changed).to.have.length(1);
    });

    it('an ownerReference to an owner that does not exist hands the object and its dependents to the garbage collector', () => {
      const dangling = edited(frontRs, (r) => {
        r.metadata.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'ghost', uid: 'no-such-uid' }];
      });
      const impact = computeImpact(updateRequest(frontRs, dangling, operator), snap);
      expect(names(impact.deleted)).to.deep.equal(['apps/ReplicaSet zk/front-1', 'Pod zk/front-1-a', 'Pod zk/front-1-b']);
      // Only the ready count of the Deployment that controlled them drops.
      expect(impact.changed.map((a) => [describeObject(a.object), a.statusOnly])).to.deep.equal([['apps/Deployment zk/front', true]]);
    });

    it('an ownerReference to an existing owner is a change', () => {
      const adopted = owned(frontConfig, web);
      const impact = computeImpact(updateRequest(frontConfig, adopted, operator), snap);
      expect(impact.deleted).to.deep.equal([]);
      expect(impact.changed).to.have.length(1);
    });

    it('removing the last finalizer of a terminating object completes its deletion', () => {
      const terminating = edited(frontRs, (r) => {
        r.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
        r.metadata.finalizers = ['example.com/hold'];
      });
      const released = edited(terminating, (r) => {
        r.metadata.finalizers = [];
      });
      const impact = computeImpact(updateRequest(terminating, released, operator), snap);
      expect(names(impact.deleted)).to.deep.equal(['apps/ReplicaSet zk/front-1', 'Pod zk/front-1-a', 'Pod zk/front-1-b']);
    });
  });

  it('CONNECT affects nothing', () => {
    const req = { ...createRequest(pod('zk', 'web-0'), operator), operation: 'CONNECT' as const, subResource: 'exec' };
    expect(computeImpact(req, snap)).to.deep.include({ affected: [], counts: { created: 0, changed: 0, deleted: 0 } });
  });
});
