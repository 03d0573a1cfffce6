// The real Suture (`suture run`, src/main.ts) as a child process against a local control plane: it serves its
// webhooks on a loopback port and publishes `--webhook-url=https://127.0.0.1:<port>`, so the API server calls it
// directly. Used by `make demo`; the shape follows test/scenarios/suture.ts.
//
//   const suture = await startSutureProcess({ kubeconfigPath, logPath: join(dir, 'suture.log') });
//   ...
//   await suture.stop();
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './probe.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface SutureProcessOptions {
  /** kubeconfig Suture runs with (admin, or a token of its own ServiceAccount). */
  readonly kubeconfigPath: string;
  /** Where stdout and stderr go (JSON log lines). */
  readonly logPath: string;
  /** Suture's namespace. Default suture-system. */
  readonly namespace?: string;
  /** Loopback port to serve on. Default: a free one. */
  readonly port?: number;
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
  readonly pid: number;
  readonly port: number;
  /** https://127.0.0.1:<port> */
  readonly url: string;
  readonly logPath: string;
  /** GET on Suture's HTTPS server (self-signed certificate: not verified); status and body. */
  get(path: string): Promise<{ status: number; body: string }>;
  /** SIGTERM, SIGKILL after 20 s; resolves once the process has exited. Safe to call more than once. */
  stop(): Promise<void>;
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
      throw new Error(`Suture exited (${child.exitCode ?? child.signalCode ?? '?'}) while starting; last lines of ${logPath}:\n${logTail(logPath)}`);
    }
    const answer = await getFromSuture(port, '/readyz', 1000);
    if (answer.status === 200) return;
    if (answer.status !== 0) last = answer.body.trim();
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`Suture was not ready within ${timeoutMs / 1000}s (last /readyz: ${last}); last lines of ${logPath}:\n${logTail(logPath)}`);
}

/** Starts `suture run` (with tsx unless `node` says otherwise) and resolves once /readyz answers 200; on failure the process is stopped. */
export async function startSutureProcess(options: SutureProcessOptions): Promise<SutureProcess> {
  const port = options.port ?? (await freePort());
  const url = `https://127.0.0.1:${port}`;
  const args = [
    ...(options.node ?? ['--import', 'tsx', join(root, 'src', 'main.ts')]),
    'run',
    `--kubeconfig=${options.kubeconfigPath}`,
    `--namespace=${options.namespace ?? 'suture-system'}`,
    '--webhook-host=127.0.0.1',
    `--webhook-port=${port}`,
    `--webhook-url=${url}`,
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, KUBECONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(options.logPath);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  // Never leave Suture behind, even when the parent exits without stop() (an uncaught error, process.exit()).
  const killNow = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.on('exit', killNow);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async (): Promise<void> => {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited(child);
      clearTimeout(killer);
      process.off('exit', killNow);
      await new Promise<void>((resolve) => log.end(resolve));
    })();
    return stopping;
  };
  try {
    await waitReady(child, port, options.logPath, options.readyTimeoutMs ?? 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { pid: child.pid ?? -1, port, url, logPath: options.logPath, get: (path) => getFromSuture(port, path), stop };
}
