// make demo: the main job, start to finish, on a real local control plane. It starts etcd, kube-apiserver and
// kube-controller-manager, installs the CRDs, starts Suture (`suture run`) as its own service account with the RBAC
// of config/rbac, creates the identities and workloads the examples name, applies examples/, lets a misbehaving
// operator loose (examples/misbehaving-operator.ts) and shows what Suture recorded. Everything it started is stopped
// at the end, whatever happens. Every expectation is checked: the exit code is non-zero if any fails, so the demo is
// also a smoke test.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { findBinaries } from '../test/controlplane/binaries.js';
import type { ControlPlane } from '../test/controlplane/harness.js';
import { startControlPlane, statusPreservingControllers } from '../test/controlplane/harness.js';
import { kubeConfigYaml } from '../test/controlplane/kubeconfig.js';
import { pollUntil } from '../test/controlplane/probe.js';
import { SUTURE_NAMESPACE, startSutureProcess, type SutureProcess } from '../test/controlplane/suture-process.js';
import { serviceAccountKubeConfig } from '../test/controlplane/service-account.js';
import { runMisbehavingOperator, type ActionResult } from './misbehaving-operator.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** No workload controllers: with no kubelet they would reset the StatefulSet's status the demo writes (3 ready). */
const CONTROLLERS: readonly string[] = statusPreservingControllers;

/**
 * The identities and workloads the examples name: the postgres operator and the autoscaler with the broad RBAC real
 * operators ship with, a three-member postgres StatefulSet with its volumes in `prod`, and the nginx Deployment in
 * `web` whose replica count the autoscaler leases.
 */
const WORLD = `
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: Namespace, metadata: {name: db-system}}
  - {apiVersion: v1, kind: Namespace, metadata: {name: autoscaling}}
  - {apiVersion: v1, kind: Namespace, metadata: {name: prod}}
  - {apiVersion: v1, kind: Namespace, metadata: {name: web}}
  - {apiVersion: v1, kind: ServiceAccount, metadata: {name: postgres-operator, namespace: db-system}}
  - {apiVersion: v1, kind: ServiceAccount, metadata: {name: autoscaler, namespace: autoscaling}}
  - apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRoleBinding
    metadata: {name: postgres-operator-admin}
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
    subjects: [{kind: ServiceAccount, name: postgres-operator, namespace: db-system}]
  - apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRoleBinding
    metadata: {name: autoscaler-admin}
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
    subjects: [{kind: ServiceAccount, name: autoscaler, namespace: autoscaling}]
  - apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: pg, namespace: prod, labels: {app: pg}}
    spec:
      replicas: 3
      serviceName: pg
      selector: {matchLabels: {app: pg}}
      template:
        metadata: {labels: {app: pg}}
        spec: {containers: [{name: postgres, image: "postgres:17"}]}
  - {apiVersion: v1, kind: Service, metadata: {name: pg, namespace: prod, labels: {app: pg}}, spec: {clusterIP: None, selector: {app: pg}, ports: [{port: 5432}]}}
${[0, 1, 2].map((i) => `  - {apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: pg-data-${i}, namespace: prod, labels: {app: pg}}, spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 10Gi}}}}`).join('\n')}
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: nginx, namespace: web, labels: {app: nginx}}
    spec:
      replicas: 3
      selector: {matchLabels: {app: nginx}}
      template:
        metadata: {labels: {app: nginx}}
        spec: {containers: [{name: nginx, image: "nginx:1.27"}]}
`;

/** What steps share. */
interface Demo {
  binDir: string;
  /** Logs and kubeconfigs of this run; kept when the demo fails. */
  readonly workDir: string;
  controlPlane?: ControlPlane;
  suture?: SutureProcess;
  results: ActionResult[];
  /** suture_decisions_total{verdict="deny"} per policy, read before Suture stops. */
  readonly deniedByPolicy: Map<string, number>;
  /** Expectations that failed, in words. */
  readonly failures: string[];
}

interface Step {
  readonly title: string;
  run(demo: Demo): Promise<void>;
}

