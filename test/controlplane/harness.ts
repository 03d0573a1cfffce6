// A real, local Kubernetes control plane for tests and demos: etcd, kube-apiserver and kube-controller-manager
// built from Go modules (build.sh), with a fresh PKI in a temp dir. No kubelet or scheduler: pods never run.
//
//   const cp = await startControlPlane({ log: (line) => console.error(line) });
//   const core = cp.kubeConfig.makeApiClient(CoreV1Api);
//   ...
//   await cp.stop();
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { findBinaries } from './binaries.js';
import { kubeConfigYaml, makeKubeConfig } from './kubeconfig.js';
import type { CertificateAuthority, KeyPairPem, SigningKeyPem } from './pki.js';
import { createCertificateAuthority, createSigningKey, issueClientCertificate, issueServingCertificate } from './pki.js';
import { freePort, pollUntil, probe } from './probe.js';
import type { Component, ComponentSpec } from './processes.js';
import { killComponentNow, logTail, startComponent, stopComponent } from './processes.js';

/**
 * Controllers that leave the `status` a test writes alone: namespaces, garbage collection, service accounts, RBAC
 * aggregation, the root CA, and the PV/PVC protection finalizers (deletes finish). The scenario runner and the demo
 * run these only: with no kubelet, the workload controllers would set readyReplicas back to 0.
 */
export const statusPreservingControllers: readonly string[] = [
  'namespace-controller',
  'garbage-collector-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'clusterrole-aggregation-controller',
  'root-ca-certificate-publisher-controller',
  'persistentvolumeclaim-protection-controller',
  'persistentvolume-protection-controller',
];

/** The controllers kube-controller-manager runs by default here: the above and the workloads' first level. */
export const defaultControllers: readonly string[] = [
  ...statusPreservingControllers,
  // Harmless without a kubelet: they create ReplicaSets and Pods, which stay Pending.
  'deployment-controller',
  'replicaset-controller',
  'statefulset-controller',
];

export interface ControlPlaneOptions {
  /** Directory holding the binaries; when absent, build.sh finds (or builds) them. */
  readonly binDir?: string;
  /** Progress lines (build output, startup steps). Default: discarded. */
  readonly log?: (line: string) => void;
  /** Stop the control plane on SIGINT/SIGTERM and kill it on process exit. Default true. */
  readonly handleSignals?: boolean;
  /** Keep the temp dir (logs, PKI, etcd data) after stop(), for debugging. Default false. */
  readonly keepDir?: boolean;
  /** Write an audit log (level Metadata) to <dir>/audit.log. Default false. */
  readonly audit?: boolean;
  readonly controllers?: readonly string[];
  /**
   * More kube-apiserver flags, appended last (a later flag wins), e.g.
   * `--admission-control-config-file=<file>` with static admission manifests, or `--feature-gates=…`.
   */
  readonly apiserverArgs?: readonly string[];
  /**
   * More kube-controller-manager flags, appended last, e.g. `--use-service-account-credentials=true`: each controller
   * then acts as its own service account in kube-system (as on most clusters) rather than as this admin.
   */
  readonly controllerManagerArgs?: readonly string[];
  /** Time each component may take to become ready. Default 60 s. */
  readonly readyTimeoutMs?: number;
}

/** A running control plane. */
export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** Admin kubeconfig (O=system:masters) as a file, for kubectl. */
  readonly kubeconfigPath: string;
  readonly caPem: string;
  /** Admin client for client-node. */
  readonly kubeConfig: KubeConfig;
  /** The temp dir holding PKI, etcd data and one log file per component. */
  readonly dir: string;
  readonly binDir: string;
  /** Set when started with `audit: true`. */
  readonly auditLogPath?: string;
  readonly components: readonly Pick<Component, 'name' | 'pid' | 'logPath'>[];
  /** A client identified by a fresh client certificate (CN = user, O = groups); it has no permissions unless bound. */
  clientCert(user: string, groups?: readonly string[]): Promise<KubeConfig>;
  /** Stops every process, awaits their exit and removes `dir`. Safe to call more than once. */
  stop(): Promise<void>;
}

interface Pki {
  readonly ca: CertificateAuthority;
  readonly serving: KeyPairPem;
  readonly admin: KeyPairPem;
  readonly serviceAccount: SigningKeyPem;
}

interface Ports {
  readonly etcdClient: number;
  readonly etcdPeer: number;
  readonly apiserver: number;
  readonly controllerManager: number;
}

/** Paths of the files written into the temp dir. */
interface Files {
  readonly caCert: string;
  readonly servingCert: string;
  readonly servingKey: string;
  readonly saKey: string;
  readonly saPub: string;
  readonly kubeconfig: string;
  readonly auditPolicy: string;
  readonly auditLog: string;
}

