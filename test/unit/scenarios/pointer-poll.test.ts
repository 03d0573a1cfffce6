import { expect } from 'chai';
import { jsonEqual, lookupPointer, pointerTokens } from '../../../src/scenario/pointer.js';
import type { Timing } from '../../scenarios/poll.js';
import { pollWithin } from '../../scenarios/poll.js';

describe('JSON pointer', () => {
  const doc = { metadata: { labels: { 'suture.dev/lease': 'op-a.pg', 'a~b': 'tilde' } }, status: { conflictsWith: [{ name: 'pg' }], zero: 0, nil: null } };

  it('splits and unescapes tokens', () => {
    expect(pointerTokens('')).to.deep.equal([]);
    expect(pointerTokens('/a/b~1c/d~0e')).to.deep.equal(['a', 'b/c', 'd~e']);
    expect(() => pointerTokens('a/b')).to.throw(/must start with/);
  });

  it('finds values, escaped keys, array items, falsy values and null', () => {
    expect(lookupPointer(doc, '/metadata/labels/suture.dev~1lease')).to.deep.equal({ found: true, value: 'op-a.pg' });
    expect(lookupPointer(doc, '/metadata/labels/a~0b')).to.deep.equal({ found: true, value: 'tilde' });
    expect(lookupPointer(doc, '/status/conflictsWith/0/name')).to.deep.equal({ found: true, value: 'pg' });
    expect(lookupPointer(doc, '/status/zero')).to.deep.equal({ found: true, value: 0 });
    expect(lookupPointer(doc, '/status/nil')).to.deep.equal({ found: true, value: null });
    expect(lookupPointer(doc, '')).to.deep.equal({ found: true, value: doc });
  });

  it('reports missing paths, out-of-range and non-numeric indices, paths through scalars', () => {
    for (const path of ['/spec', '/status/conflictsWith/1', '/status/conflictsWith/x', '/status/conflictsWith/01', '/status/zero/a', '/status/nil/a']) {
      expect(lookupPointer(doc, path), path).to.deep.equal({ found: false });
    }
  });

  it('compares JSON values by type and structure', () => {
    expect(jsonEqual(5, 5)).to.equal(true);
    expect(jsonEqual(5, '5')).to.equal(false);
    expect(jsonEqual('True', true)).to.equal(false);
    expect(jsonEqual({ a: [1, { b: 2 }], c: null }, { c: null, a: [1, { b: 2 }] })).to.equal(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: undefined })).to.equal(false);
    expect(jsonEqual([1, 2], [2, 1])).to.equal(false);
    expect(jsonEqual(null, {})).to.equal(false);
    expect(jsonEqual([], {})).to.equal(false);
  });
});

/** A fake clock: sleep advances it; nothing waits for real. */
function fakeTiming(): Timing & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: (ms) => {
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

describe('pollWithin', () => {
  it('returns at once when the first attempt is good', async () => {
    const timing = fakeTiming();
    const result = await pollWithin(() => Promise.resolve({ ok: true, value: 1 }), { withinMs: 10_000 }, timing);
    expect(result).to.deep.equal({ ok: true, value: 1 });
    expect(timing.slept).to.deep.equal([]);
  });

  it('polls at the interval until the attempt is good', async () => {
    const timing = fakeTiming();
    let calls = 0;
    const result = await pollWithin(() => Promise.resolve({ ok: ++calls === 3, value: calls }), { withinMs: 10_000, intervalMs: 250 }, timing);
    expect(result).to.deep.equal({ ok: true, value: 3 });
    expect(timing.slept).to.deep.equal([250, 250]);
  });

  it('gives up after within and returns the last attempt', async () => {
    const timing = fakeTiming();
    let calls = 0;
    const result = await pollWithin(() => Promise.resolve({ ok: false, value: ++calls }), { withinMs: 1_000, intervalMs: 300 }, timing);
    expect(result.ok).to.equal(false);
    expect(timing.slept).to.deep.equal([300, 300, 300, 100]);
    expect(result.value).to.equal(5);
  });

  it('makes one attempt when within is 0', async () => {
    const timing = fakeTiming();
    let calls = 0;
    await pollWithin(() => Promise.resolve({ ok: false, value: ++calls }), { withinMs: 0 }, timing);
    expect(calls).to.equal(1);
  });

  it('is bounded even when the clock does not move', async () => {
    let calls = 0;
    const frozen: Timing = { now: () => 0, sleep: () => Promise.resolve() };
    await pollWithin(() => Promise.resolve({ ok: false, value: ++calls }), { withinMs: 1_000, intervalMs: 250 }, frozen);
    expect(calls).to.equal(6);
  });
});
