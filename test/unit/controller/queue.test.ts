import { expect } from 'chai';
import { WorkQueue } from '../../../src/controller/queue.js';
import { backoffDelay } from '../../../src/runtime/backoff.js';
import { FakeClock } from '../support/fake-clock.js';

function queueWithClock(options: { baseDelayMs?: number; maxDelayMs?: number } = {}): { queue: WorkQueue; clock: FakeClock; depths: number[] } {
  const clock = new FakeClock();
  const depths: number[] = [];
  return { queue: new WorkQueue({ clock, ...options, onDepth: (depth) => depths.push(depth) }), clock, depths };
}

describe('WorkQueue', () => {
  it('de-duplicates a key added several times before it is taken', async () => {
    const { queue } = queueWithClock();
    queue.add('ns/a');
    queue.add('ns/a');
    queue.add('ns/b');
    expect(queue.len()).to.equal(2);
    expect(await queue.get()).to.equal('ns/a');
    expect(await queue.get()).to.equal('ns/b');
    expect(queue.len()).to.equal(0);
  });

  it('never hands one key to two workers: a key added while processing comes back once, after done()', async () => {
    const { queue } = queueWithClock();
    queue.add('ns/a');
    const first = await queue.get();
    queue.add('ns/a');
    queue.add('ns/a');
    expect(queue.len()).to.equal(0);
    let second: string | undefined;
    const waiting = queue.get().then((key) => (second = key));
    await Promise.resolve();
    expect(second).to.equal(undefined);
    queue.done(first ?? '');
    await waiting;
    expect(second).to.equal('ns/a');
    queue.done('ns/a');
    expect(queue.len()).to.equal(0);
  });

  it('wakes a waiting worker when a key is added', async () => {
    const { queue } = queueWithClock();
    const pending = queue.get();
    queue.add('x');
    expect(await pending).to.equal('x');
    expect(queue.isProcessing('x')).to.be.true;
  });

  it('grows the retry delay exponentially per key and caps it', () => {
    const { queue, clock } = queueWithClock({ baseDelayMs: 5, maxDelayMs: 100 });
    const delays = [1, 2, 3, 4, 5, 6, 7].map(() => queue.addRateLimited('k'));
    expect(delays).to.deep.equal([5, 10, 20, 40, 80, 100, 100]);
    expect(queue.numRequeues('k')).to.equal(7);
    expect(queue.addRateLimited('other')).to.equal(5);
    queue.forget('k');
    expect(queue.numRequeues('k')).to.equal(0);
    expect(queue.addRateLimited('k')).to.equal(5);
    expect(clock.pending()[0]).to.equal(5);
  });

  it('uses controller-runtime defaults: 5 ms doubling up to 1000 s', () => {
    expect(backoffDelay(0, 5, 1_000_000)).to.equal(5);
    expect(backoffDelay(10, 5, 1_000_000)).to.equal(5120);
    expect(backoffDelay(30, 5, 1_000_000)).to.equal(1_000_000);
    expect(backoffDelay(5000, 5, 1_000_000)).to.equal(1_000_000);
  });

  it('queues a rate-limited key only when its delay has passed', async () => {
    const { queue, clock } = queueWithClock({ baseDelayMs: 10 });
    queue.addRateLimited('k');
    queue.addRateLimited('k');
    clock.advance(9);
    expect(queue.len()).to.equal(0);
    clock.advance(1);
    expect(queue.len()).to.equal(1);
    expect(await queue.get()).to.equal('k');
  });

  it('addAfter keeps the earliest schedule of a key', () => {
    const { queue, clock } = queueWithClock();
    queue.addAfter('k', 1000);
    queue.addAfter('k', 5000);
    queue.addAfter('k', 200);
    expect(clock.pending()).to.deep.equal([200]);
    clock.advance(200);
    expect(queue.len()).to.equal(1);
    clock.advance(5000);
    expect(queue.len()).to.equal(1);
  });

  it('addAfter with zero or a negative delay adds at once', () => {
    const { queue } = queueWithClock();
    queue.addAfter('k', 0);
    expect(queue.len()).to.equal(1);
  });

  it('a delayed key added directly meanwhile is processed once', async () => {
    const { queue, clock } = queueWithClock();
    queue.addAfter('k', 100);
    queue.add('k');
    clock.advance(100);
    expect(queue.len()).to.equal(1);
    expect(await queue.get()).to.equal('k');
  });

  it('shutdown wakes waiting workers with undefined, drops keys and cancels timers', async () => {
    const { queue, clock, depths } = queueWithClock();
    const waiting = queue.get();
    queue.shutdown();
    expect(await waiting).to.equal(undefined);
    queue.add('k');
    queue.addAfter('later', 100);
    expect(queue.len()).to.equal(0);
    expect(clock.pending()).to.deep.equal([]);
    expect(await queue.get()).to.equal(undefined);
    expect(queue.isShutDown()).to.be.true;
    expect(depths.at(-1)).to.equal(0);
  });

  it('reports its depth', async () => {
    const { queue, depths } = queueWithClock();
    queue.add('a');
    queue.add('b');
    await queue.get();
    expect(depths).to.deep.equal([1, 2, 1]);
  });
});
