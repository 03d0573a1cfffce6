// The hook that starts Suture for the scenario runner: the real operator process (`suture run`, src/main.ts) against
// the runner's control plane, serving its webhooks on a free loopback port, with the scenario's clock through the
// test-only clock option.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { createObjectClient } from '../../src/kube/client.js';

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
}

export type StartSuture = (options: StartSutureOptions) => Promise<SutureHandle>;

export class SutureNotRunnableError extends Error {
  override readonly name = 'SutureNotRunnableError';
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Suture's entry point. */
export const ENTRY_POINT = 'src/main.ts';
export const SUTURE_NAMESPACE = 'suture-system';
const READY_TIMEOUT_MS = 60_000;

/** What stands between the runner and a running Suture, in words; undefined when nothing does. */
export function missingForSuture(repoRoot: string = root): string | undefined {
  return existsSync(join(repoRoot, ENTRY_POINT)) ? undefined : `${ENTRY_POINT} does not exist`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

function readyz(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    // Suture's own self-signed serving certificate: this probe only asks whether the process says it is ready.
    const req = request({ host: '127.0.0.1', port, path: '/readyz', rejectUnauthorized: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function ensureNamespace(kubeconfigPath: string): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const client = createObjectClient(kc);
  const ref = { apiVersion: 'v1', kind: 'Namespace', name: SUTURE_NAMESPACE };
  if ((await client.find(ref)) === undefined) await client.create({ ...ref, metadata: { name: SUTURE_NAMESPACE } });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

async function waitReady(child: ChildProcess, port: number, logPath: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new SutureNotRunnableError(`Suture exited with code ${child.exitCode} while starting; see ${logPath}`);
    if (await readyz(port)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new SutureNotRunnableError(`Suture did not become ready within ${READY_TIMEOUT_MS / 1000}s; see ${logPath}`);
}

let port: number | undefined;

/** Starts `suture run` as a child process and resolves once its /readyz answers 200. */
export const startSuture: StartSuture = async (options) => {
  const missing = missingForSuture();
  if (missing !== undefined) throw new SutureNotRunnableError(`Suture is not runnable: ${missing}`);
  await ensureNamespace(options.kubeconfigPath);
  // The same port across restarts (a new clock means a new process): the webhook configurations Suture published
  // stay valid, so nothing fails in the moment before the new process has rewritten them.
  port ??= await freePort();
  const logDir = mkdtempSync(join(tmpdir(), 'suture-scenarios-'));
  const logPath = join(logDir, 'suture.log');
  const args = ['--import', 'tsx', join(root, ENTRY_POINT), 'run', `--kubeconfig=${options.kubeconfigPath}`, `--namespace=${SUTURE_NAMESPACE}`, '--webhook-host=127.0.0.1', `--webhook-port=${port}`, `--webhook-url=https://127.0.0.1:${port}`, '--lease-duration=4s', '--renew-deadline=3s', '--retry-period=1s'];
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (options.clock !== undefined) {
    args.push(`--unsafe-test-clock=${options.clock}`);
    env.SUTURE_ALLOW_TEST_CLOCK = '1';
  }
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logPath);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  await waitReady(child, port, logPath);
  return {
    stop: async () => {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited(child);
      clearTimeout(killer);
    },
  };
};
