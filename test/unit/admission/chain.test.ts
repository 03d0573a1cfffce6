import { expect } from 'chai';
import { Histogram, Registry } from 'prom-client';
import { buildChain, withRecovery, withTimeout, type AdmissionHandler } from '../../../src/admission/chain.js';
import { admissionMetricsOn, type DecisionSample } from '../../../src/admission/metrics.js';
import { errorDecision } from '../../../src/admission/review.js';
import type { AdmissionRequest } from '../../../src/core/types.js';

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
      metrics: { observeDecision: (s) => samples.push(s), observeHttp: () => undefined },
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
    const metrics = admissionMetricsOn({ registry, admissionDuration });
    metrics.observeDecision({ phase: 'validate', operation: 'DELETE', verdict: 'deny', seconds: 0.01 });
    metrics.observeHttp('/scan-me', 404);
    const text = await registry.metrics();
    expect(text).to.match(/suture_admission_duration_seconds_count\{operation="DELETE",verdict="deny"\} 1/);
    expect(text).to.match(/suture_admission_http_requests_total\{route="other",code="404"\} 1/);
  });
});
