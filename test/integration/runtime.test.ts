// The runtime pieces together on the real API server: an informer feeding a controller whose reconciler writes
// aggregated Events through the ObjectClient.
import { expect } from 'chai';
import type { KubeObject } from '../../src/api/types.js';
import { createInformer } from '../../src/state/informer.js';
import { Controller } from '../../src/controller/reconciler.js';
import { createObjectClient, splitKey } from '../../src/kube/client.js';
import type { CoreEvent } from '../../src/observability/events.js';
import { createEventRecorder, objectClientEventSink } from '../../src/observability/events.js';
import { createMemoryLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { cluster } from './cluster.js';
import { createNamespace, deleteNamespace, eventually } from './support.js';

describe('runtime: informer → controller → Events (real API server)', () => {
  let namespace: string;
  beforeEach(async () => {
    namespace = await createNamespace(cluster().kubeConfig, 'it-runtime');
  });
  afterEach(async () => {
    await deleteNamespace(cluster().kubeConfig, namespace);
  });

  it('reconciles each changed ConfigMap by key and records one aggregated Event per object', async () => {
    const kc = cluster().kubeConfig;
    const client = createObjectClient(kc);
    const logger = createMemoryLogger();
    const metrics = createMetrics();
    const recorder = createEventRecorder({ sink: objectClientEventSink(client), logger, metrics }, { component: 'suture-it', instance: 'it-0', flushIntervalMs: 200 });
    const informer = createInformer({ apiVersion: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespace }, { kubeConfig: kc, logger, metrics });
    const reconciled: string[] = [];
    const controller = new Controller(
      {
        reconcile: (key) => {
          reconciled.push(key);
          const object = informer.get(key);
          if (object !== undefined) recorder.record(object, { type: 'Normal', reason: 'Observed', message: `saw ${splitKey(key).name} at ${object.metadata.resourceVersion ?? ''}` });
          return Promise.resolve();
        },
      },
      { logger, metrics },
      { name: 'configmaps', workers: 2 },
    );
    informer.onEvent(controller.handler());
    await informer.start();
    expect(await informer.waitForSync(10_000)).to.be.true;
    controller.start();
    try {
      const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name: 'watched' }, data: { n: '0' } };
      await client.create(cm);
      for (let i = 1; i <= 5; i++) await client.mergePatch({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'watched' }, { data: { n: String(i) } });
      await eventually('Event count reaches the reconciles', async () => {
        await recorder.flush();
        const events = await client.list<CoreEvent>('v1', 'Event', { namespace, fieldSelector: 'involvedObject.name=watched' });
        const observed = events.items.filter((e) => e.reason === 'Observed');
        const count = reconciled.filter((k) => k === `${namespace}/watched`).length;
        return observed.length === 1 && observed[0]?.count === count && count >= 1;
      }, 15_000);
      const events = await client.list<CoreEvent>('v1', 'Event', { namespace, fieldSelector: 'involvedObject.name=watched' });
      expect(events.items[0]).to.deep.include({ type: 'Normal', reportingComponent: 'suture-it' });
      expect(events.items[0]?.involvedObject).to.include({ kind: 'ConfigMap', name: 'watched', namespace });
    } finally {
      await controller.stop();
      await informer.stop();
    }
  });
});
