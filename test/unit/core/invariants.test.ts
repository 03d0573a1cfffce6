import { expect } from 'chai';
import type { KubeObject } from '../../../src/api/types.js';
import { celVariables } from '../../../src/core/cel.js';
import { applyAvert, evaluateInvariant, objectChanged, type InvariantContext, type InvariantResult } from '../../../src/core/invariants.js';
import { compilePolicy, type CompiledPolicy } from '../../../src/core/policy.js';
import { matchesObjectSelector } from '../../../src/core/selectors.js';
import { createSnapshot, projectSnapshot } from '../../../src/core/snapshot.js';
import type { AdmissionRequest, Affected } from '../../../src/core/types.js';
import {
  affected,
  configMap,
  createRequest,
  deleteRequest,
  deployment,
  edited,
  impactOf,
  labelled,
  ledger,
  ns,
  object,
  pod,
  policyObject,
  pvc,
  saUser,
  scaleRequest,
  secret,
  sts,
  updateRequest,
} from './fixtures.js';

const operator = saUser('ops', 'operator');
const NOW = Date.parse('2026-11-23T10:00:00Z');

function policyOf(spec: Record<string, unknown>): CompiledPolicy {
  const r = compilePolicy(policyObject('p', spec));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

interface Case {
  /** The policy spec (match, operations, one invariant). */
  spec: Record<string, unknown>;
  request: AdmissionRequest;
  /** The impact, target first. */
  impact: Affected[];
  /** The cluster before the request. */
  cluster?: KubeObject[];
  used?: Record<string, number>;
}

/** Runs the policy's first invariant the way decide() will: matched = impact entries matching match + operations. */
function run(c: Case): InvariantResult {
  const p = policyOf(c.spec);
  const before = createSnapshot(c.cluster ?? []);
  const impact = impactOf(...c.impact);
  const after = projectSnapshot(before, impact);
  const matchesPolicy = (o: KubeObject): boolean => p.match.some((m) => matchesObjectSelector(m, o, before));
  const matched = impact.affected.filter((a) => p.operations.includes(a.effect) && matchesPolicy(a.before ?? a.object));
  const ctx: InvariantContext = { policy: p.name, request: c.request, impact, matched, before, after, now: NOW, subjectKey: c.request.userInfo.username, budgets: ledger(c.used), matchesPolicy };
  const inv = p.invariants[0];
  if (inv === undefined) throw new Error('no invariant');
  return evaluateInvariant(inv, ctx);
}

function check(c: Case, result: InvariantResult['result'], ...includes: string[]): void {
  const r = run(c);
  expect(r.result, r.message).to.equal(result);
  for (const text of includes) expect(r.message).to.include(text);
}

const withStatus = (o: KubeObject, status: Record<string, unknown>): KubeObject => ({ ...o, status });

describe('core/invariants', () => {
  describe('protect', () => {
    const zk = { app: 'zookeeper-cluster' };
    const data = labelled(pvc('zk', 'data-zookeeper-cluster-0'), zk);
    const scratch = labelled(pvc('zk', 'scratch-zookeeper-cluster-0'), { app: 'zookeeper-scratch' });
    const spec = { match: [{ apiGroups: [''], kinds: ['PersistentVolumeClaim'], namespaces: ['zk'], selector: { matchLabels: zk } }], invariants: [{ name: 'data-survives', protect: {} }] };
    const cluster = [ns('zk'), data, scratch];

    it('fails on deleting a protected object, naming it (scenario 01)', () =>
      check({ spec: { ...spec, operations: ['DELETE'] }, request: deleteRequest(data, operator), impact: [affected(data, 'DELETE')], cluster }, 'fail', 'would delete 1 protected object', 'PersistentVolumeClaim zk/data-zookeeper-cluster-0'));
    it('passes on deleting an unprotected object (scenario 01)', () =>
      check({ spec: { ...spec, operations: ['DELETE'] }, request: deleteRequest(scratch, operator), impact: [affected(scratch, 'DELETE')], cluster }, 'pass'));

    const changedSpec = edited(data, (o) => ((o.spec as { resources: unknown }).resources = { requests: { storage: '2Gi' } }));
    it('fails on changing the spec of a protected object', () => check({ spec, request: updateRequest(data, changedSpec, operator), impact: [affected(changedSpec, 'UPDATE', data)], cluster }, 'fail', 'would change 1 protected object'));

    const relabelled = labelled(data, { extra: 'x' });
    it('fails on changing its labels', () => check({ spec, request: updateRequest(data, relabelled, operator), impact: [affected(relabelled, 'UPDATE', data)], cluster }, 'fail'));

    const noise = edited(data, (o) => {
      o.metadata.resourceVersion = '99';
      o.metadata.generation = 7;
      o.metadata.annotations = { 'kubectl.kubernetes.io/last-applied-configuration': '{}' };
      (o.metadata as Record<string, unknown>)['managedFields'] = [{ manager: 'kubectl' }];
      o['status'] = { phase: 'Bound' };
    });
    it('passes on status and metadata noise', () => check({ spec, request: updateRequest(data, noise, operator), impact: [affected(noise, 'UPDATE', data)], cluster }, 'pass'));

    it('names the first three of many and counts the rest (scenario 05)', () => {
      const certs = ['a', 'b', 'c', 'd', 'e'].map((n) => object('certmanager.k8s.io/v1alpha1', 'Certificate', `shop/${n}`, { spec: {} }));
      const crd = object('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'certificates.certmanager.k8s.io');
      const r = run({
        spec: { match: [{ apiGroups: ['certmanager.k8s.io'], kinds: ['Certificate'] }], operations: ['DELETE'], invariants: [{ name: 'certificates-survive', protect: {} }] },
        request: deleteRequest(crd, operator),
        impact: [affected(crd, 'DELETE'), ...certs.map((c) => affected(c, 'DELETE', undefined, 'CRD'))],
        cluster: [crd, ...certs],
      });
      expect(r.result).to.equal('fail');
      expect(r.message).to.match(/would delete 5 protected objects: .*Certificate shop\/a, .*Certificate shop\/b, .*Certificate shop\/c and 2 more/);
    });

    it('fails on a cascade reaching credentials (scenario 13)', () => {
      const owner = object('acid.zalan.do/v1', 'postgresql', 'pg/acid-minimal-cluster', { spec: {} });
      const creds = labelled(secret('pg', 'zalando.acid-minimal-cluster.credentials.postgresql.acid.zalan.do'), { credentials: 'true' });
      check(
        { spec: { match: [{ apiGroups: [''], kinds: ['Secret'], selector: { matchLabels: { credentials: 'true' } } }], operations: ['DELETE'], invariants: [{ name: 'credentials-survive', protect: {} }] }, request: deleteRequest(owner, operator), impact: [affected(owner, 'DELETE'), affected(creds, 'DELETE', undefined, 'ownerReference')], cluster: [owner, creds] },
        'fail',
        'zalando.acid-minimal-cluster.credentials',
      );
    });
  });

  describe('minAvailable on workloads', () => {
    const mq = withStatus(labelled(sts('mq', 'rabbitmq-cluster1-server', { replicas: 3 }), { app: 'rabbitmq-cluster1' }), { replicas: 3, readyReplicas: 3 });
    const spec = (min: Record<string, number>): Record<string, unknown> => ({ match: [{ apiGroups: ['apps'], kinds: ['StatefulSet'], namespaces: ['mq'] }], invariants: [{ name: 'keep-quorum', minAvailable: min }] });
    const scaled = (n: number): KubeObject => edited(mq, (o) => ((o.spec as { replicas: number }).replicas = n));
    const cases: [string, Record<string, number>, AdmissionRequest, Affected[], InvariantResult['result'], string][] = [
      ['delete leaves 0 (scenario 02)', { count: 2 }, deleteRequest(mq, operator), [affected(mq, 'DELETE')], 'fail', 'would leave ready replicas of apps/StatefulSet mq/rabbitmq-cluster1-server at 0 (3 now); at least 2 required'],
      ['scale to 1 leaves 1 (scenario 02)', { count: 2 }, scaleRequest(mq, 1, operator), [affected(scaled(1), 'UPDATE', mq)], 'fail', 'at 1 (3 now)'],
      ['scale to 5 keeps 3 (scenario 02)', { count: 2 }, updateRequest(mq, scaled(5), operator), [affected(scaled(5), 'UPDATE', mq)], 'pass', '3 ready replicas'],
      ['percent 50 of 3 needs 2: scale to 2 passes', { percent: 50 }, scaleRequest(mq, 2, operator), [affected(scaled(2), 'UPDATE', mq)], 'pass', 'at least 2'],
      ['percent 100 of 3: scale to 2 fails', { percent: 100 }, scaleRequest(mq, 2, operator), [affected(scaled(2), 'UPDATE', mq)], 'fail', 'at least 3 required'],
      ['a create has nothing to keep', { count: 2 }, createRequest(mq, operator), [affected(mq, 'CREATE')], 'pass', 'no workload'],
    ];
    for (const [name, min, request, impact, result, text] of cases) {
      it(name, () => check({ spec: spec(min), request, impact, cluster: [mq] }, result, text));
    }

    it('does not block an update that does not lower an already degraded workload', () => {
      const degraded = withStatus(deployment('mq', 'web', 3), { readyReplicas: 1 });
      const fixed = edited(degraded, (o) => ((o.spec as Record<string, unknown>)['template'] = { metadata: { annotations: { fix: '1' } } }));
      check({ spec: { match: [{ kinds: ['Deployment'] }], invariants: [{ name: 'q', minAvailable: { count: 2 } }] }, request: updateRequest(degraded, fixed, operator), impact: [affected(fixed, 'UPDATE', degraded)], cluster: [degraded] }, 'pass');
    });

    it('counts a DaemonSet by numberReady', () => {
      const ds = object('apps/v1', 'DaemonSet', 'kube-net/agent', { spec: {}, status: { numberReady: 4, desiredNumberScheduled: 4 } });
      check({ spec: { match: [{ kinds: ['DaemonSet'] }], invariants: [{ name: 'q', minAvailable: { percent: 50 } }] }, request: deleteRequest(ds, operator), impact: [affected(ds, 'DELETE')], cluster: [ds] }, 'fail', 'would leave ready replicas of apps/DaemonSet', 'at least 2 required');
    });
  });

  describe('minAvailable on pods (scenario 03)', () => {
    const label = { 'opster.io/opensearch-cluster': 'my-first-cluster' };
    const pods = [labelled(pod('search', 'nodes-0'), label), labelled(pod('search', 'nodes-1'), label), labelled(pod('search', 'nodes-2', undefined, false), label)];
    const other = labelled(pod('search', 'unrelated'), { app: 'x' });
    const spec = (min: Record<string, number>): Record<string, unknown> => ({ match: [{ apiGroups: [''], kinds: ['Pod'], namespaces: ['search'], selector: { matchLabels: label } }], operations: ['DELETE'], invariants: [{ name: 'two-ready-nodes', minAvailable: min }] });
    const del = (p: KubeObject, min: Record<string, number>): Case => ({ spec: spec(min), request: deleteRequest(p, operator), impact: [affected(p, 'DELETE')], cluster: [...pods, other] });
    const [ready0, , unready] = pods as [KubeObject, KubeObject, KubeObject];

    it('deleting the unready pod leaves 2 ready: passes count 2', () => check(del(unready, { count: 2 }), 'pass', '2 ready Pods'));
    it('deleting a ready pod leaves 1: fails count 2', () => check(del(ready0, { count: 2 }), 'fail', 'would leave ready Pods the policy matches at 1 (2 now); at least 2 required'));
    it('percent is of the matched pods before (50% of 3 = 2)', () => check(del(ready0, { percent: 50 }), 'fail', 'at least 2 required'));
    it('percent 30 of 3 = 1', () => check(del(ready0, { percent: 30 }), 'pass'));
    it('pods the policy does not match do not count', () => check({ ...del(ready0, { count: 2 }), cluster: [ready0, unready, other] }, 'fail', 'at 0 (1 now)'));
  });

  describe('immutable', () => {
    const before = { ...pvc('prod', 'pg-0'), spec: { storageClassName: 'fast', resources: { requests: { storage: '10Gi' } } } };
    const spec = { match: [{ kinds: ['PersistentVolumeClaim'] }], invariants: [{ name: 'class-fixed', immutable: { paths: ['/spec/storageClassName'] } }] };
    const cases: [string, KubeObject, KubeObject, InvariantResult['result'], string][] = [
      ['changed', before, edited(before, (o) => ((o.spec as Record<string, unknown>)['storageClassName'] = 'slow')), 'fail', 'would change /spec/storageClassName of PersistentVolumeClaim prod/pg-0 from fast to slow'],
      ['unchanged while other fields change', before, edited(before, (o) => ((o.spec as { resources: unknown }).resources = {})), 'pass', 'unchanged'],
      ['set where it was unset', pvc('prod', 'pg-0'), edited(pvc('prod', 'pg-0'), (o) => ((o.spec as Record<string, unknown>)['storageClassName'] = 'x')), 'fail', 'from (unset) to x'],
      ['removed', before, edited(before, (o) => delete (o.spec as Record<string, unknown>)['storageClassName']), 'fail', 'from fast to (unset)'],
    ];
    for (const [name, old, now, result, text] of cases) {
      it(name, () => check({ spec, request: updateRequest(old, now, operator), impact: [affected(now, 'UPDATE', old)], cluster: [old] }, result, text));
    }
    it('does not apply to a delete', () => check({ spec, request: deleteRequest(before, operator), impact: [affected(before, 'DELETE')], cluster: [before] }, 'pass'));

    it('reads escaped pointers (label keys with a slash)', () => {
      const namespace = ns('team', { 'pod-security.kubernetes.io/enforce': 'restricted' });
      const loosened = labelled(namespace, { 'pod-security.kubernetes.io/enforce': 'privileged' });
      check(
        { spec: { match: [{ kinds: ['Namespace'] }], operations: ['UPDATE'], invariants: [{ name: 'psa', immutable: { paths: ['/metadata/labels/pod-security.kubernetes.io~1enforce'] } }] }, request: updateRequest(namespace, loosened, operator), impact: [affected(loosened, 'UPDATE', namespace)], cluster: [namespace] },
        'fail',
        'from restricted to privileged',
      );
    });
  });

  describe('monotonic', () => {
    const storage = (q: unknown): KubeObject => ({ ...pvc('prod', 'pg-0'), spec: { resources: { requests: { storage: q } } } });
    const replicas = (n: unknown): KubeObject => ({ ...deployment('prod', 'web'), spec: { replicas: n } });
    const grow = { match: [{}], invariants: [{ name: 'grows', monotonic: { paths: ['/spec/resources/requests/storage'], direction: 'Increase' } }] };
    const shrink = { match: [{}], invariants: [{ name: 'shrinks', monotonic: { paths: ['/spec/replicas'], direction: 'Decrease' } }] };
    const cases: [string, Record<string, unknown>, KubeObject, KubeObject, InvariantResult['result'], string][] = [
      ['quantity grows', grow, storage('10Gi'), storage('20Gi'), 'pass', 'did not decrease'],
      ['quantity shrinks', grow, storage('10Gi'), storage('5Gi'), 'fail', 'would decrease /spec/resources/requests/storage of PersistentVolumeClaim prod/pg-0 from 10Gi to 5Gi'],
      ['quantities compared as quantities: 1Ti > 1000Gi', grow, storage('1Ti'), storage('1000Gi'), 'fail', 'from 1Ti to 1000Gi'],
      ['decimal and binary suffixes: 10G < 10Gi', grow, storage('10G'), storage('10Gi'), 'pass', ''],
      ['equal is allowed', grow, storage('10Gi'), storage('10240Mi'), 'pass', ''],
      ['removing the field fails', grow, storage('10Gi'), { ...pvc('prod', 'pg-0'), spec: {} }, 'fail', 'would remove'],
      ['nothing to compare when it was unset', grow, { ...pvc('prod', 'pg-0'), spec: {} }, storage('1Gi'), 'pass', ''],
      ['not a quantity: error, not a crash', grow, storage('big'), storage('bigger'), 'error', 'cannot compare'],
      ['numbers, Decrease: 3 → 2 passes', shrink, replicas(3), replicas(2), 'pass', ''],
      ['numbers, Decrease: 3 → 4 fails', shrink, replicas(3), replicas(4), 'fail', 'would increase /spec/replicas'],
    ];
    for (const [name, spec, old, now, result, text] of cases) {
      it(name, () => check({ spec, request: updateRequest(old, now, operator), impact: [affected(now, 'UPDATE', old)], cluster: [old] }, result, text));
    }
  });

  describe('maxCascade (scenario 04)', () => {
    const namespace = ns('foo-bar-uat', { tier: 'app' });
    const contents = [deployment('foo-bar-uat', 'web', 2), pvc('foo-bar-uat', 'uploads'), configMap('foo-bar-uat', 'settings'), labelled(configMap('foo-bar-uat', 'stale-a'), { gc: 'ok' })];
    const spec = { match: [{ namespaceSelector: { matchLabels: { tier: 'app' } } }], operations: ['DELETE'], invariants: [{ name: 'at-most-three-objects', maxCascade: { count: 3 } }] };
    it('a namespace delete removes 5 objects: fails', () =>
      check({ spec, request: deleteRequest(namespace, operator), impact: [affected(namespace, 'DELETE'), ...contents.map((o) => affected(o, 'DELETE', undefined, 'namespace'))], cluster: [namespace, ...contents] }, 'fail', 'would remove 5 objects in all (Namespace foo-bar-uat, ', 'and 2 more); at most 3 allowed'));
    it('deleting one ConfigMap: passes', () => {
      const stale = contents[3] as KubeObject;
      check({ spec, request: deleteRequest(stale, operator), impact: [affected(stale, 'DELETE')], cluster: [namespace, ...contents] }, 'pass', 'would remove 1 object in all');
    });
    it('exactly the limit passes', () => {
      const three = contents.slice(0, 3);
      check({ spec, request: deleteRequest(three[0] as KubeObject, operator), impact: three.map((o) => affected(o, 'DELETE')), cluster: [namespace, ...contents] }, 'pass');
    });
  });

  describe('budget (scenario 09)', () => {
    const pvcs = [0, 1, 2].map((i) => labelled(pvc('ch', `storage-chi-demo-${i}`), { app: 'clickhouse' }));
    const spec = (per?: string): Record<string, unknown> => ({ match: [{ kinds: ['PersistentVolumeClaim'], namespaces: ['ch'] }], operations: ['DELETE'], invariants: [{ name: 'two-deletes-per-ten-minutes', budget: { count: 2, window: '10m', ...(per === undefined ? {} : { per }) } }] });
    const target = pvcs[0] as KubeObject;
    const key = 'p/two-deletes-per-ten-minutes/system:serviceaccount:ops:operator';

    it('within budget: passes and says what it consumes', () => {
      const r = run({ spec: spec(), request: deleteRequest(target, operator), impact: [affected(target, 'DELETE')], cluster: pvcs, used: { [key]: 1 } });
      expect(r.result).to.equal('pass');
      expect(r.budget).to.deep.equal({ policy: 'p', invariant: 'two-deletes-per-ten-minutes', key: 'system:serviceaccount:ops:operator', count: 1, windowSeconds: 600, limit: 2 });
    });
    it('the third delete in the window fails', () =>
      check({ spec: spec(), request: deleteRequest(target, operator), impact: [affected(target, 'DELETE')], cluster: pvcs, used: { [key]: 2 } }, 'fail', 'budget exhausted: 2 of 2 matching effects used in 10m for system:serviceaccount:ops:operator; this request makes 1'));
    it('another subject has its own budget', () =>
      check({ spec: spec(), request: deleteRequest(target, saUser('ch', 'backup-operator')), impact: [affected(target, 'DELETE')], cluster: pvcs, used: { [key]: 2 } }, 'pass'));
    it('a cascade counts every matching effect', () =>
      check({ spec: spec(), request: deleteRequest(target, operator), impact: pvcs.map((p) => affected(p, 'DELETE')), cluster: pvcs }, 'fail', 'this request makes 3'));
    it('per Policy counts under the key ""', () => {
      const r = run({ spec: spec('Policy'), request: deleteRequest(target, operator), impact: [affected(target, 'DELETE')], cluster: pvcs, used: { 'p/two-deletes-per-ten-minutes/': 2 } });
      expect([r.result, r.budget?.key]).to.deep.equal(['fail', '']);
    });
  });

  describe('expression', () => {
    const crb = (role: string): KubeObject => object('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'site-admin', { roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role }, subjects: [] });
    const escalation = {
      match: [{ apiGroups: ['rbac.authorization.k8s.io'], kinds: ['ClusterRoleBinding', 'RoleBinding'] }],
      operations: ['CREATE', 'UPDATE'],
      invariants: [{ name: 'no-cluster-admin-grants', expression: "object.roleRef.name != 'cluster-admin' && object.roleRef.name != 'admin'", messageExpression: "'operators may not grant ' + object.roleRef.name" }],
    };
    it('fails with its messageExpression (scenario 07)', () => check({ spec: escalation, request: createRequest(crb('cluster-admin'), operator), impact: [affected(crb('cluster-admin'), 'CREATE')] }, 'fail', 'operators may not grant cluster-admin'));
    it('passes (scenario 07)', () => check({ spec: escalation, request: createRequest(crb('site-reader'), operator), impact: [affected(crb('site-reader'), 'CREATE')] }, 'pass'));

    const payload = (namespace: string, podSpec: Record<string, unknown>): KubeObject => ({ ...pod(namespace, 'x'), spec: podSpec });
    const safe = (name: string, expression: string, message: string): Record<string, unknown> => ({ match: [{ kinds: ['Pod'] }], operations: ['CREATE', 'UPDATE'], invariants: [{ name, expression, message }] });
    const sa = safe('declared-service-account', "has(object.spec.serviceAccountName) && object.spec.serviceAccountName == 'work-agent'", 'payload pods must run as work-agent');
    const priv = safe('not-privileged', 'object.spec.containers.all(c, !has(c.securityContext) || !has(c.securityContext.privileged) || !c.securityContext.privileged) && !has(object.spec.hostPID) && !has(object.spec.hostNetwork)', 'no');
    const home = safe('payloads-outside-operator-namespace', "request.namespace != 'ocm'", "the operator's namespace holds no payload pods");
    const cases: [string, Record<string, unknown>, KubeObject, InvariantResult['result']][] = [
      ['foreign service account (scenario 08)', sa, payload('workloads', { serviceAccountName: 'ops-admin', containers: [{ name: 'c' }] }), 'fail'],
      ['declared service account', sa, payload('workloads', { serviceAccountName: 'work-agent', containers: [{ name: 'c' }] }), 'pass'],
      ['privileged (scenario 08)', priv, payload('workloads', { serviceAccountName: 'work-agent', containers: [{ name: 'c', securityContext: { privileged: true } }] }), 'fail'],
      ['unprivileged', priv, payload('workloads', { containers: [{ name: 'c', securityContext: { privileged: false } }] }), 'pass'],
      ['payload in the operator namespace (scenario 08)', home, payload('ocm', { containers: [{ name: 'c' }] }), 'fail'],
      ['payload elsewhere', home, payload('workloads', { containers: [{ name: 'c' }] }), 'pass'],
    ];
    for (const [name, spec, obj, result] of cases) {
      it(name, () => check({ spec, request: createRequest(obj, operator), impact: [affected(obj, 'CREATE')] }, result));
    }

    it('reads the impact: no Secrets by cascade', () => {
      const owner = object('acid.zalan.do/v1', 'postgresql', 'pg/db', { spec: {} });
      const creds = secret('pg', 'creds');
      check(
        { spec: { match: [{ kinds: ['Secret'] }], operations: ['DELETE'], invariants: [{ name: 'no-cascade', expression: "impact.deleted.all(o, o.kind != 'Secret')", message: 'operators may not delete Secrets by cascade' }] }, request: deleteRequest(owner, operator), impact: [affected(owner, 'DELETE'), affected(creds, 'DELETE', undefined, 'ownerReference')], cluster: [owner, creds] },
        'fail',
        'operators may not delete Secrets by cascade',
      );
    });

    it('reads the cluster after the request', () => {
      const standby = withStatus(deployment('prod', 'pg-standby'), { readyReplicas: 1 });
      const primary = deployment('prod', 'pg');
      const spec = { match: [{ kinds: ['Deployment'] }], invariants: [{ name: 'standby-left', expression: "cluster.get('apps/v1', 'Deployment', 'prod', 'pg-standby').status.readyReplicas >= 1" }] };
      check({ spec, request: deleteRequest(primary, operator), impact: [affected(primary, 'DELETE')], cluster: [primary, standby] }, 'pass');
      check({ spec, request: deleteRequest(standby, operator), impact: [affected(standby, 'DELETE')], cluster: [primary, standby] }, 'error', 'could not be evaluated');
    });

    it('an evaluation error is an error result, not an exception', () =>
      check({ spec: { match: [{}], invariants: [{ name: 'e', expression: 'object.spec.nothing > 1' }] }, request: createRequest(configMap('a', 'b'), operator), impact: [affected(configMap('a', 'b'), 'CREATE')] }, 'error', 'No such key'));

    it('a failing messageExpression falls back to the message and says so', () =>
      check({ spec: { match: [{}], invariants: [{ name: 'e', expression: 'false', message: 'static', messageExpression: "'x' + object.nothing" }] }, request: createRequest(configMap('a', 'b'), operator), impact: [affected(configMap('a', 'b'), 'CREATE')] }, 'fail', 'static (messageExpression failed: No such key: nothing'));

    it('a built-in invariant with a message leads with it', () => {
      const d = pvc('a', 'b');
      check({ spec: { match: [{}], invariants: [{ name: 'keep', protect: {}, message: 'ask the DBA first' }] }, request: deleteRequest(d, operator), impact: [affected(d, 'DELETE')], cluster: [d] }, 'fail', 'ask the DBA first (would delete 1 protected object');
    });
  });

  describe('avert', () => {
    const web = deployment('prod', 'web', 3);
    const down = edited(web, (o) => ((o.spec as { replicas: number }).replicas = 1));
    const spec = (avert: unknown, operations = ['CREATE', 'UPDATE']): Record<string, unknown> => ({ match: [{ kinds: ['Deployment'] }], operations, invariants: [{ name: 'two-replicas', expression: 'object.spec.replicas >= 2', avert }] });

    it('a failing UPDATE gets a patch and the patched object, which then passes', () => {
      const r = run({ spec: spec({ set: [{ path: '/spec/replicas', valueExpression: 'oldObject.spec.replicas - 1' }] }), request: updateRequest(web, down, operator), impact: [affected(down, 'UPDATE', web)], cluster: [web] });
      expect(r.result).to.equal('fail');
      expect(r.patch).to.deep.equal([{ op: 'replace', path: '/spec/replicas', value: 2 }]);
      expect((r.patched?.spec as { replicas: number }).replicas).to.equal(2);
      const again = run({ spec: spec(undefined), request: updateRequest(web, r.patched as KubeObject, operator), impact: [affected(r.patched as KubeObject, 'UPDATE', web)], cluster: [web] });
      expect(again.result).to.equal('pass');
    });

    it('adds missing parents, escapes keys, and reads literal values as JSON', () => {
      const r = run({ spec: spec({ set: [{ path: '/metadata/labels/team~1owner', value: 'core' }, { path: '/spec/replicas', value: '2' }] }), request: createRequest(down, operator), impact: [affected(down, 'CREATE')] });
      expect(r.patch).to.deep.equal([
        { op: 'add', path: '/metadata/labels', value: {} },
        { op: 'add', path: '/metadata/labels/team~1owner', value: 'core' },
        { op: 'replace', path: '/spec/replicas', value: 2 },
      ]);
    });

    it('a passing request gets no patch', () => {
      const r = run({ spec: spec({ set: [{ path: '/spec/replicas', value: '2' }] }), request: updateRequest(down, web, operator), impact: [affected(web, 'UPDATE', down)], cluster: [down] });
      expect([r.result, r.patch]).to.deep.equal(['pass', undefined]);
    });

    it('applyAvert reports a valueExpression error instead of throwing', () => {
      const p = policyOf(spec({ set: [{ path: '/spec/replicas', valueExpression: 'object.spec.nope' }] }));
      const vars = celVariables({ object: down, after: createSnapshot([]), before: createSnapshot([]), now: NOW });
      const r = applyAvert(down, p.invariants[0]?.avert ?? [], vars);
      expect(r.ok).to.equal(false);
      if (!r.ok) expect(r.error).to.include('No such key: nope');
      expect((down.spec as { replicas: number }).replicas).to.equal(1); // the input is not touched
    });
  });

  it('objectChanged ignores noise and sees content', () => {
    const a = configMap('a', 'b');
    expect(objectChanged(a, { ...a, metadata: { ...a.metadata, resourceVersion: '2' }, status: {} })).to.equal(false);
    expect(objectChanged(a, { ...a, data: { k: 'v' } })).to.equal(true);
    expect(objectChanged(a, { ...a, binaryData: { k: 'AA==' } })).to.equal(true);
  });
});
