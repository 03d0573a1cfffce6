// The one way the tests, the scenario runner, the benchmarks and the demo start the real Suture (`suture run`,
// src/main.ts) against a local control plane: a child process that serves its webhooks on a loopback port and
// publishes `--webhook-url` (its own https://127.0.0.1:<port>, or a balancer's in front of several replicas:
// test/scenarios/suture.ts), resolved once /readyz answers 200.
//
//   const suture = await startSutureProcess({ kubeconfigPath, logPath: join(dir, 'suture.log') });
//   ...
//   await suture.stop();
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './probe.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Suture's entry point, run through tsx unless `node` says otherwise. */
export const ENTRY_POINT = 'src/main.ts';
export const SUTURE_NAMESPACE = 'suture-system';
const STOP_GRACE_MS = 20_000;

export interface SutureProcessOptions {
  /** kubeconfig Suture runs with (admin, or a token of its own ServiceAccount). */
  readonly kubeconfigPath: string;
  /** Where stdout and stderr go (JSON log lines), appended: a restarted replica keeps one log. */
  readonly logPath: string;
  /** Suture's namespace. Default suture-system. */
  readonly namespace?: string;
  /** Loopback port to serve on. Default: a free one. */
  readonly port?: number;
  /** The URL the API server calls. Default: this process's own https://127.0.0.1:<port>. */
  readonly webhookUrl?: string;
  /** Leader election identity (POD_NAME). Default: Suture's own (the host name). */
  readonly name?: string;
  /**
   * RFC 3339 instant Suture must take as "now" when it evaluates time conditions (a scenario's `clock:`); it then
   * runs on from there. Test-only: Suture accepts it only with SUTURE_ALLOW_TEST_CLOCK=1, which this sets.
   */
  readonly clock?: string;
  /** More `suture run` flags. */
  readonly args?: readonly string[];
  /** How long to wait for /readyz. Default 60 s. */
  readonly readyTimeoutMs?: number;
  /**
   * Node's arguments before `run`: the entry point and flags. Default: src/main.ts through tsx. `make bench` runs the
   * compiled dist/src/main.js with --max-semi-space-size=64, as the container image does.
   */
  readonly node?: readonly string[];
}

/** Node arguments that run the compiled Suture (after `make build`) with `flags` (e.g. --cpu-prof). */
export function compiledSuture(flags: readonly string[] = []): string[] {
  return [...flags, join(root, 'dist', 'src', 'main.js')];
}

export interface SutureProcess {
  /** POD_NAME, when one was given. */
  readonly name: string | undefined;
  readonly pid: number;
  readonly port: number;
  /** https://127.0.0.1:<port> */
  readonly url: string;
  readonly logPath: string;
  running(): boolean;
  /** GET on Suture's HTTPS server (self-signed certificate: not verified); status and body. */
  get(path: string): Promise<{ status: number; body: string }>;
  /** SIGTERM (Suture drains and releases its Lease), SIGKILL after 20 s; resolves once it has exited. Safe to call more than once. */
  stop(): Promise<void>;
  /** SIGKILL at once (a crash: nothing is released); resolves once it has exited. */
  kill(): Promise<void>;
}

export class SutureNotRunnableError extends Error {
  override readonly name = 'SutureNotRunnableError';
}

/** What stands between the caller and a running Suture, in words; undefined when nothing does. */
export function missingForSuture(repoRoot: string = root): string | undefined {
  return existsSync(join(repoRoot, ENTRY_POINT)) ? undefined : `${ENTRY_POINT} does not exist`;
}

/** GET https://127.0.0.1:<port><path>; status 0 when nothing answered. */
export function getFromSuture(port: number, path: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    // Suture's own CA signed the certificate; this client only asks Suture about itself, over loopback.
    const req = request({ host: '127.0.0.1', port, path, rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => resolve({ status: 0, body: '' }));
    });
    req.on('error', (error) => resolve({ status: 0, body: error.message }));
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.end();
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

function logTail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).map((line) => `    ${line}`).join('\n');
  } catch {
    return `    (no log at ${path})`;
  }
}

async function waitReady(child: ChildProcess, port: number, logPath: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new SutureNotRunnableError(`Suture exited (${child.exitCode ?? child.signalCode ?? '?'}) while starting; last lines of ${logPath}:\n${logTail(logPath)}`);
    }
    const answer = await getFromSuture(port, '/readyz', 1000);
    if (answer.status === 200) return;
    if (answer.status !== 0) last = answer.body.trim();
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new SutureNotRunnableError(`Suture was not ready within ${timeoutMs / 1000}s (last /readyz: ${last}); last lines of ${logPath}:\n${logTail(logPath)}`);
}

/** Starts `suture run` and resolves once /readyz answers 200; on failure the process is stopped. */
export async function startSutureProcess(options: SutureProcessOptions): Promise<SutureProcess> {
  const missing = options.node === undefined ? missingForSuture() : undefined;
  if (missing !== undefined) throw new SutureNotRunnableError(`Suture is not runnable: ${missing}`);
  const port = options.port ?? (await freePort());
  const url = `https://127.0.0.1:${port}`;
  const args = [
    ...(options.node ?? ['--import', 'tsx', join(root, ENTRY_POINT)]),
    'run',
    `--kubeconfig=${options.kubeconfigPath}`,
    `--namespace=${options.namespace ?? SUTURE_NAMESPACE}`,
    '--webhook-host=127.0.0.1',
    `--webhook-port=${port}`,
    `--webhook-url=${options.webhookUrl ?? url}`,
    ...(options.args ?? []),
  ];
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: '' };
  if (options.name !== undefined) env.POD_NAME = options.name;
  if (options.clock !== undefined) {
    args.push(`--unsafe-test-clock=${options.clock}`);
    env.SUTURE_ALLOW_TEST_CLOCK = '1';
  }
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(options.logPath, { flags: 'a' });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  // Never leave Suture behind, even when the parent exits without stop() (an uncaught error, process.exit()).
  const killNow = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.on('exit', killNow);
  let ending: Promise<void> | undefined;
  const end = (signal: NodeJS.Signals, graceMs: number): Promise<void> => {
    if (signal === 'SIGKILL') killNow();
    ending ??= (async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const killer = setTimeout(killNow, graceMs);
      await exited(child);
      clearTimeout(killer);
      process.off('exit', killNow);
      await new Promise<void>((resolve) => log.end(resolve));
    })();
    return ending;
  };
  try {
    await waitReady(child, port, options.logPath, options.readyTimeoutMs ?? 60_000);
  } catch (error) {
    await end('SIGTERM', 5_000);
    throw error;
  }
  return {
    name: options.name,
    pid: child.pid ?? -1,
    port,
    url,
    logPath: options.logPath,
    running: () => child.exitCode === null && child.signalCode === null,
    get: (path) => getFromSuture(port, path),
    stop: () => end('SIGTERM', STOP_GRACE_MS),
    kill: () => end('SIGKILL', 5_000),
  };
}
