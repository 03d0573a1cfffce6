import { expect } from 'chai';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScenarioOffline } from '../../../src/cli/offline/run.js';
import { loadScenarios, parseScenario } from '../../../src/scenario/parse.js';
import type { StepRow } from '../../../src/scenario/report.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const own = join(repo, 'test', 'scenarios');
const selftest = join(own, 'selftest');

/** A fixed instant for scenarios without a clock, so that runs are repeatable. */
const NOW = Date.parse('2026-11-23T12:00:00Z');

/**
 * Steps offline cannot model, by `scenario#step`, with the reason. Each must FAIL offline (the test says so when one
 * starts passing); every other step of every file must PASS.
 */
const OFFLINE_GAPS: Readonly<Record<string, string>> = {
  'selftest-verbs#11': 'expects the API server\'s own Warning for a deprecated node label (beta.kubernetes.io/arch); offline has no API server warnings',
};

function rowsOf(folder: string): StepRow[] {
  const { scenarios, errors } = loadScenarios([folder]);
  expect(errors.map((e) => e.message)).to.deep.equal([]);
  return scenarios.flatMap((s) => runScenarioOffline(s, { now: NOW }).steps);
}

function describeFailures(rows: readonly StepRow[]): string[] {
  return rows.filter((r) => !r.pass && OFFLINE_GAPS[`${r.scenario}#${r.step}`] === undefined).map((r) => `${r.scenario} step ${r.step} (${r.description}): ${r.reason} — ${r.message}`);
}

