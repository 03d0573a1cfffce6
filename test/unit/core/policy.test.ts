import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import type { SuturePolicy } from '../../../src/api/types.js';
import { compileException, compilePolicy, type CompiledPolicy } from '../../../src/core/policy.js';
import { validatePolicy } from '../../../src/core/validate.js';
import { exceptionObject, policyObject } from './fixtures.js';

const root = join(import.meta.dirname, '..', '..', '..');
/** The project's incident corpus. */
const scenarios = join(root, 'test', 'scenarios');

function compiled(spec: Record<string, unknown>): CompiledPolicy {
  const r = compilePolicy(policyObject('p', spec));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

describe('core/policy', () => {
  describe('compilePolicy applies the defaults', () => {
    const p = compiled({
      match: [{ kinds: ['Pod'] }],
      invariants: [
        { name: 'b', budget: { count: 3, window: '10m' } },
        { name: 'e', expression: "request.operation != 'DELETE'", messageExpression: "'no ' + request.name" },
      ],
      relaxWhen: [{ schedule: { cron: '0 2 * * 6', duration: '1h30m' } }, { metric: { url: 'http://prom:9090', query: 'up', below: 1 } }],
    });
    const cases: [string, unknown, unknown][] = [
      ['enforcement', p.enforcement, 'Deny'],
      ['failurePolicy', p.failurePolicy, 'Fail'],
      ['operations', p.operations, ['CREATE', 'UPDATE', 'DELETE']],
      ['subjects', p.subjects, []],
      ['budget per', (p.invariants[0] as { per: string }).per, 'Subject'],
      ['budget window seconds', (p.invariants[0] as { windowSeconds: number }).windowSeconds, 600],
      ['invariant kinds', p.invariants.map((i) => i.kind), ['budget', 'expression']],
      ['schedule time zone', (p.relaxWhen[0] as { timeZone: string }).timeZone, 'UTC'],
      ['schedule duration seconds', (p.relaxWhen[0] as { durationSeconds: number }).durationSeconds, 5400],
      ['metric staleAfter seconds', (p.relaxWhen[1] as { staleAfterSeconds: number }).staleAfterSeconds, 120],
      ['enforceWhen', p.enforceWhen, []],
      ['name and uid', [p.name, p.uid], ['p', 'uid:suturepolicy::p']],
    ];
    for (const [what, actual, expected] of cases) it(what, () => expect(actual).to.deep.equal(expected));

    it('compiles CEL once into programs', () => {
      const e = p.invariants[1];
      expect(e?.kind).to.equal('expression');
      if (e?.kind === 'expression') expect(e.program.source).to.equal("request.operation != 'DELETE'");
      expect(e?.messageExpression?.resultType).to.equal('string');
    });
  });

  it('keeps what the policy says over the defaults', () => {
    const p = compiled({
      enforcement: 'Warn',
      failurePolicy: 'Ignore',
      operations: ['UPDATE', 'UPDATE'],
      subjects: [{ kind: 'User', name: 'alice' }],
      match: [{}],
      invariants: [
        { name: 'b', budget: { count: 1, window: '1h', per: 'Policy' } },
        { name: 'a', expression: 'true', avert: { set: [{ path: '/spec/replicas', value: '2' }, { path: '/metadata/labels/x', value: 'yes' }, { path: '/spec/y', valueExpression: 'object.spec.x' }] } },
      ],
      enforceWhen: [{ schedule: { cron: '@daily', duration: '2h', timeZone: 'Europe/Berlin' } }],
    });
    expect([p.enforcement, p.failurePolicy, p.operations, p.subjects]).to.deep.equal(['Warn', 'Ignore', ['UPDATE'], [{ kind: 'User', name: 'alice' }]]);
    expect((p.invariants[0] as { per: string }).per).to.equal('Policy');
    const avert = p.invariants[1]?.avert ?? [];
    expect(avert.map((a) => a.value)).to.deep.equal([2, 'yes', undefined]);
    expect(avert[2]?.valueExpression?.source).to.equal('object.spec.x');
    expect((p.enforceWhen[0] as { timeZone: string }).timeZone).to.equal('Europe/Berlin');
  });

  it('returns the same errors as validatePolicy for an invalid policy', () => {
    const bad = policyObject('p', { match: [{}], invariants: [{ name: 'x', expression: 'object.' }, { name: 'x', protect: {}, maxCascade: { count: 1 } }] });
    const r = compilePolicy(bad);
    expect(r.ok).to.equal(false);
    if (!r.ok) {
      expect(r.errors).to.deep.equal(validatePolicy(bad));
      expect(r.errors.map((e) => e.path)).to.deep.equal(['spec.invariants[0].expression', 'spec.invariants[1]', 'spec.invariants[1].name']);
    }
  });

  describe('the policies of the incident scenarios compile cleanly', function () {
    const files = readdirSync(scenarios).filter((f) => f.endsWith('.yaml'));
    it('finds the corpus', () => {
      expect(files.length).to.be.at.least(24);
    });
    for (const file of files) {
      it(file, () => {
        const scenario = parse(readFileSync(join(scenarios, file), 'utf8')) as { suture?: { kind: string }[] };
        const policies = (scenario.suture ?? []).filter((o): o is SuturePolicy => o.kind === 'SuturePolicy');
        for (const policy of policies) {
          const r = compilePolicy(policy);
          expect(r.ok, JSON.stringify(r.ok ? [] : r.errors)).to.equal(true);
          if (r.ok) expect(r.policy.invariants.length).to.equal(policy.spec.invariants.length);
        }
      });
    }
  });

  describe('compileException', () => {
    const now = Date.parse('2026-11-23T09:00:00Z');
    const spec = { policies: ['protect'], leases: [{ namespace: 'ops', name: 'db' }], subjects: [{ kind: 'User', name: 'alice' }], expiresAt: '2026-11-23T10:00:00Z', reason: 'INC-1' };

    it('compiles a valid exception', () => {
      const r = compileException(exceptionObject('x', spec), now);
      expect(r.ok).to.equal(true);
      if (r.ok) {
        expect(r.exception).to.include({ name: 'x', expiresAt: Date.parse('2026-11-23T10:00:00Z'), reason: 'INC-1', expired: false });
        expect(r.exception.leases).to.deep.equal(['ops/db']);
        expect(r.exception.match).to.deep.equal([]);
      }
    });

    it('compiles an exception whose time has passed as expired (validateException refuses it at admission)', () => {
      const r = compileException(exceptionObject('x', spec), Date.parse('2026-11-23T11:00:00Z'));
      expect(r.ok && r.exception.expired).to.equal(true);
    });

    it('refuses one beyond the maximum duration', () => {
      const r = compileException(exceptionObject('x', spec), now, 1800);
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.errors.map((e) => e.path)).to.deep.equal(['spec.expiresAt']);
    });

    it('refuses one without reason', () => {
      const r = compileException(exceptionObject('x', { ...spec, reason: undefined }), now);
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.errors).to.deep.equal([{ path: 'spec.reason', message: 'Required value' }]);
    });
  });
});
