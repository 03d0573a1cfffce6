import { expect } from 'chai';
import { CelResultTypes, celVariables, compileCel, formatCelIssue, fromCelValue, toCelValue, type CelInput, type CelProgram } from '../../../src/core/cel.js';
import { createSnapshot } from '../../../src/core/snapshot.js';
import { configMap, deleteRequest, deployment, impactOf, affected, labelled, pod, saUser, secret } from './fixtures.js';

function compiled(source: string, type: (typeof CelResultTypes)[keyof typeof CelResultTypes] = CelResultTypes.Any): CelProgram {
  const r = compileCel(source, type);
  if (!r.ok) throw new Error(`${source}: ${formatCelIssue(r.error, source)}`);
  return r.program;
}

const ready = { ...deployment('prod', 'x', 3), status: { readyReplicas: 2 } };
const before = createSnapshot([
  ready,
  labelled(pod('prod', 'p1'), { app: 'pg', tier: 'db' }),
  labelled(pod('prod', 'p2'), { app: 'pg' }),
  labelled(pod('dev', 'p3'), { app: 'pg' }),
  configMap('prod', 'settings'),
]);
const after = createSnapshot([ready, labelled(pod('prod', 'p1'), { app: 'pg', tier: 'db' })]);
const target = secret('prod', 'creds');
const input: CelInput = {
  request: deleteRequest(target, saUser('ops', 'bot')),
  object: { ...deployment('prod', 'x', 3), spec: { replicas: 3, ratio: 0.5, containers: [{ name: 'a' }] } },
  oldObject: null,
  impact: impactOf(affected(target, 'DELETE'), affected(configMap('prod', 'c'), 'DELETE')),
  after,
  before,
  now: Date.parse('2026-11-23T10:00:00Z'),
};
const vars = celVariables(input);

describe('core/cel', () => {
  describe('evaluates Suture’s variables', () => {
    const cases: [string, unknown][] = [
      ['object.spec.replicas >= 2', true],
      ['object.spec.replicas + 1 == 4', true],
      ['object.spec.ratio < 1.0', true],
      ["object.spec.containers.all(c, c.name == 'a')", true],
      ["impact.deleted.all(o, o.kind != 'Secret')", false],
      ['impact.deleted.size()', 2n],
      ['impact.changed.size() == 0 && impact.created.size() == 0', true],
      ["request.operation == 'DELETE' && request.name == 'creds' && request.namespace == 'prod'", true],
      ["request.userInfo.username == 'system:serviceaccount:ops:bot'", true],
      ["request.kind.kind == 'Secret' && request.subResource == '' && !request.dryRun", true],
      ['oldObject == null && lease == null', true],
      ["cluster.get('apps/v1', 'Deployment', 'prod', 'x').status.readyReplicas >= 1", true],
      ["cluster.get('apps/v1', 'Deployment', 'prod', 'nope') == null", true],
      ["cluster.exists('v1', 'Pod', 'prod', 'p2')", false],
      ["before.exists('v1', 'Pod', 'prod', 'p2')", true],
      ["before.count('v1', 'Pod', '', 'app=pg')", 3n],
      ["before.count('v1', 'Pod', 'prod', 'app=pg,tier in (db)')", 1n],
      ["before.count('v1', 'Pod', 'prod', '!tier')", 1n],
      ["before.list('v1', 'Pod', 'prod', '').map(p, p.metadata.name)", ['p1', 'p2']],
      ["cluster.count('v1', 'ConfigMap', '', '')", 0n],
      ["now == timestamp('2026-11-23T10:00:00Z')", true],
      ["now - duration('1h') > timestamp('2026-11-23T08:59:00Z')", true],
      ['object.?metadata.?labels.orValue({}).size()', 0n],
    ];
    for (const [source, expected] of cases) {
      it(source, () => {
        const r = compiled(source).evaluate(vars);
        expect(r.ok, r.ok ? "" : r.error.message).to.equal(true);
        if (r.ok) expect(r.value).to.deep.equal(expected);
      });
    }
  });

  describe('reports compile errors with line and column', () => {
    const cases: [string, RegExp, number, number][] = [
      ['object.spec.replicas +', /Unexpected token/, 1, 23],
      ['request.operaton == "DELETE"', /No such key: operaton/, 1, 9],
      ['impact.delted.size() == 0', /No such key: delted/, 1, 8],
      ['nosuchvar > 1', /Unknown variable: nosuchvar/, 1, 1],
      ["cluster.fetch('v1')", /no matching overload/, 1, 1],
      ['1 +\n  foo', /Unknown variable: foo/, 2, 3],
      ['1 + 1', /must evaluate to bool, but it evaluates to int/, 1, 1],
    ];
    for (const [source, message, line, column] of cases) {
      it(JSON.stringify(source), () => {
        const r = compileCel(source, CelResultTypes.Bool);
        expect(r.ok).to.equal(false);
        if (!r.ok) {
          expect(r.error.message).to.match(message);
          expect([r.error.line, r.error.column]).to.deep.equal([line, column]);
        }
      });
    }

    it('formats a position as Kubernetes users read it', () => {
      expect(formatCelIssue({ message: 'x', line: 1, column: 14 }, 'a')).to.equal('x at column 14');
      expect(formatCelIssue({ message: 'x', line: 2, column: 3 }, 'a\nb')).to.equal('x at line 2, column 3');
      expect(formatCelIssue({ message: 'x', line: 0, column: 0 })).to.equal('x');
    });
  });

  describe('reports evaluation errors as values, never throws', () => {
    const cases: [string, RegExp][] = [
      ['object.spec.nokey == 1', /No such key: nokey/],
      ["cluster.get('apps/v1', 'Deployment', 'prod', 'nope').status.readyReplicas >= 1", /status/],
      ["object.spec.replicas + 'a' == 'b'", /no such overload/],
      ["before.count('v1', 'Pod', '', 'app in (') > 0", /invalid selector/],
      ['object.spec.replicas > 1 ? object.spec : true', /must evaluate to bool/],
    ];
    for (const [source, message] of cases) {
      it(source, () => {
        const r = compiled(source, CelResultTypes.Bool).evaluate(vars);
        expect(r.ok).to.equal(false);
        if (!r.ok) expect(r.error.message).to.match(message);
      });
    }
  });

  it('converts JSON numbers consistently: integers to int, fractions to double, and back', () => {
    expect(toCelValue({ a: 2, b: 2.5, c: [1, 'x', null] })).to.deep.equal({ a: 2n, b: 2.5, c: [1n, 'x', null] });
    expect(fromCelValue({ a: 2n, b: [3n], c: new Date('2026-01-01T00:00:00Z'), d: new Map([['k', 1n]]) })).to.deep.equal({
      a: 2,
      b: [3],
      c: '2026-01-01T00:00:00.000Z',
      d: { k: 1 },
    });
  });

  it('evaluates many times from one compile', () => {
    const p = compiled('object.spec.replicas >= 2', CelResultTypes.Bool);
    const small = celVariables({ ...input, object: { ...deployment('a', 'b', 1), spec: { replicas: 1 } } });
    expect(p.evaluate(vars)).to.deep.equal({ ok: true, value: true });
    expect(p.evaluate(small)).to.deep.equal({ ok: true, value: false });
  });

  it('gives every variable a value when the request has no object', () => {
    const v = celVariables({ after: createSnapshot([]), before: createSnapshot([]), now: 0 });
    expect(compiled("object == null && oldObject == null && impact.deleted.size() == 0 && request.operation == ''").evaluate(v)).to.deep.equal({ ok: true, value: true });
  });
});
