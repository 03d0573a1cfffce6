import { ApiextensionsV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { V1CustomResourceDefinition } from '@kubernetes/client-node';
import { expect } from 'chai';
import { cluster } from './cluster.js';
import { apiErrorCode, createNamespace, deleteNamespace, eventually, ignoreNotFound, isGone, namespacedCrd } from './support.js';

const group = 'it.suture.dev';

function widgetCrd(plural: string): V1CustomResourceDefinition {
  return namespacedCrd(group, plural, 'Widget', {
    type: 'object',
    properties: { spec: { type: 'object', required: ['size'], properties: { size: { type: 'integer', minimum: 1 } } } },
  }) as unknown as V1CustomResourceDefinition;
}

describe('custom resource definitions', () => {
  it('installs a CRD that becomes Established, then creates and reads a custom resource', async () => {
    const kc = cluster().kubeConfig;
    const extensions = kc.makeApiClient(ApiextensionsV1Api);
    const objects = kc.makeApiClient(CustomObjectsApi);
    const plural = 'widgets';
    const crdName = `${plural}.${group}`;
    const namespace = await createNamespace(kc, 'it-crd');
    try {
      await extensions.createCustomResourceDefinition({ body: widgetCrd(plural) });
      await eventually('CRD Established', async () => {
        const crd = await extensions.readCustomResourceDefinition({ name: crdName });
        return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
      });

      const body = { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } };
      await objects.createNamespacedCustomObject({ group, version: 'v1', namespace, plural, body });
      const read = (await objects.getNamespacedCustomObject({ group, version: 'v1', namespace, plural, name: 'w1' })) as { spec: { size: number }; metadata: { uid?: string } };
      expect(read.spec.size).to.equal(3);
      expect(read.metadata.uid).to.be.a('string').and.not.empty;

      // The schema is enforced by the API server: size must be an integer >= 1.
      const invalid = { ...body, metadata: { name: 'w2' }, spec: { size: 0 } };
      expect(await apiErrorCode(objects.createNamespacedCustomObject({ group, version: 'v1', namespace, plural, body: invalid }))).to.equal(422);
    } finally {
      await deleteNamespace(kc, namespace);
      await ignoreNotFound(extensions.deleteCustomResourceDefinition({ name: crdName }));
      await eventually('CRD deleted', () => isGone(extensions.readCustomResourceDefinition({ name: crdName })));
    }
  });
});
