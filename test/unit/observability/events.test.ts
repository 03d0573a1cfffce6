import { expect } from 'chai';
import type { KubeObject } from '../../../src/api/types.js';
import type { CoreEvent, EventSink } from '../../../src/observability/events.js';
import { createEventRecorder } from '../../../src/observability/events.js';
import { KubeError } from '../../../src/kube/errors.js';
import { createMemoryLogger } from '../../../src/observability/logger.js';
import { createMetrics } from '../../../src/observability/metrics.js';
import { FakeClock, flushPromises } from '../support/fake-clock.js';

class RecordingSink implements EventSink {
  readonly created: CoreEvent[] = [];
  readonly updates: { name: string; count: number; message: string }[] = [];
  expired = false;
  create(event: CoreEvent): Promise<void> {
    this.created.push(structuredClone(event));
    return Promise.resolve();
  }
  update(_namespace: string, name: string, change: Pick<CoreEvent, 'count' | 'message' | 'lastTimestamp'>): Promise<void> {
    if (this.expired) return Promise.reject(new KubeError('NotFound', 'gone', { code: 404 }));
    this.updates.push({ name, count: change.count, message: change.message });
    return Promise.resolve();
  }
}

const policy: KubeObject = { apiVersion: 'suture.dev/v1alpha1', kind: 'SuturePolicy', metadata: { name: 'protect-pg', uid: 'uid-1' } };
const pvc: KubeObject = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data-pg-0', namespace: 'prod', uid: 'uid-2' } };

function setup(options: { burst?: number } = {}): { sink: RecordingSink; clock: FakeClock; recorder: ReturnType<typeof createEventRecorder>; metrics: ReturnType<typeof createMetrics> } {
  const sink = new RecordingSink();
  const clock = new FakeClock();
  const metrics = createMetrics();
  const recorder = createEventRecorder({ sink, clock, logger: createMemoryLogger(), metrics }, { component: 'suture', instance: 'suture-0', flushIntervalMs: 10_000, ...options });
  return { sink, clock, recorder, metrics };
}

describe('EventRecorder', () => {
  it('writes a core/v1 Event on the object; cluster-scoped objects get theirs in default', async () => {
    const { sink, recorder } = setup();
    recorder.record(pvc, { type: 'Warning', reason: 'Denied', message: 'DELETE denied by policy protect-pg', action: 'Admit' });
    recorder.record(policy, { type: 'Normal', reason: 'Compiled', message: 'ok' });
    await recorder.flush();
    expect(sink.created).to.have.length(2);
    const [first, second] = sink.created;
    expect(first).to.deep.include({ type: 'Warning', reason: 'Denied', count: 1, action: 'Admit', reportingComponent: 'suture', reportingInstance: 'suture-0' });
    expect(first?.involvedObject).to.deep.equal({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'data-pg-0', namespace: 'prod', uid: 'uid-2' });
    expect(first?.metadata.namespace).to.equal('prod');
    expect(first?.metadata.name).to.match(/^data-pg-0\.[0-9a-f]+$/);
    expect(second?.metadata.namespace).to.equal('default');
  });

  it('aggregates a storm of similar events into one Event whose count is updated at most once per interval', async () => {
    const { sink, clock, recorder } = setup();
    for (let i = 1; i <= 500; i++) recorder.record(policy, { type: 'Warning', reason: 'Denied', message: `denial ${i}` });
    await flushPromises();
    expect(sink.created).to.have.length(1);
    expect(sink.updates).to.have.length(0);
    clock.advance(10_000);
    await flushPromises();
    expect(sink.updates).to.deep.equal([{ name: sink.created[0]?.metadata.name, count: 500, message: 'denial 500' }]);
    clock.advance(60_000);
    await flushPromises();
    expect(sink.updates).to.have.length(1);
  });

  it('keeps different reasons and objects apart', async () => {
    const { sink, recorder } = setup();
    recorder.record(policy, { type: 'Warning', reason: 'Denied', message: 'a' });
    recorder.record(policy, { type: 'Warning', reason: 'Warned', message: 'b' });
    recorder.record(pvc, { type: 'Warning', reason: 'Denied', message: 'c' });
    await recorder.flush();
    expect(sink.created.map((e) => e.reason)).to.deep.equal(['Denied', 'Warned', 'Denied']);
  });

  it('starts a new Event after the aggregation window', async () => {
    const { sink, clock, recorder } = setup();
    recorder.record(policy, { type: 'Warning', reason: 'Denied', message: 'a' });
    clock.advance(11 * 60_000);
    recorder.record(policy, { type: 'Warning', reason: 'Denied', message: 'b' });
    await recorder.flush();
    expect(sink.created.map((e) => e.message)).to.deep.equal(['a', 'b']);
  });

  it('rate-limits writes across groups with a token bucket, postponing rather than losing them', async () => {
    const { sink, clock, recorder } = setup({ burst: 3 });
    for (let i = 0; i < 6; i++) recorder.record({ ...pvc, metadata: { ...pvc.metadata, uid: `u${i}`, name: `o${i}` } }, { type: 'Warning', reason: 'Denied', message: 'x' });
    await flushPromises();
    expect(sink.created).to.have.length(3);
    clock.advance(1000);
    await flushPromises();
    expect(sink.created).to.have.length(4);
    clock.advance(2000);
    await flushPromises();
    expect(sink.created).to.have.length(6);
  });

  it('re-creates an aggregated Event that expired on the server', async () => {
    const { sink, clock, recorder } = setup();
    recorder.record(policy, { type: 'Warning', reason: 'Denied', message: 'a' });
    await flushPromises();
    sink.expired = true;
    recorder.record(policy, { type: 'Warning', reason: 'Denied', message: 'b' });
    clock.advance(10_000);
    await flushPromises();
    expect(sink.created.map((e) => [e.message, e.count])).to.deep.equal([
      ['a', 1],
      ['b', 2],
    ]);
  });

  it('never throws when the sink fails; counts the failure', async () => {
    const { recorder, metrics } = setup();
    const failing = createEventRecorder(
      { sink: { create: () => Promise.reject(new Error('down')), update: () => Promise.reject(new Error('down')) }, logger: createMemoryLogger(), metrics },
      { component: 'suture', instance: 'x' },
    );
    failing.record(policy, { type: 'Normal', reason: 'R', message: 'm' });
    await failing.flush();
    await recorder.flush();
    expect(await metrics.registry.getSingleMetricAsString('suture_events_dropped_total')).to.contain('reason="error"} 1');
  });
});
