import { expect } from 'chai';
import type { Condition } from '../../../src/api/types.js';
import { findCondition, isConditionTrue, jsonEqual, removeCondition, setCondition, statusChanged, timestamp } from '../../../src/controller/conditions.js';

const t0 = new Date('2025-01-01T10:00:00.123Z');
const t1 = new Date('2025-01-01T11:00:00Z');

describe('conditions', () => {
  it('adds a condition with lastTransitionTime now, at second precision', () => {
    const conditions = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'Compiled', message: 'ok', observedGeneration: 3 }, t0);
    expect(conditions).to.deep.equal([{ type: 'Ready', status: 'True', reason: 'Compiled', message: 'ok', lastTransitionTime: '2025-01-01T10:00:00Z', observedGeneration: 3 }]);
  });

  it('keeps lastTransitionTime when the status stays, even if reason and message change', () => {
    const first = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: 'a' }, t0);
    const second = setCondition(first, { type: 'Ready', status: 'False', reason: 'B', message: 'b', observedGeneration: 2 }, t1);
    expect(second[0]).to.include({ reason: 'B', message: 'b', lastTransitionTime: '2025-01-01T10:00:00Z', observedGeneration: 2 });
  });

  it('moves lastTransitionTime when the status flips', () => {
    const first = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: 'a' }, t0);
    const second = setCondition(first, { type: 'Ready', status: 'True', reason: 'A', message: 'a' }, t1);
    expect(second[0]?.lastTransitionTime).to.equal(timestamp(t1));
  });

  it('keeps other conditions and their order, and does not mutate its input', () => {
    const input: Condition[] = [
      { type: 'A', status: 'True', reason: 'r', message: '', lastTransitionTime: '2024-01-01T00:00:00Z' },
      { type: 'B', status: 'True', reason: 'r', message: '', lastTransitionTime: '2024-01-01T00:00:00Z' },
    ];
    const copy = structuredClone(input);
    const out = setCondition(input, { type: 'A', status: 'False', reason: 'x', message: 'y' }, t1);
    expect(out.map((c) => c.type)).to.deep.equal(['A', 'B']);
    expect(input).to.deep.equal(copy);
    expect(findCondition(out, 'B')).to.deep.equal(input[1]);
    expect(isConditionTrue(out, 'A')).to.be.false;
    expect(isConditionTrue(out, 'B')).to.be.true;
    expect(removeCondition(out, 'A').map((c) => c.type)).to.deep.equal(['B']);
  });

  it('statusChanged compares JSON values regardless of key order', () => {
    expect(statusChanged({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).to.be.false;
    expect(statusChanged({ a: 1 }, { a: 2 })).to.be.true;
    expect(statusChanged(undefined, {})).to.be.false;
    expect(statusChanged({ a: undefined }, {})).to.be.false;
    expect(statusChanged({ a: [1, 2] }, { a: [2, 1] })).to.be.true;
    expect(jsonEqual([1], { 0: 1 })).to.be.false;
  });

  it('a condition set again with the same values is no change', () => {
    const first = setCondition([], { type: 'Ready', status: 'True', reason: 'A', message: 'a' }, t0);
    const again = setCondition(first, { type: 'Ready', status: 'True', reason: 'A', message: 'a' }, t1);
    expect(statusChanged({ conditions: first }, { conditions: again })).to.be.false;
  });
});