function started(demo: Demo): ControlPlane {
  if (demo.controlPlane === undefined) throw new Error('the control plane is not started: the start step must come first');
  return demo.controlPlane;
}

/** Runs the built kubectl against the demo's control plane (optionally with stdin) and returns its stdout. */
async function kubectl(demo: Demo, args: readonly string[], input?: string): Promise<string> {
  const cp = started(demo);
  const child = spawn(join(cp.binDir, 'kubectl'), ['--kubeconfig', cp.kubeconfigPath, ...args], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  child.stdin.end(input ?? '');
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${code}): ${Buffer.concat(err).toString('utf8').trim()}`);
  return Buffer.concat(out).toString('utf8');
}

function show(command: string, output: string, maxLines = Infinity): void {
  console.log(`$ ${command}`);
  const lines = output.trimEnd().split('\n');
  console.log(lines.slice(0, maxLines).join('\n'));
  if (lines.length > maxLines) console.log(`… ${lines.length - maxLines} more lines`);
}

/** Runs kubectl and shows the command and its output. */
async function showKubectl(demo: Demo, args: readonly string[], maxLines = Infinity): Promise<void> {
  show(`kubectl ${args.join(' ')}`, await kubectl(demo, args), maxLines);
}

async function jsonOf<T>(demo: Demo, args: readonly string[]): Promise<T> {
  return JSON.parse(await kubectl(demo, [...args, '-o', 'json'])) as T;
}

interface SutureObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    decisions?: { denied?: number; warned?: number; audited?: number; lastDenied?: { decisionId?: string; request?: string } };
    generated?: { kind: string; namespace?: string; name: string }[];
  };
}

function expect(demo: Demo, ok: boolean, what: string): void {
  console.log(`  ${ok ? '✓' : '✗'} ${what}`);
  if (!ok) demo.failures.push(what);
}

/** The exception's expiresAt must lie within --max-exception-duration of now: the demo sets it to now + 2h. */
function exceptionWithFreshExpiry(): string {
  const file = join(root, 'examples', 'exceptions', 'restore-from-backup.yaml');
  const expiresAt = new Date(Date.now() + 2 * 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => doc.toJS() as { spec: { expiresAt: string } });
  for (const doc of docs) doc.spec.expiresAt = expiresAt;
  console.log(`examples/exceptions/restore-from-backup.yaml with spec.expiresAt: ${expiresAt} (now + 2h)`);
  return docs.map((doc) => stringify(doc)).join('---\n');
}

/** Waits until every policy is Ready and every lease has left Pending, printing what it waits for. */
async function awaitSutureObjects(demo: Demo): Promise<void> {
  let waiting: string[] = [];
  await pollUntil(
    async () => {
      const policies = (await jsonOf<{ items: SutureObject[] }>(demo, ['get', 'sp'])).items;
      const leases = (await jsonOf<{ items: SutureObject[] }>(demo, ['get', 'sl', '-A'])).items;
      waiting = [
        ...policies.filter((p) => p.status?.conditions?.find((c) => c.type === 'Ready')?.status !== 'True').map((p) => `SuturePolicy ${p.metadata.name}`),
        ...leases.filter((l) => !['Granted', 'Conflicted'].includes(l.status?.phase ?? '')).map((l) => `SutureLease ${l.metadata.namespace ?? ''}/${l.metadata.name}`),
      ];
      return waiting.length === 0 && policies.length > 0 && leases.length > 0;
    },
    { what: 'policies Ready and leases Granted or Conflicted', timeoutMs: 30_000, intervalMs: 300 },
  ).catch((error: unknown) => {
    throw new Error(`${error instanceof Error ? error.message : String(error)}; still waiting for ${waiting.join(', ')}`);
  });
}

/** Suture rewrites its webhook configurations as objects arrive; wait until both exist and stayed unchanged for 1 s. */
async function awaitWebhooksSettled(demo: Demo): Promise<void> {
  let last = '';
  let since = Date.now();
  await pollUntil(
    async () => {
      const versions = await Promise.all(
        ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration'].map(async (kind) => {
          try {
            return (await jsonOf<SutureObject>(demo, ['get', kind, 'suture'])).metadata.resourceVersion ?? '?';
          } catch {
            return 'absent';
          }
        }),
      );
      const now = versions.join('/');
      if (now !== last) [last, since] = [now, Date.now()];
      return !now.includes('absent') && Date.now() - since >= 1000;
    },
    { what: "Suture's webhook configurations to settle", timeoutMs: 20_000, intervalMs: 250 },
  );
}

function policyCounts(policies: readonly SutureObject[]): string {
  const rows = policies.filter((p) => (p.status?.decisions?.denied ?? 0) + (p.status?.decisions?.warned ?? 0) > 0);
  const width = Math.max(...rows.map((p) => p.metadata.name.length), 6);
  const lines = rows.map((p) => `  ${p.metadata.name.padEnd(width)}  denied ${p.status?.decisions?.denied ?? 0}  last: ${p.status?.decisions?.lastDenied?.request ?? '-'} [${p.status?.decisions?.lastDenied?.decisionId ?? '-'}]`);
  return lines.join('\n');
}

interface DecisionRecord {
  subject: string;
  request: string;
  decision: { verdict: string; trace: { stage: string; summary: string }[] };
}

/** The first decision id in a message: `[decision <id>]`. */
function decisionIdOf(message: string): string | undefined {
  return /\[decision ([^\]]+)\]/.exec(message)?.[1];
}

const steps: readonly Step[] = [
  {
    title: 'Build (first time only) or reuse etcd, kube-apiserver, kube-controller-manager and kubectl',
    run: async (demo) => {
      demo.binDir = await findBinaries(process.env.SUTURE_CONTROLPLANE_BIN, (line) => console.log(line));
      console.log(`binaries in ${demo.binDir}`);
    },
  },
  {
    title: 'Start the control plane (fresh PKI, etcd, kube-apiserver, kube-controller-manager; no kubelet)',
    run: async (demo) => {
      demo.controlPlane = await startControlPlane({ binDir: demo.binDir, controllers: CONTROLLERS, log: (line) => console.log(line) });
      await showKubectl(demo, ['version']);
    },
  },
  {
    title: "Install Suture's CRDs (config/crd) and its namespace, service account and RBAC (config/rbac)",
    run: async (demo) => {
      await showKubectl(demo, ['apply', '--server-side', '-k', 'config/crd']);
      await kubectl(demo, ['wait', '--for=condition=Established', '--timeout=30s', 'crd/sutureleases.suture.dev', 'crd/suturepolicies.suture.dev', 'crd/sutureexceptions.suture.dev']);
      await showKubectl(demo, ['create', 'namespace', SUTURE_NAMESPACE]);
      await showKubectl(demo, ['apply', '-k', 'config/rbac']);
    },
  },
  {
    title: 'Start Suture (suture run) as system:serviceaccount:suture-system:suture and wait for /readyz',
    run: async (demo) => {
      const cp = started(demo);
      // Suture runs with only the rights config/rbac gives it: a token of its own service account, as in a pod.
      const identity = await serviceAccountKubeConfig(cp.kubeConfig, { namespace: SUTURE_NAMESPACE, name: 'suture' }, 3600);
      const kubeconfigPath = join(demo.workDir, 'suture.kubeconfig');
      writeFileSync(kubeconfigPath, kubeConfigYaml(identity), { mode: 0o600 });
      const startedAt = Date.now();
      demo.suture = await startSutureProcess({ kubeconfigPath, logPath: join(demo.workDir, 'suture.log'), namespace: SUTURE_NAMESPACE });
      console.log(`Suture (pid ${demo.suture.pid}) serves ${demo.suture.url}; /readyz said ok after ${((Date.now() - startedAt) / 1000).toFixed(1)}s; log: ${demo.suture.logPath}`);
      await awaitWebhooksSettled(demo);
      await showKubectl(demo, ['get', 'validatingwebhookconfigurations,mutatingwebhookconfigurations', '-l', 'app.kubernetes.io/managed-by=suture']);
      await showKubectl(demo, ['get', 'lease', '-n', SUTURE_NAMESPACE, '-o', 'custom-columns=LEADER ELECTION:.metadata.name,HOLDER:.spec.holderIdentity']);
    },
  },
  {
    title: 'Create the identities and workloads the examples name (operators with cluster-admin, a 3-member database)',
    run: async (demo) => {
      show('kubectl apply -f - <<< "namespaces, service accounts, cluster-admin bindings, StatefulSet prod/pg, PVCs prod/pg-data-{0,1,2}, Deployment web/nginx"', await kubectl(demo, ['apply', '-f', '-'], WORLD));
      // No kubelet runs pods: write the status a healthy database would have.
      const status = { status: { replicas: 3, readyReplicas: 3, availableReplicas: 3, currentReplicas: 3, updatedReplicas: 3 } };
      await showKubectl(demo, ['patch', 'statefulset', 'pg', '-n', 'prod', '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
      await showKubectl(demo, ['get', 'statefulset,pvc', '-n', 'prod']);
    },
  },
  {
    title: 'Apply examples/: two leases, data-protection policies, guardrails, a break-glass exception',
    run: async (demo) => {
      await showKubectl(demo, ['apply', '-f', 'examples/leases', '-f', 'examples/policies']);
      show('kubectl apply -f -', await kubectl(demo, ['apply', '-f', '-'], exceptionWithFreshExpiry()));
      await awaitSutureObjects(demo);
      await awaitWebhooksSettled(demo);
      await showKubectl(demo, ['get', 'sl,sp,sx', '-A']);
      const leases = (await jsonOf<{ items: SutureObject[] }>(demo, ['get', 'sl', '-A'])).items;
      for (const lease of leases) expect(demo, lease.status?.phase === 'Granted', `lease ${lease.metadata.namespace ?? ''}/${lease.metadata.name} is Granted (${lease.status?.phase ?? 'no phase'}); generated: ${(lease.status?.generated ?? []).map((g) => `${g.kind} ${g.name}`).join(', ') || 'nothing'}`);
    },
  },
  {
    title: 'A misbehaving operator: normal work is allowed, harm is denied with an explanation',
    run: async (demo) => {
      demo.results = await runMisbehavingOperator(started(demo).kubeConfig);
      for (const result of demo.results.filter((r) => !r.ok)) demo.failures.push(`${result.tried}: expected ${result.expected}, got ${result.got}${result.message === '' ? '' : ` (${result.message})`}`);
      const allowed = demo.results.filter((r) => r.got === 'ALLOWED').length;
      const denied = demo.results.filter((r) => r.got === 'DENIED').length;
      console.log(`\n  ${demo.results.length} requests: ${allowed} allowed, ${denied} denied, ${demo.results.filter((r) => !r.ok).length} unexpected`);
      console.log('\n  …and the cluster is intact:');
      const sts = await jsonOf<{ spec: { replicas: number } }>(demo, ['get', 'statefulset', 'pg', '-n', 'prod']);
      expect(demo, sts.spec.replicas === 4, `StatefulSet prod/pg has ${sts.spec.replicas} replicas (4 after the allowed scale-up)`);
      const pvcs = (await jsonOf<{ items: SutureObject[] }>(demo, ['get', 'pvc', '-n', 'prod'])).items.map((p) => p.metadata.name);
      expect(demo, pvcs.length === 3, `namespace prod and its PVCs are there (${pvcs.join(', ')})`);
      const nginx = await jsonOf<{ spec: { replicas: number } }>(demo, ['get', 'deployment', 'nginx', '-n', 'web']);
      expect(demo, nginx.spec.replicas === 3, `Deployment web/nginx still has the autoscaler's ${nginx.spec.replicas} replicas`);
    },
  },
  {
    title: 'What Suture recorded: Events on the objects, the decision record, metrics',
    run: async (demo) => {
      // Events are written in batches: wait until every denied target and rule has one.
      const denials = demo.results.filter((r) => r.got === 'DENIED').length;
      await pollUntil(async () => (await jsonOf<{ items: unknown[] }>(demo, ['get', 'events', '-A', '--field-selector', 'reason=Denied'])).items.length >= denials, {
        what: 'an Event per denial',
        timeoutMs: 20_000,
        intervalMs: 500,
      });
      await showKubectl(demo, ['get', 'events', '-A', '--field-selector', 'reason=Denied', '--sort-by=.lastTimestamp', '-o', 'custom-columns=NAMESPACE:.metadata.namespace,OBJECT:.involvedObject.kind,NAME:.involvedObject.name,REASON:.reason,COUNT:.count']);
      const suture = demo.suture;
      const first = demo.results.find((r) => r.got === 'DENIED');
      const id = first === undefined ? undefined : decisionIdOf(first.message);
      expect(demo, id !== undefined, `the denial message names its decision (${id ?? 'none'})`);
      if (id === undefined || suture === undefined) return;
      const answer = await suture.get(`/decisions/${id}`);
      expect(demo, answer.status === 200, `GET /decisions/${id} on Suture answers ${answer.status}`);
      if (answer.status === 200) {
        const record = JSON.parse(answer.body) as DecisionRecord;
        console.log(`\n$ curl -k ${suture.url}/decisions/${id}   (the record, stage by stage)`);
        console.log(`  ${record.request} by ${record.subject} → ${record.decision.verdict}`);
        for (const stage of record.decision.trace) console.log(`  ${stage.stage.padEnd(10)} ${stage.summary}`);
      }
      const metrics = (await suture.get('/metrics')).body.split('\n').filter((line) => line.startsWith('suture_decisions_total{'));
      show(`curl -k ${suture.url}/metrics | grep suture_decisions_total`, metrics.join('\n'));
      for (const line of metrics) {
        const match = /verdict="deny",policy="([^"]+)"\} (\d+)/.exec(line);
        if (match !== null) demo.deniedByPolicy.set(match[1] ?? '', Number(match[2]));
      }
    },
  },
  {
    title: 'Stop Suture (SIGTERM: it writes its pending counts into status and releases the leader Lease)',
    run: async (demo) => {
      await demo.suture?.stop();
      await showKubectl(demo, ['get', 'sl,sp', '-A']);
      const policies = (await jsonOf<{ items: SutureObject[] }>(demo, ['get', 'sp'])).items;
      console.log('\ndenials per policy (status.decisions):');
      console.log(policyCounts(policies));
      for (const [policy, count] of demo.deniedByPolicy) {
        const status = policies.find((p) => p.metadata.name === policy)?.status?.decisions?.denied ?? 0;
        expect(demo, status === count, `SuturePolicy ${policy} counts ${status} denials in status (metrics: ${count})`);
      }
    },
  },
];