function checkFolder(folder: string, minimum: number): void {
  const rows = rowsOf(folder);
  expect(rows.length, `steps in ${folder}`).to.be.at.least(minimum);
  expect(describeFailures(rows), 'steps that failed offline').to.deep.equal([]);
  for (const row of rows.filter((r) => OFFLINE_GAPS[`${r.scenario}#${r.step}`] !== undefined)) {
    expect(row.pass, `${row.scenario} step ${row.step} passes offline now: remove it from OFFLINE_GAPS (${OFFLINE_GAPS[`${row.scenario}#${row.step}`] ?? ''})`).to.equal(false);
  }
}

describe('kubectl suture test (offline): every incident as a unit case of the decision core', () => {
  it('passes every step of test/scenarios/*.yaml', () => {
    checkFolder(own, 100);
  });

  it(`passes every step of test/scenarios/selftest but the documented gaps (${Object.keys(OFFLINE_GAPS).join(', ')})`, () => {
    checkFolder(selftest, 20);
  });

  it('fails a step whose expectation is wrong, and says what happened instead', () => {
    const { scenarios } = loadScenarios([join(own, '01-zk-stale-event-deletes-member-volume.yaml')]);
    const scenario = scenarios[0];
    if (scenario === undefined) throw new Error('01-zk-stale-event-deletes-member-volume.yaml did not load');
    const flipped = { ...scenario, steps: scenario.steps.map((s) => (s.type === 'request' ? { ...s, expect: s.expect === 'denied' ? ('allowed' as const) : ('denied' as const), messageIncludes: [] } : s)) };
    const rows = runScenarioOffline(flipped, { now: NOW }).steps.filter((r) => r.expected === 'allowed' || r.expected === 'denied');
    expect(rows.map((r) => [r.pass, r.got])).to.deep.equal([
      [false, 'denied'],
      [false, 'allowed'],
    ]);
    expect(rows[0]?.reason).to.match(/expected allowed, got denied by Suture \(validate\.suture\.dev\)/);
    expect(basename(scenario.file)).to.equal('01-zk-stale-event-deletes-member-volume.yaml');
  });
});

const BASE = `
name: offline-unit
summary: unit
source: test
setup:
  - {apiVersion: v1, kind: Namespace, metadata: {name: app}}
  - {apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db, namespace: app, labels: {app: db}}, spec: {replicas: 3, selector: {matchLabels: {app: db}}}}
  - {apiVersion: v1, kind: Pod, metadata: {name: db-0, namespace: app, labels: {app: db}, ownerReferences: [{apiVersion: apps/v1, kind: StatefulSet, name: db, uid: "{{uid StatefulSet app/db}}", controller: true}]}, status: {phase: Running}}
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: app, labels: {tier: x}}}
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: b, namespace: app, labels: {tier: x, keep: "yes"}}}
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: app, labels: {tier: x}}}
`;

function run(yaml: string): readonly StepRow[] {
  return runScenarioOffline(parseScenario(yaml, 'inline.yaml'), { now: NOW }).steps;
}

function summary(rows: readonly StepRow[]): string[] {
  return rows.map((r) => `${r.step} ${r.pass ? 'PASS' : 'FAIL'} ${r.got}${r.pass ? '' : `: ${r.reason}`}`);
}

describe('offline simulation', () => {
  it('garbage-collects dependents of a deleted owner, and keeps them with Orphan', () => {
    const rows = run(`${BASE}
steps:
  - {as: admin, do: delete, apiVersion: apps/v1, kind: StatefulSet, namespace: app, name: db, propagationPolicy: Orphan, expect: allowed}
  - check: {apiVersion: v1, kind: Pod, namespace: app, name: db-0}
  - check: {apiVersion: v1, kind: Pod, namespace: app, name: db-0, path: /metadata/ownerReferences, exists: false}
`);
    expect(summary(rows)).to.deep.equal(['1 PASS allowed', '2 PASS present', '3 PASS absent']);
    const cascade = run(`${BASE}
steps:
  - {as: admin, do: delete, apiVersion: apps/v1, kind: StatefulSet, namespace: app, name: db, expect: allowed}
  - check: {apiVersion: v1, kind: Pod, namespace: app, name: db-0, exists: false}
`);
    expect(summary(cascade)).to.deep.equal(['1 PASS allowed', '2 PASS absent']);
  });

  it('deletes a collection item by item and stops at the first item Suture denies', () => {
    const rows = run(`${BASE}
suture:
  - apiVersion: suture.dev/v1alpha1
    kind: SuturePolicy
    metadata: {name: keep}
    spec:
      match: [{kinds: [ConfigMap], selector: {matchLabels: {keep: "yes"}}}]
      operations: [DELETE]
      invariants: [{name: kept, protect: {}}]
steps:
  - {as: "system:serviceaccount:app:op", do: deletecollection, apiVersion: v1, kind: ConfigMap, namespace: app, labelSelector: tier=x, expect: denied, messageIncludes: [keep, "ConfigMap app/b"]}
  - check: {apiVersion: v1, kind: ConfigMap, namespace: app, name: a, exists: false}
  - check: {apiVersion: v1, kind: ConfigMap, namespace: app, name: b}
  - check: {apiVersion: v1, kind: ConfigMap, namespace: app, name: c}
`);
    expect(summary(rows)).to.deep.equal(['1 PASS denied', '2 PASS absent', '3 PASS present', '4 PASS present']);
  });

  it('scales through the scale subresource (autoscaling/v1 Scale) and writes status through the status subresource', () => {
    const rows = run(`${BASE}
steps:
  - {as: "system:serviceaccount:app:op", do: patch, apiVersion: apps/v1, kind: StatefulSet, namespace: app, name: db, subresource: scale, body: {spec: {replicas: 5}}, expect: allowed}
  - check: {apiVersion: apps/v1, kind: StatefulSet, namespace: app, name: db, path: /spec/replicas, equals: 5}
  - {as: "system:serviceaccount:app:op", do: patch, apiVersion: apps/v1, kind: StatefulSet, namespace: app, name: db, subresource: status, body: {status: {readyReplicas: 2}, spec: {replicas: 9}}, expect: allowed}
  - check: {apiVersion: apps/v1, kind: StatefulSet, namespace: app, name: db, path: /status/readyReplicas, equals: 2}
  - check: {apiVersion: apps/v1, kind: StatefulSet, namespace: app, name: db, path: /spec/replicas, equals: 5}
  - {as: "system:serviceaccount:app:op", do: patch, apiVersion: apps/v1, kind: StatefulSet, namespace: app, name: db, body: {status: {readyReplicas: 0}}, expect: allowed}
  - check: {apiVersion: apps/v1, kind: StatefulSet, namespace: app, name: db, path: /status/readyReplicas, equals: 2}
`);
    expect(rows.every((r) => r.pass), summary(rows).join('\n')).to.equal(true);
  });

  it('answers as the API server does before admission: 404 for a missing object or namespace, 409 for a duplicate, 422 for a JSON patch that does not apply', () => {
    const rows = run(`${BASE}
steps:
  - {as: admin, do: delete, apiVersion: v1, kind: ConfigMap, namespace: app, name: nope, expect: allowed}
  - {as: admin, do: create, apiVersion: v1, kind: ConfigMap, namespace: ghost, body: {metadata: {name: x}}, expect: allowed}
  - {as: admin, do: create, apiVersion: v1, kind: ConfigMap, namespace: app, body: {metadata: {name: a}}, expect: allowed}
  - {as: admin, do: patch, apiVersion: v1, kind: ConfigMap, namespace: app, name: a, patchType: json, body: [{op: remove, path: /data/missing}], expect: allowed}
  - {as: admin, do: create, apiVersion: example.com/v1, kind: Widget, namespace: app, body: {metadata: {name: w}}, expect: allowed}
`);
    expect(rows.map((r) => r.got)).to.deep.equal(['not-found', 'not-found', 'conflict', 'invalid', 'not-found']);
  });

  it('refuses an invalid Suture object through the objects webhook, for the admin too', () => {
    const rows = run(`${BASE}
steps:
  - as: admin
    do: create
    apiVersion: suture.dev/v1alpha1
    kind: SuturePolicy
    body: {metadata: {name: broken}, spec: {match: [{kinds: [Pod]}], invariants: [{name: bad, expression: "1 +"}]}}
    expect: denied
    messageIncludes: [objects.suture.dev, "spec.invariants[0].expression"]
`);
    expect(summary(rows)).to.deep.equal(['1 PASS denied']);
  });

  it('stamps what a lease holder creates and grants a waiting lease once its rival is deleted', () => {
    const rows = run(`${BASE}
suture:
  - {apiVersion: suture.dev/v1alpha1, kind: SutureLease, metadata: {name: first, namespace: app}, spec: {holder: {kind: ServiceAccount, name: a, namespace: app}, resources: [{kinds: [ConfigMap], namespaces: [app]}]}}
  - {apiVersion: suture.dev/v1alpha1, kind: SutureLease, metadata: {name: second, namespace: app}, spec: {holder: {kind: ServiceAccount, name: b, namespace: app}, resources: [{kinds: [ConfigMap], namespaces: [app], names: [new]}]}}
steps:
  - check: {apiVersion: suture.dev/v1alpha1, kind: SutureLease, namespace: app, name: second, path: /status/phase, equals: Conflicted}
  - {as: "system:serviceaccount:app:a", do: create, apiVersion: v1, kind: ConfigMap, namespace: app, body: {metadata: {name: new}}, expect: allowed}
  - check: {apiVersion: v1, kind: ConfigMap, namespace: app, name: new, path: /metadata/labels/suture.dev~1lease, equals: app.first}
  - {as: "system:serviceaccount:app:b", do: patch, apiVersion: v1, kind: ConfigMap, namespace: app, name: new, body: {data: {x: "1"}}, expect: denied, messageIncludes: [app/first]}
  - {as: admin, do: delete, apiVersion: suture.dev/v1alpha1, kind: SutureLease, namespace: app, name: first, expect: allowed}
  - check: {apiVersion: suture.dev/v1alpha1, kind: SutureLease, namespace: app, name: second, path: /status/phase, equals: Granted}
`);
    expect(rows.every((r) => r.pass), summary(rows).join('\n')).to.equal(true);
  });

  it('fails every step with the reason when setup cannot be done, as the live runner does', () => {
    const rows = run(`
name: broken-setup
summary: unit
source: test
setup:
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: nowhere}}
steps:
  - check: {apiVersion: v1, kind: Namespace, name: default}
`);
    expect(rows.map((r) => [r.pass, r.got])).to.deep.equal([[false, 'setup-error']]);
    expect(rows[0]?.reason).to.match(/setup\[0\] ConfigMap a: namespaces "nowhere" not found/);
  });
});