/** What is running so far; stop() and the exit handlers work from this. */
interface Running {
  readonly dir: string;
  readonly keepDir: boolean;
  readonly components: Component[];
  detachSignals: () => void;
  stopping?: Promise<void>;
}

const auditPolicy = 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: Metadata\n';

async function createPki(): Promise<Pki> {
  const ca = await createCertificateAuthority('suture-local-ca');
  return {
    ca,
    serving: await issueServingCertificate(ca, 'kube-apiserver', { ips: ['127.0.0.1'], dnsNames: ['localhost'] }),
    admin: await issueClientCertificate(ca, 'suture-admin', ['system:masters']),
    serviceAccount: await createSigningKey(),
  };
}

function writePki(dir: string, pki: Pki): Files {
  const files: Files = {
    caCert: join(dir, 'ca.crt'),
    servingCert: join(dir, 'serving.crt'),
    servingKey: join(dir, 'serving.key'),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
    kubeconfig: join(dir, 'admin.kubeconfig'),
    auditPolicy: join(dir, 'audit-policy.yaml'),
    auditLog: join(dir, 'audit.log'),
  };
  writeFileSync(files.caCert, pki.ca.certPem);
  writeFileSync(files.servingCert, pki.serving.certPem);
  writeFileSync(files.servingKey, pki.serving.keyPem, { mode: 0o600 });
  writeFileSync(files.saKey, pki.serviceAccount.privateKeyPem, { mode: 0o600 });
  writeFileSync(files.saPub, pki.serviceAccount.publicKeyPem);
  writeFileSync(files.auditPolicy, auditPolicy);
  return files;
}

async function allocatePorts(): Promise<Ports> {
  return { etcdClient: await freePort(), etcdPeer: await freePort(), apiserver: await freePort(), controllerManager: await freePort() };
}

function etcdSpec(binDir: string, dir: string, ports: Ports): ComponentSpec {
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  return {
    name: 'etcd',
    binary: join(binDir, 'etcd'),
    args: [
      '--name=suture',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=suture=${peer}`,
      // Test data: losing it on a crash is fine, and skipping fsync makes the API server several times faster.
      '--unsafe-no-fsync=true',
    ],
  };
}

function apiserverSpec(binDir: string, files: Files, ports: Ports, options: Pick<ControlPlaneOptions, 'audit' | 'apiserverArgs'>): ComponentSpec {
  const audit = options.audit ?? false;
  const extra = options.apiserverArgs ?? [];
  const auditArgs = audit ? [`--audit-policy-file=${files.auditPolicy}`, `--audit-log-path=${files.auditLog}`] : [];
  return {
    name: 'kube-apiserver',
    binary: join(binDir, 'kube-apiserver'),
    args: [
      `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${ports.apiserver}`,
      `--tls-cert-file=${files.servingCert}`,
      `--tls-private-key-file=${files.servingKey}`,
      `--client-ca-file=${files.caCert}`,
      '--authorization-mode=Node,RBAC',
      `--service-account-issuer=https://127.0.0.1:${ports.apiserver}`,
      `--service-account-key-file=${files.saPub}`,
      `--service-account-signing-key-file=${files.saKey}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      // The default reconciler publishes the advertise address as the `kubernetes` Endpoints, and a loopback
      // address is invalid there (an error every 10 s). Nothing runs in-cluster, so nothing needs them.
      '--endpoint-reconciler-type=none',
      ...auditArgs,
      ...extra,
    ],
  };
}

function controllerManagerSpec(binDir: string, files: Files, ports: Ports, options: Pick<ControlPlaneOptions, 'controllers' | 'controllerManagerArgs'>): ComponentSpec {
  return {
    name: 'kube-controller-manager',
    binary: join(binDir, 'kube-controller-manager'),
    args: [
      `--kubeconfig=${files.kubeconfig}`,
      `--authentication-kubeconfig=${files.kubeconfig}`,
      // Trust client certificates from our CA directly instead of looking up kube-system/extension-apiserver-
      // authentication, whose request-header CA this API server does not set (an error on every retry otherwise).
      '--authentication-skip-lookup=true',
      `--client-ca-file=${files.caCert}`,
      `--authorization-kubeconfig=${files.kubeconfig}`,
      '--leader-elect=false',
      `--controllers=${(options.controllers ?? defaultControllers).join(',')}`,
      `--root-ca-file=${files.caCert}`,
      `--service-account-private-key-file=${files.saKey}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.controllerManager}`,
      `--tls-cert-file=${files.servingCert}`,
      `--tls-private-key-file=${files.servingKey}`,
      ...(options.controllerManagerArgs ?? []),
    ],
  };
}

/** Polls until `ready` holds; on failure the error carries the tail of the component's log. */
async function awaitReady(component: Component, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const abort = (): string | undefined => (component.running() ? undefined : `exited during startup (${component.exitStatus() ?? 'not started'})`);
  try {
    await pollUntil(ready, { what: `${component.name} (pid ${component.pid})`, timeoutMs, abort });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\n  last lines of ${component.logPath}:\n${logTail(component)}`, { cause: error });
  }
}