function banner(index: number, title: string): void {
  const text = `[${index + 1}/${steps.length}] ${title}`;
  console.log(`\n${'='.repeat(text.length + 4)}\n  ${text}\n${'='.repeat(text.length + 4)}`);
}

async function stopAll(demo: Demo): Promise<void> {
  await demo.suture?.stop();
  if (demo.controlPlane !== undefined) {
    console.log('stopping the control plane…');
    await demo.controlPlane.stop();
  }
}

async function main(): Promise<number> {
  const startedAt = Date.now();
  const demo: Demo = { binDir: '', workDir: mkdtempSync(join(tmpdir(), 'suture-demo-')), results: [], failures: [], deniedByPolicy: new Map() };
  let error: Error | undefined;
  try {
    for (const [index, step] of steps.entries()) {
      banner(index, step.title);
      const stepStart = Date.now();
      await step.run(demo);
      console.log(`(${((Date.now() - stepStart) / 1000).toFixed(1)}s)`);
    }
  } catch (caught) {
    error = caught instanceof Error ? caught : new Error(String(caught));
  } finally {
    await stopAll(demo);
  }
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  if (error === undefined && demo.failures.length === 0) {
    rmSync(demo.workDir, { recursive: true, force: true });
    console.log(`\ndemo finished in ${seconds}s: every expectation held; everything it started is stopped.`);
    return 0;
  }
  if (error !== undefined) console.error(`\ndemo failed after ${seconds}s: ${error.message}`);
  for (const failure of demo.failures) console.error(`✗ ${failure}`);
  console.error(`everything it started is stopped; Suture's log and kubeconfig are kept in ${demo.workDir}`);
  return 1;
}

process.exitCode = await main();
