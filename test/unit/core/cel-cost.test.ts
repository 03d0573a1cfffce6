// The CEL cost limit (core/cel-cost.ts): adversarial expressions are refused when they compile (estimated cost) or
// stopped while they run (cost meter, deadline), and a decision applies the policy's failurePolicy and says why.
import { expect } from 'chai';
import { backtrackingRisk, ESTIMATED_COST_LIMIT, RUNTIME_COST_LIMIT } from '../../../src/core/cel-cost.js';
import { CelResultTypes, celVariables, compileCel, formatCelIssue, type CelProgram, type CelVariables } from '../../../src/core/cel.js';
import { decide } from '../../../src/core/decide.js';
import { compilePolicy, type CompiledPolicy } from '../../../src/core/policy.js';
import { createSnapshot } from '../../../src/core/snapshot.js';
import type { DecisionInput } from '../../../src/core/types.js';
import { validatePolicy } from '../../../src/core/validate.js';
import { configMap, createRequest, ledger, metricReader, policyObject, saUser } from './fixtures.js';

const UNBOUNDED = { estimatedCostLimit: Number.POSITIVE_INFINITY };

function compiled(source: string, options = {}): CelProgram {
  const r = compileCel(source, CelResultTypes.Any, options);
  if (!r.ok) throw new Error(`${source}: ${formatCelIssue(r.error, source)}`);
  return r.program;
}

function refusal(source: string): string {
  const r = compileCel(source, CelResultTypes.Any);
  expect(r.ok, `${source} compiled`).to.equal(false);
  return r.ok ? '' : r.error.message;
}

const list = (n: number): string => `[${Array.from({ length: n }, (_, i) => i).join(', ')}]`;

