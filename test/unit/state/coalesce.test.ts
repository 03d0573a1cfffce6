import { expect } from 'chai';
import { ReadCoalescer } from '../../../src/state/coalesce.js';

/** A read whose answer the test gives when it wants, numbered in the order reads are sent. */
function controlledReads(): { run: () => Promise<number>; finish: (n: number) => void; fail: (n: number) => void; sent: () => number } {
  const pending: { resolve: (v: number) => void; reject: (e: unknown) => void }[] = [];
  return {
    run: () => new Promise<number>((resolve, reject) => pending.push({ resolve, reject })),
    finish: (n) => pending[n]?.resolve(n),
    fail: (n) => pending[n]?.reject(new Error(`read ${n} failed`)),
    sent: () => pending.length,
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('state/coalesce', () => {
  it('never answers a caller with a read sent before it asked; callers who asked during one read share the next', async () => {
    const c = new ReadCoalescer();
    const reads = controlledReads();
    const first = c.read('k', reads.run);
    const second = c.read('k', reads.run);
    const third = c.read('k', reads.run);
    expect(reads.sent()).to.equal(1);
    reads.finish(0);
    expect(await first).to.equal(0);
    await tick();
    expect(reads.sent()).to.equal(2); // the next read is sent only once the first has ended
    reads.finish(1);
    expect(await second).to.equal(1);
    expect(await third).to.equal(1);
    expect(c.sent).to.equal(2);
    expect(c.shared).to.equal(1);
  });

  it('keeps different keys apart and starts afresh once nothing is pending', async () => {
    const c = new ReadCoalescer();
    const reads = controlledReads();
    const a = c.read('a', reads.run);
    const b = c.read('b', reads.run);
    expect(reads.sent()).to.equal(2);
    reads.finish(0);
    reads.finish(1);
    expect([await a, await b]).to.deep.equal([0, 1]);
    await tick();
    const again = c.read('a', reads.run);
    expect(reads.sent()).to.equal(3);
    reads.finish(2);
    expect(await again).to.equal(2);
  });

  it('passes a failure to the callers of that read only; the queued callers still get their own read', async () => {
    const c = new ReadCoalescer();
    const reads = controlledReads();
    const first = c.read('k', reads.run);
    const queued = c.read('k', reads.run);
    reads.fail(0);
    let failed = '';
    await first.catch((e: Error) => (failed = e.message));
    expect(failed).to.equal('read 0 failed');
    await tick();
    reads.finish(1);
    expect(await queued).to.equal(1);
  });
});
