// What the decision recorder counts, into suture_decisions_total{verdict,policy} and into the policies' status
// (through DecisionCounters): one request a policy denied is one denial of that policy, in both, however many of its
// invariants the request broke; each policy with its own verdict; dry runs in neither. The same on the real control
// plane: test/integration/decision-counts.test.ts.
import { expect } from 'chai';
import type { KubeObject } from '../../../src/api/types.js';
import { DecisionRecorder, policyVerdicts } from '../../../src/admission/recorder.js';
import { plainDecision } from '../../../src/core/decide.js';
import type { AdmissionRequest, Decision, Verdict } from '../../../src/core/types.js';
import type { EventRecorder, EventSpec } from '../../../src/observability/events.js';
import { createMetrics } from '../../../src/observability/metrics.js';

type Violation = Decision['violations'][number];

function decision(id: string, verdict: Verdict, violations: Violation[]): Decision {
  return { ...plainDecision(id, { verdict, message: `${verdict} [decision ${id}]`, stage: 'respond', summary: verdict }), violations };
}

function request(uid: string, dryRun = false): AdmissionRequest {
  return {
    uid,
    kind: { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding' },
    resource: { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'rolebindings' },
    namespace: 'db',
    name: 'root',
    operation: 'CREATE',
    userInfo: { username: 'system:serviceaccount:db:operator' },
    object: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { namespace: 'db', name: 'root' } },
    ...(dryRun ? { dryRun: true } : {}),
  };
}

const deny = (policy: string, invariant: string): Violation => ({ policy, invariant, enforcement: 'Deny', message: `${invariant} broken` });
const warn = (policy: string, invariant: string): Violation => ({ policy, invariant, enforcement: 'Warn', message: `${invariant} broken` });

function setUp(): { recorder: DecisionRecorder; counted: string[]; events: string[]; metric: () => Promise<Record<string, number>> } {
  const metrics = createMetrics();
  const counted: string[] = [];
  const events: string[] = [];
  const recorder: EventRecorder = { record: (target: KubeObject, event: EventSpec) => void events.push(`${target.kind}/${target.metadata.name ?? ''} ${event.reason}`), flush: () => Promise.resolve() };
  return {
    recorder: new DecisionRecorder({ metrics, events: recorder, counters: { countPolicyDecision: (policy, verdict) => counted.push(`${policy} ${verdict}`), useException: () => undefined }, now: () => new Date('2026-12-01T00:00:00Z') }),
    counted,
    events,
    metric: async () => {
      const out: Record<string, number> = {};
      for (const m of (await metrics.registry.metrics()).matchAll(/^suture_decisions_total\{verdict="([^"]*)",policy="([^"]*)"\} (\d+)$/gm)) out[`${m[2] ?? ''} ${m[1] ?? ''}`] = Number(m[3]);
      return out;
    },
  };
}

describe('admission/recorder: what a decision counts', () => {
  it('one request denied by two invariants of one policy is one denial, in the metric and in status', async () => {
    const { recorder, counted, events, metric } = setUp();
    recorder.record(request('r1'), decision('r1', 'deny', [deny('no-escalation', 'no-admin-bindings'), deny('no-escalation', 'no-wildcard-roles')]));
    expect(counted).to.deep.equal(['no-escalation deny']);
    expect(await metric()).to.deep.equal({ 'no-escalation deny': 1 });
    expect(events.filter((e) => e.startsWith('SuturePolicy/'))).to.deep.equal(['SuturePolicy/no-escalation Denied']);
  });

  it('each policy with its own verdict: a Warn policy broken by a request another policy denied counts a warning', async () => {
    const { recorder, counted, metric } = setUp();
    recorder.record(request('r2'), decision('r2', 'deny', [warn('careful', 'ask-first'), deny('strict', 'never'), warn('strict', 'also-warned')]));
    expect(counted.sort()).to.deep.equal(['careful warn', 'strict deny']);
    expect(await metric()).to.deep.equal({ 'careful warn': 1, 'strict deny': 1 });
    expect([...policyVerdicts(decision('r2', 'deny', [warn('careful', 'ask-first'), deny('strict', 'never')]))]).to.deep.equal([
      ['careful', 'warn'],
      ['strict', 'deny'],
    ]);
  });

  it('dry runs count in neither; allowed requests and denials without a policy (a lease) count as policy ""', async () => {
    const { recorder, counted, metric } = setUp();
    recorder.record(request('r3', true), decision('r3', 'deny', [deny('strict', 'never')]));
    recorder.record(request('r4'), decision('r4', 'allow', []));
    recorder.record(request('r5'), decision('r5', 'deny', []));
    expect(counted).to.deep.equal([]);
    expect(await metric()).to.deep.equal({ ' allow': 1, ' deny': 1 });
    expect(recorder.log.get('r3')?.dryRun, 'the dry run is still in the decision log').to.equal(true);
  });

  it('a decision that could not be taken counts as error for its Deny policies, in the metric only (status has no error count)', async () => {
    const { recorder, counted, metric } = setUp();
    recorder.record(request('r6'), decision('r6', 'error', [deny('strict', 'never'), deny('strict', 'other')]));
    expect(counted).to.deep.equal([]);
    expect(await metric()).to.deep.equal({ 'strict error': 1 });
  });
});
