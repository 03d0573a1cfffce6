import { expect } from 'chai';
import { celVariables } from '../../../src/core/cel.js';
import { evaluateCondition, evaluateConditions, scheduleActive, type CompiledSchedule, type ConditionContext } from '../../../src/core/conditions.js';
import { compilePolicy, type CompiledPolicy } from '../../../src/core/policy.js';
import { createSnapshot } from '../../../src/core/snapshot.js';
import type { MetricSample } from '../../../src/core/types.js';
import { deployment, metricReader, policyObject } from './fixtures.js';

function policy(conditions: { enforceWhen?: unknown[]; relaxWhen?: unknown[]; failurePolicy?: string }): CompiledPolicy {
  const r = compilePolicy(policyObject('p', { match: [{}], invariants: [{ name: 'i', protect: {} }], ...conditions }));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

function schedule(cron: string, duration: string, timeZone?: string): CompiledSchedule {
  const c = policy({ relaxWhen: [{ schedule: { cron, duration, ...(timeZone === undefined ? {} : { timeZone }) } }] }).relaxWhen[0];
  if (c?.kind !== 'schedule') throw new Error('not a schedule');
  return c;
}

const standby = { ...deployment('prod', 'pg-standby', 1), status: { readyReplicas: 1 } };
const snapshot = createSnapshot([standby]);
const samples: Record<string, MetricSample> = {
  errors: { value: 0.005, ageSeconds: 30 },
  load: { value: 0.9, ageSeconds: 10 },
  old: { value: 0.005, ageSeconds: 121 },
  almost: { value: 0.005, ageSeconds: 119 },
  broken: { error: 'HTTP 503 from prometheus' },
};

function ctx(now: string): ConditionContext {
  const t = Date.parse(now);
  return { now: t, metrics: metricReader(samples), vars: celVariables({ after: snapshot, before: snapshot, now: t }) };
}

describe('core/conditions', () => {
  describe('schedule windows (cron + duration + IANA time zone)', () => {
    const cases: [string, CompiledSchedule, string, boolean][] = [
      // scenarios 10 and 11: nightly window 22:00 UTC for 8h
      ['outside the nightly window (scenario 10)', schedule('0 22 * * *', '8h', 'UTC'), '2026-11-23T09:45:00Z', false],
      ['inside the nightly window (scenario 11)', schedule('0 22 * * *', '8h', 'UTC'), '2026-11-23T23:30:00Z', true],
      ['inside after midnight', schedule('0 22 * * *', '8h'), '2026-11-24T05:59:59Z', true],
      ['a fire exactly at now counts', schedule('0 22 * * *', '8h'), '2026-11-23T22:00:00Z', true],
      ['the window is half-open: ends at fire + duration', schedule('0 22 * * *', '8h'), '2026-11-24T06:00:00Z', false],
      ['weekly: Saturday 02:00 for 2h', schedule('0 2 * * 6', '2h'), '2026-11-28T03:00:00Z', true],
      ['weekly: not on Sunday', schedule('0 2 * * 6', '2h'), '2026-11-29T03:00:00Z', false],
      // Europe/Berlin: 02:00 local is 00:00Z in summer (CEST, +2) and 01:00Z in winter (CET, +1)
      ['Berlin summer: 02:00 CEST = 00:00Z', schedule('0 2 * * *', '1h', 'Europe/Berlin'), '2026-07-01T00:30:00Z', true],
      ['Berlin summer: not yet 01:00Z window of winter', schedule('0 2 * * *', '1h', 'Europe/Berlin'), '2026-07-01T01:30:00Z', false],
      ['Berlin winter: 02:00 CET = 01:00Z', schedule('0 2 * * *', '1h', 'Europe/Berlin'), '2026-01-15T01:30:00Z', true],
      ['Berlin winter: 00:30Z is before the fire', schedule('0 2 * * *', '1h', 'Europe/Berlin'), '2026-01-15T00:30:00Z', false],
      // DST ends 2026-10-25 03:00 CEST → 02:00 CET. 01:00 CEST = 23:00Z; 2h of elapsed time ends at 01:00Z.
      ['across the autumn change: still inside after 1h59m', schedule('0 1 * * *', '2h', 'Europe/Berlin'), '2026-10-25T00:59:00Z', true],
      ['across the autumn change: closed after 2h elapsed (wall clock 02:01 CET)', schedule('0 1 * * *', '2h', 'Europe/Berlin'), '2026-10-25T01:01:00Z', false],
      // DST starts 2026-03-29 02:00 CET → 03:00 CEST. 01:00 CET = 00:00Z; the window lasts to 02:00Z (04:00 CEST).
      ['across the spring change: inside at 03:30 CEST (01:30Z)', schedule('0 1 * * *', '2h', 'Europe/Berlin'), '2026-03-29T01:30:00Z', true],
      ['across the spring change: closed at 02:00Z', schedule('0 1 * * *', '2h', 'Europe/Berlin'), '2026-03-29T02:00:00Z', false],
      ['the day after the spring change fires at 23:00Z', schedule('0 1 * * *', '2h', 'Europe/Berlin'), '2026-03-29T23:30:00Z', true],
      ['a time skipped by the spring change does not fire that day', schedule('30 2 * * *', '1h', 'Europe/Berlin'), '2026-03-29T01:15:00Z', false],
      ['New York: 09:00 EST = 14:00Z', schedule('0 9 * * 1-5', '8h', 'America/New_York'), '2026-11-23T14:10:00Z', true],
      ['New York: 13:50Z is before the fire', schedule('0 9 * * 1-5', '8h', 'America/New_York'), '2026-11-23T13:50:00Z', false],
    ];
    for (const [name, s, now, active] of cases) {
      it(`${name} (${now})`, () => expect(scheduleActive(s, Date.parse(now)).active).to.equal(active));
    }

    it('says when it last fired', () => {
      expect(scheduleActive(schedule('0 22 * * *', '8h'), Date.parse('2026-11-23T23:30:00Z')).message).to.include('in window, last fired 2026-11-23T22:00:00.000Z');
    });
  });

  describe('single conditions', () => {
    const p = policy({
      relaxWhen: [
        { expression: "cluster.get('apps/v1', 'Deployment', 'prod', 'pg-standby').status.readyReplicas >= 1" },
        { expression: "cluster.get('apps/v1', 'Deployment', 'prod', 'missing').status.readyReplicas >= 1" },
        { metric: { url: 'http://prom:9090', query: 'errors', below: 0.01 } },
        { metric: { url: 'http://prom:9090', query: 'load', below: 0.5 } },
        { metric: { url: 'http://prom:9090', query: 'load', above: 0.5 } },
        { metric: { url: 'http://prom:9090', query: 'load', above: 0.5, below: 0.8 } },
        { metric: { url: 'http://prom:9090', query: 'old', below: 0.01 } },
        { metric: { url: 'http://prom:9090', query: 'almost', below: 0.01 } },
        { metric: { url: 'http://prom:9090', query: 'old', below: 0.01, staleAfter: '5m' } },
        { metric: { url: 'http://prom:9090', query: 'broken', below: 0.01 } },
        { metric: { url: 'http://prom:9090', query: 'never-fetched', below: 0.01 } },
        { expression: 'now > timestamp("2026-11-23T00:00:00Z")' },
      ],
    });
    const expected: [string, 'true' | 'false' | 'unknown', string][] = [
      ['expression on cluster state holds', 'true', 'is true'],
      ['expression that errors is undecidable', 'unknown', 'No such key'],
      ['metric below holds', 'true', '= 0.005, is below 0.01'],
      ['metric below does not hold', 'false', 'is not below 0.5'],
      ['metric above holds', 'true', 'is above 0.5'],
      ['metric in a range', 'false', 'is not below 0.8 and above 0.5'],
      ['metric older than the default staleAfter (2m)', 'unknown', 'stale (121s old, staleAfter 2m)'],
      ['metric just fresh enough', 'true', 'is below'],
      ['metric with its own staleAfter', 'true', 'is below'],
      ['metric fetch error', 'unknown', 'HTTP 503'],
      ['metric never fetched', 'unknown', 'no sample yet'],
      ['expression on now', 'true', 'is true'],
    ];
    expected.forEach(([name, state, text], i) => {
      it(name, () => {
        const c = p.relaxWhen[i];
        if (c === undefined) throw new Error('missing condition');
        const o = evaluateCondition(c, ctx('2026-11-23T10:00:00Z'));
        expect(o.state).to.equal(state);
        expect(o.message).to.include(text);
      });
    });
  });

  describe('enforceWhen (all must hold) and relaxWhen (any one relaxes)', () => {
    const night = { schedule: { cron: '0 22 * * *', duration: '8h' } };
    const always = { expression: 'true' };
    const never = { expression: 'false' };
    const broken = { metric: { url: 'http://prom:9090', query: 'broken', below: 1 } };
    const cases: [string, Parameters<typeof policy>[0], string, { applies: boolean; relaxedBy?: string; undecidable?: RegExp }][] = [
      ['no conditions: applies', {}, '2026-11-23T10:00:00Z', { applies: true }],
      ['enforceWhen all hold', { enforceWhen: [always, always] }, '2026-11-23T10:00:00Z', { applies: true }],
      ['enforceWhen one fails', { enforceWhen: [always, never] }, '2026-11-23T10:00:00Z', { applies: false }],
      ['relaxWhen none holds', { relaxWhen: [never, night] }, '2026-11-23T10:00:00Z', { applies: true }],
      ['relaxWhen the schedule holds: relaxed, and says which', { relaxWhen: [never, night] }, '2026-11-23T23:00:00Z', { applies: false, relaxedBy: 'relaxWhen[1]' }],
      ['relaxWhen the first of two that hold', { relaxWhen: [always, night] }, '2026-11-23T23:00:00Z', { applies: false, relaxedBy: 'relaxWhen[0]' }],
      ['enforceWhen fails before relaxWhen matters', { enforceWhen: [never], relaxWhen: [always] }, '2026-11-23T10:00:00Z', { applies: false }],
      ['undecidable relaxWhen, failurePolicy Fail: enforced', { relaxWhen: [broken] }, '2026-11-23T10:00:00Z', { applies: true, undecidable: /relaxWhen\[0\]: .*HTTP 503.*failurePolicy Fail: the policy is enforced/ }],
      ['undecidable relaxWhen, failurePolicy Ignore: not applied', { relaxWhen: [broken], failurePolicy: 'Ignore' }, '2026-11-23T10:00:00Z', { applies: false, undecidable: /failurePolicy Ignore/ }],
      ['undecidable enforceWhen, failurePolicy Fail: enforced', { enforceWhen: [broken] }, '2026-11-23T10:00:00Z', { applies: true, undecidable: /enforceWhen\[0\]/ }],
      ['undecidable enforceWhen, failurePolicy Ignore: not applied', { enforceWhen: [broken], failurePolicy: 'Ignore' }, '2026-11-23T10:00:00Z', { applies: false, undecidable: /enforceWhen\[0\]/ }],
      ['an undecidable relaxWhen does not hide one that holds', { relaxWhen: [broken, always] }, '2026-11-23T10:00:00Z', { applies: false, relaxedBy: 'relaxWhen[1]', undecidable: /relaxWhen\[0\]/ }],
    ];
    for (const [name, conditions, now, want] of cases) {
      it(name, () => {
        const r = evaluateConditions(policy(conditions), ctx(now));
        expect(r.applies).to.equal(want.applies);
        expect(r.relaxedBy).to.equal(want.relaxedBy);
        if (want.undecidable === undefined) expect(r.undecidable).to.equal(undefined);
        else expect(r.undecidable).to.match(want.undecidable);
      });
    }

    it('records every condition as a check', () => {
      const r = evaluateConditions(policy({ enforceWhen: [always], relaxWhen: [broken, night, never] }), ctx('2026-11-23T23:00:00Z'));
      expect(r.checks.map((c) => [c.source, c.result])).to.deep.equal([
        ['condition/p/enforceWhen[0]', 'pass'],
        ['condition/p/relaxWhen[0]', 'error'],
        ['condition/p/relaxWhen[1]', 'relaxed'],
        ['condition/p/relaxWhen[2]', 'fail'],
      ]);
    });
  });
});