async function stopRunning(running: Running): Promise<void> {
  running.stopping ??= (async (): Promise<void> => {
    for (const component of [...running.components].reverse()) await stopComponent(component);
    running.detachSignals();
    if (!running.keepDir) rmSync(running.dir, { recursive: true, force: true });
  })();
  return running.stopping;
}

/** Installs SIGINT/SIGTERM handlers (stop, then exit 128+n) and an exit handler (kill at once, remove the dir). */
function attachSignals(running: Running): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    const code = signal === 'SIGINT' ? 130 : 143;
    void stopRunning(running).finally(() => process.exit(code));
  };
  const onExit = (): void => {
    for (const component of running.components) killComponentNow(component);
    if (!running.keepDir) rmSync(running.dir, { recursive: true, force: true });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', onExit);
  running.detachSignals = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  };
}

function launch(running: Running, spec: ComponentSpec, log: (line: string) => void): Component {
  const component = startComponent(spec, running.dir);
  running.components.push(component);
  log(`  started ${spec.name} (pid ${component.pid}, log ${component.logPath})`);
  return component;
}

async function defaultServiceAccountExists(kc: KubeConfig): Promise<boolean> {
  await kc.makeApiClient(CoreV1Api).readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
  return true;
}

interface StartContext {
  readonly binDir: string;
  readonly running: Running;
  readonly log: (line: string) => void;
  readonly timeoutMs: number;
}

async function startProcesses(ctx: StartContext, options: ControlPlaneOptions): Promise<ControlPlane> {
  const { binDir, running, log, timeoutMs } = ctx;
  const pki = await createPki();
  const files = writePki(running.dir, pki);
  const ports = await allocatePorts();
  const server = `https://127.0.0.1:${ports.apiserver}`;
  const adminTls = { ca: pki.ca.certPem, cert: pki.admin.certPem, key: pki.admin.keyPem };

  const etcd = launch(running, etcdSpec(binDir, running.dir, ports), log);
  await awaitReady(etcd, async () => (await probe(`http://127.0.0.1:${ports.etcdClient}/health`)).body.includes('"health":"true"'), timeoutMs);
  const apiserver = launch(running, apiserverSpec(binDir, files, ports, options), log);
  await awaitReady(apiserver, async () => (await probe(`${server}/readyz`, adminTls)).status === 200, timeoutMs);

  const endpoint = { server, caPem: pki.ca.certPem };
  const kubeConfig = makeKubeConfig(endpoint, { user: 'suture-admin', ...pki.admin });
  writeFileSync(files.kubeconfig, kubeConfigYaml(kubeConfig), { mode: 0o600 });
  const kcm = launch(running, controllerManagerSpec(binDir, files, ports, options), log);
  await awaitReady(kcm, async () => (await probe(`https://127.0.0.1:${ports.controllerManager}/healthz`, { ca: pki.ca.certPem })).status === 200, timeoutMs);
  // The service-account controller creates `default` in every namespace; the ServiceAccount admission plugin needs it.
  await awaitReady(kcm, () => defaultServiceAccountExists(kubeConfig), timeoutMs);

  return {
    server,
    kubeconfigPath: files.kubeconfig,
    caPem: pki.ca.certPem,
    kubeConfig,
    dir: running.dir,
    binDir,
    ...(options.audit === true ? { auditLogPath: files.auditLog } : {}),
    components: running.components.map(({ name, pid, logPath }) => ({ name, pid, logPath })),
    clientCert: async (user, groups = []) => makeKubeConfig(endpoint, { user, ...(await issueClientCertificate(pki.ca, user, groups)) }),
    stop: () => stopRunning(running),
  };
}

/** Builds (or reuses) the binaries, then starts etcd, kube-apiserver and kube-controller-manager and waits until they are ready. */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = options.log ?? ((): void => undefined);
  const binDir = await findBinaries(options.binDir, log);
  const running: Running = { dir: mkdtempSync(join(tmpdir(), 'suture-cp-')), keepDir: options.keepDir ?? false, components: [], detachSignals: () => undefined };
  if (options.handleSignals ?? true) attachSignals(running);
  const started = Date.now();
  log(`starting the control plane in ${running.dir}`);
  try {
    const controlPlane = await startProcesses({ binDir, running, log, timeoutMs: options.readyTimeoutMs ?? 60_000 }, options);
    log(`control plane ready at ${controlPlane.server} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    return controlPlane;
  } catch (error) {
    await stopRunning(running);
    throw error;
  }
}
