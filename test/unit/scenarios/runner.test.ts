import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { externalSuture, managedSuture } from '../../scenarios/control.js';
import { parseScenario } from '../../../src/scenario/parse.js';
import { DEFAULT_REPORT, parseOptions, UsageError } from '../../scenarios/options.js';
import { withApprovalAnnotation } from '../../scenarios/ops.js';
import { sutureReadiness } from '../../scenarios/readiness.js';
import { scenarioRefs, sutureNames } from '../../scenarios/runner.js';
import type { StartSutureOptions } from '../../scenarios/suture.js';
import { missingForSuture } from '../../controlplane/suture-process.js';

const text = `
name: refs
summary: s
source: x#1
setup:
  - {apiVersion: v1, kind: Namespace, metadata: {name: db}}
  - {apiVersion: v1, kind: Node, metadata: {name: n1}}
  - {apiVersion: v1, kind: Secret, metadata: {name: "{{uid Node n1}}", namespace: db}}
suture:
  - apiVersion: suture.dev/v1alpha1
    kind: SuturePolicy
    metadata: {name: keep}
    spec: {invariants: [{name: survives, protect: {}}]}
  - {apiVersion: suture.dev/v1alpha1, kind: SutureLease, metadata: {name: pg, namespace: op-a}, spec: {}}
steps:
  - {as: admin, do: create, apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding, body: {metadata: {name: crb}}, expect: denied}
  - {as: admin, do: create, apiVersion: v1, kind: ConfigMap, namespace: db, body: {metadata: {generateName: x-}}, expect: allowed}
`;

describe('scenario bookkeeping', () => {
  const scenario = parseScenario(text, 'f.yaml');

  it('cleans up Suture objects first, then what steps created, then setup newest first; skips templated names', () => {
    expect(scenarioRefs(scenario).map((r) => `${r.kind}/${r.namespace ?? ''}/${r.name}`)).to.deep.equal([
      'SutureLease/op-a/pg',
      'SuturePolicy//keep',
      'ClusterRoleBinding//crb',
      'Node//n1',
      'Namespace//db',
    ]);
  });

  it('knows the names a Suture warning may carry', () => {
    expect(sutureNames(scenario)).to.deep.equal(['keep', 'survives', 'pg', 'op-a/pg']);
  });
});

describe('Suture readiness', () => {
  it('wants a policy Ready=True', () => {
    expect(sutureReadiness('SuturePolicy', {}).ready).to.equal(false);
    const invalid = sutureReadiness('SuturePolicy', { status: { conditions: [{ type: 'Ready', status: 'False', reason: 'InvalidExpression', message: 'at column 3' }] } });
    expect(invalid).to.deep.equal({ ready: false, state: 'Ready=False (InvalidExpression: at column 3)' });
    expect(sutureReadiness('SuturePolicy', { status: { conditions: [{ type: 'Ready', status: 'True' }] } }).ready).to.equal(true);
  });

  it('wants a lease out of Pending, an exception with a status, nothing of other kinds', () => {
    expect(sutureReadiness('SutureLease', { status: { phase: 'Pending' } }).ready).to.equal(false);
    expect(sutureReadiness('SutureLease', { status: { phase: 'Conflicted' } }).ready).to.equal(true);
    expect(sutureReadiness('SutureException', { status: {} }).ready).to.equal(false);
    expect(sutureReadiness('SutureException', { status: { active: true } }).ready).to.equal(true);
    expect(sutureReadiness('ConfigMap', undefined).ready).to.equal(true);
  });
});

describe('CRDs of protected groups', () => {
  const crd = (group: string, annotations?: Record<string, string>) => ({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `x.${group}`, annotations }, spec: { group } });

  it('get an "unapproved" approval annotation when they lack one', () => {
    expect(withApprovalAnnotation(crd('certmanager.k8s.io')).metadata.annotations).to.deep.equal({ 'api-approved.kubernetes.io': 'unapproved, replayed incident scenario' });
    expect(withApprovalAnnotation(crd('x.kubernetes.io', { 'api-approved.kubernetes.io': 'https://x' })).metadata.annotations).to.deep.equal({ 'api-approved.kubernetes.io': 'https://x' });
    expect(withApprovalAnnotation(crd('acid.zalan.do')).metadata.annotations).to.equal(undefined);
    expect(withApprovalAnnotation(crd('notk8s.io')).metadata.annotations).to.equal(undefined);
  });
});

