// The supervised informer on the real API server: sync, handlers, stripping, restart after a broken watch, freshness.
import { Watch } from '@kubernetes/client-node';
import { expect } from 'chai';
import type { KubeObject } from '../../src/api/types.js';
import type { Informer, InformerEvent } from '../../src/state/informer.js';
import { LAST_APPLIED_ANNOTATION, createInformer } from '../../src/state/informer.js';
import type { ObjectClient } from '../../src/kube/client.js';
import { createObjectClient } from '../../src/kube/client.js';
import { createMemoryLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { cluster } from './cluster.js';
import { createNamespace, deleteNamespace, eventually } from './support.js';

const configMap = (namespace: string, name: string, extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { namespace, name, ...extra },
  data: { v: '1' },
});

/** A Watch whose first `breaks` connections fail with a 500 shortly after they open. */
class BreakingWatch extends Watch {
  connections = 0;
  constructor(
    private breaks: number,
    kc = cluster().kubeConfig,
  ) {
    super(kc);
  }

  override async watch(path: string, query: Record<string, string | number | boolean | undefined>, callback: (phase: string, object: unknown, raw?: unknown) => void, done: (err: unknown) => void): Promise<AbortController> {
    this.connections += 1;
    let finished = false;
    const once = (err: unknown): void => {
      if (finished) return;
      finished = true;
      done(err);
    };
    const controller = await super.watch(path, query, callback, once);
    if (this.breaks > 0) {
      this.breaks -= 1;
      setTimeout(() => {
        once(Object.assign(new Error('injected: connection reset'), { statusCode: 500 }));
        controller.abort();
      }, 50);
    }
    return controller;
  }
}

describe('Informer (real API server)', () => {
  let client: ObjectClient;
  let namespace: string;
  const informers: Informer[] = [];

  const start = async (options: { labelSelector?: string; watch?: Watch; delays?: number[] } = {}): Promise<{ informer: Informer; events: InformerEvent[]; metrics: ReturnType<typeof createMetrics> }> => {
    const metrics = createMetrics();
    const informer = createInformer(
      { apiVersion: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespace, ...(options.labelSelector === undefined ? {} : { labelSelector: options.labelSelector }) },
      {
        kubeConfig: cluster().kubeConfig,
        logger: createMemoryLogger(),
        metrics,
        ...(options.watch === undefined ? {} : { watch: options.watch }),
        delay: async (ms) => {
          options.delays?.push(ms);
          await new Promise((resolve) => setTimeout(resolve, 10));
        },
      },
      { restartBaseMs: 1000 },
    );
    informers.push(informer);
    const events: InformerEvent[] = [];
    informer.onEvent((event) => events.push(event));
    await informer.start();
    expect(await informer.waitForSync(10_000)).to.be.true;
    return { informer, events, metrics };
  };

  beforeEach(async () => {
    client = createObjectClient(cluster().kubeConfig);
    namespace = await createNamespace(cluster().kubeConfig, 'it-informer');
  });
  afterEach(async () => {
    await Promise.all(informers.splice(0).map((informer) => informer.stop()));
    await deleteNamespace(cluster().kubeConfig, namespace);
  });

  it('syncs existing objects, stripped of managedFields and the last-applied annotation', async () => {
    await client.create(configMap(namespace, 'one', { annotations: { [LAST_APPLIED_ANNOTATION]: '{}', keep: 'me' } }));
    await client.create(configMap(namespace, 'two', { annotations: { [LAST_APPLIED_ANNOTATION]: '{}' } }));
    const { informer, events, metrics } = await start();
    expect(informer.hasSynced()).to.be.true;
    const names = informer.list().map((o) => o.metadata.name).sort();
    expect(names).to.include.members(['one', 'two']);
    const one = informer.get(`${namespace}/one`);
    expect(one?.metadata).to.not.have.property('managedFields');
    expect(one?.metadata.annotations).to.deep.equal({ keep: 'me' });
    expect(informer.get(`${namespace}/two`)?.metadata).to.not.have.property('annotations');
    expect(events.filter((e) => e.type === 'add').map((e) => e.key)).to.include.members([`${namespace}/one`, `${namespace}/two`]);
    expect(informer.lastSyncResourceVersion()).to.match(/^\d+$/);
    expect((await metrics.registry.getSingleMetricAsString('suture_informer_synced'))).to.contain('suture_informer_synced{kind="ConfigMap"} 1');
  });

  it('calls handlers with keys on add, update and delete', async () => {
    const { informer, events } = await start();
    await client.create(configMap(namespace, 'live'));
    await client.mergePatch({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'live' }, { data: { v: '2' } });
    await client.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'live' });
    const key = `${namespace}/live`;
    await eventually('add, update and delete seen', () => Promise.resolve(events.filter((e) => e.key === key).length >= 3), 10_000);
    expect(events.filter((e) => e.key === key).map((e) => e.type)).to.deep.equal(['add', 'update', 'delete']);
    const update = events.find((e) => e.key === key && e.type === 'update');
    expect((update?.object as { data?: unknown }).data).to.deep.equal({ v: '2' });
    expect(update?.object.metadata).to.not.have.property('managedFields');
    expect(informer.get(key)).to.equal(undefined);
  });

  it('honours a label selector', async () => {
    await client.create(configMap(namespace, 'yes', { labels: { pick: 'me' } }));
    await client.create(configMap(namespace, 'no'));
    const { informer } = await start({ labelSelector: 'pick=me' });
    expect(informer.list().map((o) => o.metadata.name)).to.deep.equal(['yes']);
  });

  it('restarts with backoff after the watch breaks, and keeps delivering events', async () => {
    const watch = new BreakingWatch(2);
    const delays: number[] = [];
    const { informer, events, metrics } = await start({ watch, delays });
    await eventually('two restarts', () => Promise.resolve(watch.connections >= 3), 10_000);
    expect(delays.slice(0, 2)).to.deep.equal([1000, 2000]);
    await client.create(configMap(namespace, 'after-restart'));
    await eventually('event after restart', () => Promise.resolve(events.some((e) => e.key === `${namespace}/after-restart`)), 10_000);
    expect(informer.get(`${namespace}/after-restart`)).to.exist;
    expect(await metrics.registry.getSingleMetricAsString('suture_informer_restarts_total')).to.contain('suture_informer_restarts_total{kind="ConfigMap"} 2');
  });
});
