import { expect } from 'chai';
import type { ReconcileContext, ReconcileResult } from '../../../src/controller/reconciler.js';
import { Controller, TerminalError } from '../../../src/controller/reconciler.js';
import { createMemoryLogger } from '../../../src/observability/logger.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';

type Behaviour = (key: string, ctx: ReconcileContext) => Promise<ReconcileResult | void> | ReconcileResult | void;

function setup(behaviour: Behaviour, workers = 1): { controller: Controller; clock: FakeClock; logger: ReturnType<typeof createMemoryLogger>; metrics: ReturnType<typeof createMetrics>; calls: string[] } {
  const clock = new FakeClock();
  const logger = createMemoryLogger();
  const metrics = createMetrics();
  const calls: string[] = [];
  let n = 0;
  const controller = new Controller(
    {
      reconcile: async (key, ctx) => {
        calls.push(key);
        return behaviour(key, ctx);
      },
    },
    { logger, metrics, clock, newId: () => `id-${++n}` },
    { name: 'test', workers, baseDelayMs: 10, maxDelayMs: 1000 },
  );
  return { controller, clock, logger, metrics, calls };
}

async function metricValue(metrics: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = (metric?.values as { labels: Record<string, string>; value: number }[] | undefined)?.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return value?.value ?? 0;
}

describe('Controller (reconcile runtime)', () => {
  it('reconciles an enqueued key once, with an id in its log lines and metrics', async () => {
    const { controller, logger, metrics, calls } = setup((_key, ctx) => ctx.logger.info('Did something'));
    controller.start();
    controller.enqueue('ns/a');
    await flushPromises();
    expect(calls).to.deep.equal(['ns/a']);
    expect(logger.entries.find((e) => e.message === 'Did something')?.fields).to.include({ controller: 'test', key: 'ns/a', reconcileId: 'id-1' });
    expect(await metricValue(metrics, 'suture_reconcile_total', { controller: 'test', result: 'success' })).to.equal(1);
    await controller.stop();
  });

  it('retries a throwing reconcile with growing backoff, then forgets on success', async () => {
    let failures = 2;
    const attempts: number[] = [];
    const { controller, clock, calls, metrics } = setup((_key, ctx) => {
      attempts.push(ctx.attempt);
      if (failures-- > 0) throw new Error('boom');
    });
    controller.start();
    controller.enqueue('k');
    await flushPromises();
    expect(clock.pending()).to.deep.equal([10]);
    clock.advance(10);
    await flushPromises();
    expect(clock.pending()).to.deep.equal([20]);
    clock.advance(20);
    await flushPromises();
    expect(calls).to.have.length(3);
    expect(attempts).to.deep.equal([0, 1, 2]);
    expect(controller.queue.numRequeues('k')).to.equal(0);
    expect(await metricValue(metrics, 'suture_reconcile_total', { result: 'error' })).to.equal(2);
    expect(await metricValue(metrics, 'suture_workqueue_retries_total', { controller: 'test' })).to.equal(2);
    await controller.stop();
  });

  it('does not retry a TerminalError', async () => {
    const { controller, clock, calls, logger } = setup(() => {
      throw new TerminalError('spec.holder is required');
    });
    controller.start();
    controller.enqueue('k');
    await flushPromises();
    expect(calls).to.have.length(1);
    expect(clock.pending()).to.deep.equal([]);
    expect(logger.entries.some((e) => e.level === 'error' && e.fields.error === 'spec.holder is required')).to.be.true;
    await controller.stop();
  });

  it('recovers from a synchronous exception in reconcile', async () => {
    const clock = new FakeClock();
    const controller = new Controller(
      {
        reconcile: () => {
          throw new TypeError('cannot read properties of undefined');
        },
      },
      { logger: createMemoryLogger(), clock },
      { name: 'sync-throw', baseDelayMs: 5 },
    );
    controller.start();
    controller.enqueue('k');
    await flushPromises();
    expect(clock.pending()).to.deep.equal([5]);
    await controller.stop();
  });

  it('requeues after requeueAfter', async () => {
    const { controller, clock, calls } = setup(() => ({ requeueAfter: 30_000 }));
    controller.start();
    controller.enqueue('k');
    await flushPromises();
    expect(clock.pending()).to.deep.equal([30_000]);
    clock.advance(30_000);
    await flushPromises();
    expect(calls).to.have.length(2);
    await controller.stop();
  });

  it('never reconciles one key on two workers at once, and reconciles it again after a change during the run', async () => {
    let release: () => void = () => undefined;
    let running = 0;
    let maxRunning = 0;
    const { controller, calls } = setup(async (key) => {
      if (key !== 'k') return;
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      await new Promise<void>((resolve) => (release = resolve));
      running -= 1;
    }, 4);
    controller.start();
    controller.enqueue('k');
    await flushPromises();
    controller.enqueue('k');
    controller.enqueue('other');
    await flushPromises();
    expect(calls).to.deep.equal(['k', 'other']);
    release();
    await flushPromises();
    expect(calls).to.deep.equal(['k', 'other', 'k']);
    release();
    await flushPromises();
    expect(maxRunning).to.equal(1);
    await controller.stop();
  });

  it('stop() waits for the reconcile in progress', async () => {
    let release: () => void = () => undefined;
    let finished = false;
    const { controller } = setup(async () => {
      await new Promise<void>((resolve) => (release = resolve));
      finished = true;
    });
    controller.start();
    controller.enqueue('k');
    await flushPromises();
    const stopped = controller.stop();
    release();
    await stopped;
    expect(finished).to.be.true;
  });

  it('maps informer events to keys', async () => {
    const { controller, calls } = setup(() => undefined);
    const handle = controller.handler((event) => [event.key, `owner-of/${event.object.metadata.name ?? ''}`]);
    controller.start();
    handle({ type: 'add', key: 'ns/x', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'ns' } } });
    await flushPromises();
    expect(calls).to.deep.equal(['ns/x', 'owner-of/x']);
    await controller.stop();
  });
});
