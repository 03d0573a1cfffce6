// Real Suture processes for the scenario runner and the integration tests: N replicas of `suture run` (started by
// test/controlplane/suture-process.ts, the one module that starts Suture) against a control plane, each on its own
// loopback port, all behind one TcpBalancer port that every replica publishes as --webhook-url (the API server calls
// one URL, as it calls one Service in a cluster). The scenario's clock reaches Suture through the test-only clock option.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createObjectClient, loadKubeConfig, type ObjectClient } from '../../src/kube/client.js';
import { freePort } from '../controlplane/probe.js';
import { SUTURE_NAMESPACE, startSutureProcess, type SutureProcess } from '../controlplane/suture-process.js';
import { TcpBalancer } from './balancer.js';

export interface StartSutureOptions {
  /** Admin kubeconfig of the control plane Suture must govern. */
  readonly kubeconfigPath: string;
  /**
   * RFC 3339 instant Suture must take as "now" when it evaluates time conditions (the scenario's `clock:`); it then
   * runs on from there. Undefined = real time. Test-only: a production deployment must have no way to set it.
   */
  readonly clock?: string;
}

export interface SutureHandle {
  /** Stops Suture and awaits its exit. */
  stop(): Promise<void>;
  /** Optional: switch the clock without a full stop/start; the runner falls back to stop + start. */
  restart?(options: { clock?: string }): Promise<void>;
  /** Optional: kill one replica (the leader when known) and start it again; resolves what was done, in words. */
  restartOne?(): Promise<string>;
}

export type StartSuture = (options: StartSutureOptions) => Promise<SutureHandle>;

/** The coordination.k8s.io Lease the replicas elect their leader on (Suture's default --leader-election-id). */
export const LEADER_LEASE = 'suture-leader';
/** Short leader election timings, so that a failover takes seconds. */
export const LEADER_ELECTION_ARGS: readonly string[] = ['--lease-duration=4s', '--renew-deadline=3s', '--retry-period=1s'];

function adminClient(kubeconfigPath: string): ObjectClient {
  return createObjectClient(loadKubeConfig({ kind: 'file', path: kubeconfigPath }));
}

async function ensureNamespace(client: ObjectClient): Promise<void> {
  const ref = { apiVersion: 'v1', kind: 'Namespace', name: SUTURE_NAMESPACE };
  if ((await client.find(ref)) === undefined) await client.create({ ...ref, metadata: { name: SUTURE_NAMESPACE } });
}

export interface ReplicaPoolOptions {
  readonly kubeconfigPath: string;
  /** How many replicas (≥ 1). */
  readonly replicas: number;
  readonly extraArgs?: readonly string[];
}

/**
 * N Suture replicas behind one balancer. Each replica slot keeps its port and identity (`suture-<i>`) across
 * restarts, and the balancer keeps its port for the pool's life, so the webhook configurations stay valid.
 */
export class SutureReplicaPool {
  readonly balancer = new TcpBalancer();
  readonly names: readonly string[];
  private readonly client: ObjectClient;
  private readonly logDir = mkdtempSync(join(tmpdir(), 'suture-replicas-'));
  private ports: number[] = [];
  private balancerPort = 0;
  private readonly processes = new Map<number, SutureProcess>();
  private clock: string | undefined;

  constructor(private readonly options: ReplicaPoolOptions) {
    if (!Number.isInteger(options.replicas) || options.replicas < 1) throw new Error(`replicas must be a whole number ≥ 1, not ${options.replicas}`);
    this.names = Array.from({ length: options.replicas }, (_, i) => `suture-${i}`);
    this.client = adminClient(options.kubeconfigPath);
  }

  /** The URL every replica publishes in the webhook configurations. */
  get url(): string {
    return `https://127.0.0.1:${this.balancerPort}`;
  }

  get logs(): string {
    return this.logDir;
  }

  /** Each replica's own port, by index. */
  portOf(index: number): number {
    const port = this.ports[index];
    if (port === undefined) throw new Error(`no replica ${index}`);
    return port;
  }

