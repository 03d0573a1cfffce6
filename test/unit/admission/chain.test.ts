import { expect } from 'chai';
import { Histogram, Registry } from 'prom-client';
import { buildChain, LineLimiter, withLogging, withRecovery, withTimeout, type AdmissionHandler } from '../../../src/admission/chain.js';
import { admissionMetricsOn, type DecisionSample } from '../../../src/admission/metrics.js';
import { errorDecision } from '../../../src/admission/review.js';
import type { AdmissionRequest, Decision } from '../../../src/core/types.js';

const request: AdmissionRequest = {
  uid: 'u-7',
  kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
  resource: { group: 'apps', version: 'v1', resource: 'deployments' },
  operation: 'DELETE',
  userInfo: { username: 'system:serviceaccount:argocd:argocd-application-controller' },
  namespace: 'web',
  name: 'nginx',
};

interface Line {
  level: string;
  message: string;
  fields: Record<string, unknown> | undefined;
}

function memoryLogger(lines: Line[]) {
  const at = (level: string) => (message: string, fields?: Readonly<Record<string, unknown>>) => lines.push({ level, message, fields });
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

describe('admission/chain: wrappers around the decision handler', () => {
  it('recovery turns a throw into an error decision with the uid', async () => {
    const lines: Line[] = [];
    const handler: AdmissionHandler = () => Promise.reject(new Error('snapshot closed'));
    const decision = await withRecovery(handler, memoryLogger(lines))(request, 'validate');
    expect(decision).to.deep.include({ id: 'u-7', verdict: 'error', allowed: false });
    expect(decision.message).to.match(/u-7.*snapshot closed/);
    expect(lines[0]?.fields).to.deep.include({ decisionId: 'u-7', error: 'snapshot closed' });
  });

  it('timeout answers for a handler that never does, and keeps the fast answer', async () => {
    const never: AdmissionHandler = () => new Promise(() => undefined);
    expect((await withTimeout(never, 20)(request, 'mutate')).message).to.match(/within 20 ms/);
    const fast: AdmissionHandler = (r) => Promise.resolve({ ...errorDecision(r.uid, ''), verdict: 'allow', allowed: true });
    expect((await withTimeout(fast, 1000)(request, 'mutate')).allowed).to.equal(true);
  });

  it('the standard chain logs the denial and records the sample with phase, operation and verdict', async () => {
    const lines: Line[] = [];
    const samples: DecisionSample[] = [];
    let t = 0;
    const deny: AdmissionHandler = (r) => {
      t += 12;
      return Promise.resolve({ ...errorDecision(r.uid, 'denied by lease web/nginx'), verdict: 'deny' });
    };
    const chain = buildChain(deny, {
      logger: memoryLogger(lines),
      metrics: { observeDecision: (s) => samples.push(s), observeStage: () => undefined, observeHttp: () => undefined },
      clock: () => t,
      timeoutMs: 1000,
    });
    await chain(request, 'validate');
    expect(samples).to.deep.equal([{ phase: 'validate', operation: 'DELETE', verdict: 'deny', seconds: 0.012 }]);
    expect(lines).to.have.length(1);
    expect(lines[0]).to.deep.include({ level: 'info', message: 'Denied admission request' });
    expect(lines[0]?.fields).to.deep.include({ decisionId: 'u-7', verdict: 'deny', kind: 'Deployment', name: 'nginx', durationMs: 12, reason: 'denied by lease web/nginx' });
  });

  it('records into the shared admission histogram when given one', async () => {
    const registry = new Registry();
    const admissionDuration = new Histogram({ name: 'suture_admission_duration_seconds', help: 'h', labelNames: ['operation', 'verdict'] as const, registers: [registry] });
    const admissionStageDuration = new Histogram({ name: 'suture_admission_stage_duration_seconds', help: 'h', labelNames: ['stage'] as const, registers: [registry] });
    const metrics = admissionMetricsOn({ registry, admissionDuration, admissionStageDuration });
    metrics.observeStage('decide', 0.002);
    metrics.observeDecision({ phase: 'validate', operation: 'DELETE', verdict: 'deny', seconds: 0.01 });
    metrics.observeHttp('/scan-me', 404);
    const text = await registry.metrics();
    expect(text).to.match(/suture_admission_duration_seconds_count\{operation="DELETE",verdict="deny"\} 1/);
    expect(text).to.match(/suture_admission_stage_duration_seconds_count\{stage="decide"\} 1/);
    expect(text).to.match(/suture_admission_http_requests_total\{route="other",code="404"\} 1/);
  });

  describe('logging of allowed decisions', () => {
    const allowed = (r: AdmissionRequest, extra: Partial<Decision>): Decision => ({ ...errorDecision(r.uid, ''), verdict: 'allow', allowed: true, ...extra });
    const checked = { trace: [{ stage: 'invariants' as const, summary: '', checks: [{ source: 'policy/keep-data/protect', result: 'pass' as const, message: 'nothing removed' }] }] };

    async function logged(decisions: readonly Partial<Decision>[], phase: 'validate' | 'mutate' = 'validate', clockMs = 5_000): Promise<Line[]> {
      const lines: Line[] = [];
      let i = 0;
      const handler: AdmissionHandler = (r) => Promise.resolve(allowed(r, decisions[i++] ?? {}));
      const chain = withLogging(handler, memoryLogger(lines), () => clockMs, new LineLimiter(2));
      for (let n = 0; n < decisions.length; n++) await chain(request, phase);
      return lines;
    }

    it('warned, audited and checked-and-passed decisions are logged at info with the policy; nothing looked at is debug', async () => {
      const lines = await logged([
        { verdict: 'warn', message: 'would remove 3 objects', violations: [{ policy: 'blast-radius', invariant: 'max', enforcement: 'Warn', message: 'm' }] },
        { verdict: 'audit', violations: [{ policy: 'audit-only', invariant: 'x', enforcement: 'Audit', message: 'm' }] },
        checked,
        {},
      ]);
      expect(lines.map((l) => [l.level, l.message, l.fields?.['policy']])).to.deep.equal([
        ['info', 'Warned on admission request', 'blast-radius'],
        ['info', 'Audited admission request', 'audit-only'],
        ['info', 'Allowed admission request', 'policy/keep-data'],
        ['debug', 'Allowed admission request', undefined],
      ]);
      expect(lines[0]?.fields).to.deep.include({ reason: 'would remove 3 objects' });
    });

    it('writes at most N info lines per policy and second, and counts the held-back ones in the next line', async () => {
      const lines: Line[] = [];
      let now = 10_000;
      const handler: AdmissionHandler = (r) => Promise.resolve(allowed(r, checked));
      const chain = withLogging(handler, memoryLogger(lines), () => now, new LineLimiter(2));
      for (let n = 0; n < 5; n++) await chain(request, 'validate');
      expect(lines).to.have.length(2);
      now += 1000;
      await chain(request, 'validate');
      expect(lines).to.have.length(3);
      expect(lines[2]?.fields).to.deep.include({ suppressed: 3 });
      expect(lines[0]?.fields).to.not.have.property('suppressed');
    });

    it('the mutating phase of an ordinary allowance is not logged at info (the validating phase is)', async () => {
      const lines = await logged([checked, { ...checked, averted: true, warnings: ['averted'] }], 'mutate');
      expect(lines.map((l) => l.level)).to.deep.equal(['debug', 'info']);
    });
  });
});
