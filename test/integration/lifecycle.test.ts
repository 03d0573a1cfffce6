import { CoreV1Api } from '@kubernetes/client-node';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { expect } from 'chai';
import { cluster } from './cluster.js';
import { createNamespace, deleteNamespace, eventually, isGone, uniqueName } from './support.js';

/** Creates `owner` and a `dependent` ConfigMap whose ownerReference points at it; returns the dependent's name. */
async function ownerAndDependent(core: CoreV1Api, namespace: string, owner: string): Promise<string> {
  const created = await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: owner }, data: { role: 'owner' } } });
  const dependent = `${owner}-dependent`;
  const ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: owner, uid: created.metadata?.uid ?? '' }];
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: dependent, ownerReferences }, data: { role: 'dependent' } } });
  return dependent;
}

describe('namespace deletion and garbage collection (kube-controller-manager)', () => {
  it('deletes a namespace with its objects within 60 s', async () => {
    const kc = cluster().kubeConfig;
    const core = kc.makeApiClient(CoreV1Api);
    const namespace = await createNamespace(kc, 'it-nsdel');
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'settings' }, data: { a: '1' } } });
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'token' }, stringData: { b: '2' } } });

    await core.deleteNamespace({ name: namespace });
    const terminating = await core.readNamespace({ name: namespace }).catch(() => undefined);
    // Either still Terminating (the namespace controller is emptying it) or already gone.
    if (terminating !== undefined) expect(terminating.status?.phase).to.equal('Terminating');
    await eventually(`namespace ${namespace} gone`, () => isGone(core.readNamespace({ name: namespace })), 60_000);
    expect((await core.listNamespacedConfigMap({ namespace })).items).to.be.empty;
    expect((await core.listNamespacedSecret({ namespace })).items).to.be.empty;
  });

  describe('ownerReferences', () => {
    let namespace: string;
    beforeEach(async () => {
      namespace = await createNamespace(cluster().kubeConfig, 'it-gc');
    });
    afterEach(async () => {
      await deleteNamespace(cluster().kubeConfig, namespace);
    });

    it('garbage-collects the dependents of an owner deleted with Background propagation', async () => {
      const core = cluster().kubeConfig.makeApiClient(CoreV1Api);
      const owner = uniqueName('owner');
      const dependent = await ownerAndDependent(core, namespace, owner);

      await core.deleteNamespacedConfigMap({ name: owner, namespace, propagationPolicy: 'Background' });
      await eventually(`dependent ${dependent} collected`, () => isGone(core.readNamespacedConfigMap({ name: dependent, namespace })), 60_000);
      expect(await isGone(core.readNamespacedConfigMap({ name: owner, namespace }))).to.equal(true);
    });

    it('keeps the dependents, without the ownerReference, of an owner deleted with Orphan propagation', async () => {
      const core = cluster().kubeConfig.makeApiClient(CoreV1Api);
      const owner = uniqueName('owner');
      const dependent = await ownerAndDependent(core, namespace, owner);

      await core.deleteNamespacedConfigMap({ name: owner, namespace, propagationPolicy: 'Orphan' });
      // The owner carries the orphan finalizer until the garbage collector has released every dependent.
      await eventually(`owner ${owner} deleted`, () => isGone(core.readNamespacedConfigMap({ name: owner, namespace })), 60_000);
      const kept: V1ConfigMap = await core.readNamespacedConfigMap({ name: dependent, namespace });
      expect(kept.data).to.deep.equal({ role: 'dependent' });
      expect(kept.metadata?.ownerReferences ?? []).to.be.empty;
    });
  });
});