  process(index: number): SutureProcess | undefined {
    return this.processes.get(index);
  }

  /** Starts the balancer (first time) and every replica that is not running, concurrently; awaits /readyz of each. */
  async start(clock?: string): Promise<void> {
    this.clock = clock;
    if (this.balancerPort === 0) {
      this.ports = await Promise.all(this.names.map(() => freePort()));
      this.balancer.setBackends(this.ports);
      this.balancerPort = await this.balancer.listen();
    }
    await ensureNamespace(this.client);
    await Promise.all(this.names.map((_, i) => (this.processes.get(i)?.running() === true ? Promise.resolve() : this.startOne(i))));
  }

  /** Starts replica `index` again (after stop or kill) with the pool's clock. */
  async startOne(index: number): Promise<SutureProcess> {
    const name = this.names[index];
    if (name === undefined) throw new Error(`no replica ${index}`);
    const started = await startSutureProcess({
      kubeconfigPath: this.options.kubeconfigPath,
      name,
      port: this.portOf(index),
      webhookUrl: this.url,
      logPath: join(this.logDir, `${name}.log`),
      ...(this.clock === undefined ? {} : { clock: this.clock }),
      args: [...LEADER_ELECTION_ARGS, ...(this.options.extraArgs ?? [])],
    });
    this.processes.set(index, started);
    return started;
  }

  /** The identity holding the leader Lease now (it may have expired: see leaderIndex for a live one). */
  async leaseHolder(): Promise<string | undefined> {
    const lease = await this.client.find<{ apiVersion: string; kind: string; metadata: object; spec?: { holderIdentity?: string } }>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: SUTURE_NAMESPACE, name: LEADER_LEASE });
    const holder = lease?.spec?.holderIdentity;
    return holder === undefined || holder === '' ? undefined : holder;
  }

  /** The index of the replica that holds the Lease and is running; undefined when none does. */
  async leaderIndex(): Promise<number | undefined> {
    const holder = await this.leaseHolder();
    const index = holder === undefined ? -1 : this.names.indexOf(holder);
    return index >= 0 && this.processes.get(index)?.running() === true ? index : undefined;
  }

  /** SIGTERM to every replica, concurrently. The balancer stays (the same URL for the next start). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.processes.values()].map((p) => p.stop()));
    this.processes.clear();
  }

  /** Stops every replica and the balancer. */
  async close(): Promise<void> {
    await this.stopAll();
    await this.balancer.close();
  }

  /** Kills (SIGKILL) the leader — or replica 0 when no leader is known — and starts it again; says what it did. */
  async restartLeader(): Promise<string> {
    const leader = await this.leaderIndex();
    const index = leader ?? 0;
    const victim = this.processes.get(index);
    const started = Date.now();
    await victim?.kill();
    await this.startOne(index);
    return `killed ${leader === undefined ? 'replica' : 'leader'} ${this.names[index] ?? index} (pid ${victim?.pid ?? '?'}) with SIGKILL and started it again: ready after ${((Date.now() - started) / 1000).toFixed(1)}s`;
  }
}

/**
 * The runner's start hook: `replicas` real Suture processes behind one balancer. The pool (and its URL) lives across
 * clock changes; only the processes are restarted.
 */
export function replicatedSuture(replicas: number): StartSuture {
  let pool: SutureReplicaPool | undefined;
  return async (options) => {
    const current = pool ?? new SutureReplicaPool({ kubeconfigPath: options.kubeconfigPath, replicas });
    pool = current;
    await current.start(options.clock);
    return {
      stop: async () => {
        await current.close();
        pool = undefined;
      },
      restart: async ({ clock }) => {
        await current.stopAll();
        await current.start(clock);
      },
      restartOne: () => current.restartLeader(),
    };
  };
}

/** One Suture process (the runner's historic default). */
export const startSuture: StartSuture = replicatedSuture(1);