/** A ConfigMap-like object with `n` list items, `n` pods in the cluster, and a long string. */
function world(n: number): CelVariables {
  const items = Array.from({ length: n }, (_, i) => i);
  const pods = Array.from({ length: n }, (_, i) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${i}`, namespace: 'a', uid: `u${i}` } }));
  const snapshot = createSnapshot(pods);
  const object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'a' }, spec: { items, text: 'a'.repeat(10_000), pattern: '^(a|a)*$' } };
  return celVariables({ object, after: snapshot, before: snapshot, now: 0 });
}

/** Evaluates and measures; every adversarial evaluation must end well within this bound, even on a loaded machine. */
function timed(program: CelProgram, vars: CelVariables): { r: ReturnType<CelProgram['evaluate']>; ms: number } {
  const t = performance.now();
  const r = program.evaluate(vars);
  return { r, ms: performance.now() - t };
}

const BOUND_MS = 5_000;

describe('core/cel-cost: the CEL cost limit', () => {
  describe('refuses at compile time what is estimated above the limit', () => {
    const refused: [string, string][] = [
      ['nested comprehensions over the same unbounded list', 'object.spec.items.all(x, object.spec.items.all(y, x != y))'],
      ['nested comprehensions over cluster.list', "cluster.list('v1', 'Pod', '', '').all(p, cluster.list('v1', 'Pod', '', '').exists(q, q.metadata.name == p.metadata.name))"],
      ['a lookup per element of impact.deleted', "impact.deleted.all(o, cluster.list('v1', 'Pod', o.metadata.namespace, '').size() < 10)"],
      ['four nested literal lists of 100', `${list(100)}.all(a, ${list(100)}.all(b, ${list(100)}.all(c, ${list(100)}.all(d, a + b + c + d >= 0))))`],
      ['a literal string doubled by cel.bind', `cel.bind(a, '${'x'.repeat(100)}', ${Array.from({ length: 30 }, (_, i) => `cel.bind(v${i}, ${i === 0 ? 'a' : `v${i - 1}`} + ${i === 0 ? 'a' : `v${i - 1}`}, `).join('')}v29.size() > 0${')'.repeat(31)}`],
      ['a map over an unbounded list inside a comprehension over another', 'object.spec.items.all(x, impact.deleted.map(o, o.metadata.name).size() > 0)'],
    ];
    for (const [what, source] of refused) {
      it(what, () => {
        expect(refusal(source)).to.match(/^estimated cost \S+ exceeds the CEL cost limit of 10000000/);
      });
    }

    it('accepts linear expressions, nested comprehensions over a part of the outer element, and small literal nests', () => {
      for (const source of [
        "object.spec.items.all(x, x >= 0) && impact.deleted.all(o, o.kind != 'Secret')",
        "!has(object.rules) || object.rules.all(r, r.verbs.all(v, !(v in ['*', 'escalate'])) && r.resources.all(s, s != 'secrets'))",
        "impact.deleted.all(o, !has(o.metadata.ownerReferences) || o.metadata.ownerReferences.all(r, before.exists(r.apiVersion, r.kind, o.metadata.namespace, r.name)))",
        `${list(10)}.all(a, ${list(10)}.all(b, a + b >= 0))`,
        "cluster.count('v1', 'Pod', 'a', 'app=x') >= 2",
      ]) {
        const p = compiled(source);
        expect(p.estimatedCost, source).to.be.at.most(ESTIMATED_COST_LIMIT);
      }
    });

    it('is a field error when a policy is applied (the validating webhook for Suture’s objects refuses it)', () => {
      const errors = validatePolicy(
        policyObject('quadratic', { match: [{ kinds: ['ConfigMap'] }], invariants: [{ name: 'n2', expression: 'object.data.all(k, object.data.all(j, k == j))' }] }),
      );
      expect(errors.map((e) => e.path)).to.deep.equal(['spec.invariants[0].expression']);
      expect(errors[0]?.message).to.match(/invalid CEL: estimated cost .* exceeds the CEL cost limit/);
    });
  });

  describe('stops at run time what the estimate let through', () => {
    const vars = world(3_000);

    it('nested comprehensions over a list of 3000: cost limit, in bounded time', () => {
      const { r, ms } = timed(compiled('object.spec.items.all(x, object.spec.items.all(y, x + y >= 0))', UNBOUNDED), vars);
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.error.message).to.equal(`CEL cost limit exceeded: the evaluation spent more than ${RUNTIME_COST_LIMIT} cost units`);
      expect(ms).to.be.below(BOUND_MS);
    });

    it('nested cluster.list comprehensions: cost limit, in bounded time', () => {
      const source = "cluster.list('v1', 'Pod', '', '').all(p, cluster.list('v1', 'Pod', '', '').all(q, p.metadata.name != ''))";
      const { r, ms } = timed(compiled(source, UNBOUNDED), vars);
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.error.message).to.match(/^CEL cost limit exceeded/);
      expect(ms).to.be.below(BOUND_MS);
    });

    it('a string of unknown size doubled by cel.bind (the estimate cannot see it): stopped before it grows past a few MB', () => {
      const binds = Array.from({ length: 20 }, (_, i) => `cel.bind(v${i}, ${i === 0 ? 'object.spec.text' : `v${i - 1}`} + ${i === 0 ? 'object.spec.text' : `v${i - 1}`}, `).join('');
      const source = `${binds}v19.size() > 0${')'.repeat(20)}`;
      const p = compiled(source);
      const { r, ms } = timed(p, vars);
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.error.message).to.match(/^CEL cost limit exceeded/);
      expect(ms).to.be.below(BOUND_MS);
    });

    it('string operations over a long string in a comprehension are charged by size', () => {
      const { r, ms } = timed(compiled("object.spec.items.all(x, !object.spec.text.contains('b'))"), world(3_000));
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.error.message).to.match(/^CEL cost limit exceeded/);
      expect(ms).to.be.below(BOUND_MS);
    });

    it('a spent budget cannot be absorbed by || or exists(): the whole evaluation is an error', () => {
      for (const source of ['object.spec.items.all(x, object.spec.items.all(y, x + y >= 0)) || true', 'object.spec.items.exists(x, object.spec.items.all(y, y >= 0) && false)']) {
        const r = compiled(source, UNBOUNDED).evaluate(vars);
        expect(r.ok, source).to.equal(false);
      }
    });

    it('each evaluation gets the whole budget again; a cheap one is untouched', () => {
      const cheap = compiled('object.spec.items.all(x, x >= 0)');
      for (let i = 0; i < 3; i++) expect(cheap.evaluate(vars)).to.deep.equal({ ok: true, value: true });
    });

    it('takes the cost limit and the deadline the caller passes (the core never reads a clock)', () => {
      const smallBudget = celVariables({ object: configMap('a', 'x'), after: createSnapshot([]), before: createSnapshot([]), now: 0, budget: { costLimit: 50 } });
      const r = compiled(`${list(100)}.all(x, x >= 0)`).evaluate(smallBudget);
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.error.message).to.include('more than 50 cost units');
      let t = 0;
      const clock = (): number => (t += 1); // one millisecond per reading: deterministic
      const slow = celVariables({ object: { ...configMap('a', 'x'), spec: { items: Array.from({ length: 5_000 }, (_, i) => i) } }, after: createSnapshot([]), before: createSnapshot([]), now: 0, budget: { deadline: { clock, perEvaluationMs: 5 } } });
      const d = compiled('object.spec.items.all(x, x >= 0)').evaluate(slow);
      expect(d.ok).to.equal(false);
      if (!d.ok) expect(d.error.message).to.equal('CEL deadline exceeded: the evaluation ran longer than 5 ms');
    });
  });

  describe('regular expressions run in bounded time', () => {
    it('a backtracking pattern (exponential on a backtracking engine) ends at once on the linear engine', () => {
      const source = "object.spec.text.substring(0, 40) + '!' == '' || (object.spec.text.substring(0, 40) + '!').matches('^(a+)+$')";
      const { r, ms } = timed(compiled(source), world(1));
      expect(r).to.deep.equal({ ok: true, value: false });
      expect(ms).to.be.below(BOUND_MS);
    });

    it('a pattern the linear engine cannot run is refused: at compile time when constant, at run time when computed', () => {
      expect(refusal("'aa'.matches('(a)\\\\1')")).to.match(/regular expression "\(a\)\\\\1"/);
      const r = compiled("'aa'.matches(object.spec.pattern + '(?=a)')").evaluate(world(1));
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.error.message).to.match(/regular expression/);
      expect(compiled("'abc'.matches('^[a-z]+$')").evaluate(world(1))).to.deep.equal({ ok: true, value: true });
    });

    it('without the linear engine, patterns that can backtrack exponentially are recognised', () => {
      expect(backtrackingRisk('^(a+)+$')).to.match(/repeated group/);
      expect(backtrackingRisk('^(a|aa)*$')).to.match(/repeated group/);
      expect(backtrackingRisk('((ab)*c)+')).to.match(/repeated group/);
      expect(backtrackingRisk('(a)\\1')).to.equal('a backreference');
      expect(backtrackingRisk('(?!a)b')).to.equal('a lookaround');
      expect(backtrackingRisk('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')).to.equal(undefined);
      expect(backtrackingRisk('^v[0-9]+\\.[0-9]+$')).to.equal(undefined);
    });
  });

  describe('in a decision, the policy’s failurePolicy applies and the decision says why', () => {
    const policy = (failurePolicy: string): CompiledPolicy => {
      const r = compilePolicy(policyObject(`costly-${failurePolicy}`, { failurePolicy, match: [{ kinds: ['ConfigMap'] }], invariants: [{ name: 'every-item', expression: 'object.data.all(k, k != "")' }] }));
      if (!r.ok) throw new Error(JSON.stringify(r.errors));
      return r.policy;
    };
    const big = { ...configMap('a', 'big'), data: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, 'v'])) };
    const input = (p: CompiledPolicy): DecisionInput => ({
      snapshot: createSnapshot([]),
      policies: [p],
      leases: [],
      exceptions: [],
      budgets: ledger(),
      metrics: metricReader({}),
      identities: { exemptNamespaces: ['kube-system'], exemptUsers: [], exemptGroups: [] },
      cel: { costLimit: 100 },
    });
    const now = new Date('2026-11-23T09:45:00Z');

    it('Fail: refused as undecidable, naming the cost limit', () => {
      const d = decide(createRequest(big, saUser('ops', 'operator')), input(policy('Fail')), now);
      expect(d.allowed).to.equal(false);
      expect(d.verdict).to.equal('error');
      expect(d.message).to.include('could not be decided (failurePolicy Fail)').and.include('CEL cost limit exceeded');
    });

    it('Ignore: allowed, and the check records the cost limit', () => {
      const d = decide(createRequest(big, saUser('ops', 'operator')), input(policy('Ignore')), now);
      expect(d.allowed).to.equal(true);
      const checks = d.trace.flatMap((s) => s.checks).filter((c) => c.source === 'policy/costly-Ignore/every-item');
      expect(checks).to.have.length(1);
      expect(checks[0]?.result).to.equal('error');
      expect(checks[0]?.message).to.include('CEL cost limit exceeded');
    });
  });
});