describe('options', () => {
  it('defaults to the project corpus (test/scenarios), keep-going and report-scenarios.json', () => {
    expect(parseOptions([])).to.deep.include({ dirs: ['test/scenarios'], keepGoing: true, report: DEFAULT_REPORT, noSuture: false });
    expect(DEFAULT_REPORT).to.match(/^report.*\.json$/);
  });

  it('reads folders, filter, kubeconfig, report and fail-fast', () => {
    expect(parseOptions(['a', 'b', '--filter', 'zk', '--kubeconfig', 'k', '--report', 'r.json', '--fail-fast'])).to.deep.include({ dirs: ['a', 'b'], filter: 'zk', kubeconfig: 'k', report: 'r.json', keepGoing: false });
    expect(parseOptions(['--help'])).to.equal('help');
  });

  it('reads --ready-timeout as a duration', () => {
    expect(parseOptions([])).to.deep.include({ readyTimeoutMs: 30_000 });
    expect(parseOptions(['--ready-timeout', '2m'])).to.deep.include({ readyTimeoutMs: 120_000 });
    expect(() => parseOptions(['--ready-timeout', 'soon'])).to.throw(UsageError, /duration/);
  });

  it('refuses unknown and contradictory options', () => {
    expect(() => parseOptions(['--nope'])).to.throw(UsageError);
    expect(() => parseOptions(['--keep-going', '--fail-fast'])).to.throw(UsageError, /exclude each other/);
    expect(() => parseOptions(['--no-suture', '--kubeconfig', 'k'])).to.throw(UsageError);
  });
});

describe('Suture hook and lifecycle', () => {
  it('says what is missing when there is no Suture to start', () => {
    const empty = mkdtempSync(join(tmpdir(), 'repo-'));
    expect(missingForSuture(empty)).to.equal('src/main.ts does not exist');
    mkdirSync(join(empty, 'src'));
    writeFileSync(join(empty, 'src', 'main.ts'), '');
    expect(missingForSuture(empty)).to.equal(undefined);
  });

  it('starts Suture once per clock and restarts it when the clock changes', async () => {
    const calls: string[] = [];
    const start = (options: StartSutureOptions) => {
      calls.push(`start ${options.kubeconfigPath} ${options.clock ?? 'real'}`);
      return Promise.resolve({ stop: () => (calls.push('stop'), Promise.resolve()) });
    };
    const control = managedSuture(start, 'k');
    await control.prepare(undefined);
    await control.prepare(undefined);
    await control.prepare('2026-11-23T09:45:00Z');
    await control.stop();
    expect(calls).to.deep.equal(['start k real', 'stop', 'start k 2026-11-23T09:45:00Z', 'stop']);
  });

  it('uses restart when the hook offers it', async () => {
    const calls: string[] = [];
    const handle = { stop: () => Promise.resolve(), restart: (o: { clock?: string }) => (calls.push(`restart ${o.clock ?? 'real'}`), Promise.resolve()) };
    const control = managedSuture(() => (calls.push('start'), Promise.resolve(handle)), 'k');
    await control.prepare(undefined);
    await control.prepare('2026-11-23T23:30:00Z');
    expect(calls).to.deep.equal(['start', 'restart 2026-11-23T23:30:00Z']);
  });

  it('cannot give a clock to a Suture it did not start', async () => {
    await externalSuture().prepare(undefined);
    try {
      await externalSuture().prepare('2026-11-23T09:45:00Z');
      expect.fail('expected a rejection');
    } catch (error) {
      expect((error as Error).message).to.include('cannot reach a Suture the runner did not start');
    }
  });
});
