// make cluster-up / cluster-down: a control plane that outlives the command that started it.
//
//   npx tsx test/controlplane/cluster.ts up      builds/reuses the binaries, starts `serve` detached, waits until ready
//   npx tsx test/controlplane/cluster.ts down    stops it and removes .cache/cluster
//   npx tsx test/controlplane/cluster.ts status  says whether it is up
//   (serve <binDir>: the detached process itself; not for direct use)
//
// State lives in <repo>/.cache/cluster: kubeconfig, state.json (pids, server, temp dir) and serve.log.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findBinaries } from './binaries.js';
import { startControlPlane } from './harness.js';
import { pollUntil } from './probe.js';

const self = fileURLToPath(import.meta.url);
const repoRoot = resolve(dirname(self), '..', '..');
const stateDir = join(repoRoot, '.cache', 'cluster');
const paths = {
  kubeconfig: join(stateDir, 'kubeconfig'),
  state: join(stateDir, 'state.json'),
  log: join(stateDir, 'serve.log'),
};

interface ClusterState {
  readonly pid: number;
  readonly server: string;
  readonly binDir: string;
  readonly dir: string;
  readonly components: readonly { name: string; pid: number }[];
  readonly startedAt: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readState(): ClusterState | undefined {
  if (!existsSync(paths.state)) return undefined;
  return JSON.parse(readFileSync(paths.state, 'utf8')) as ClusterState;
}

function printHowToUse(state: ClusterState): void {
  const kubectl = join(state.binDir, 'kubectl');
  console.log(`control plane up at ${state.server} (serve pid ${state.pid}, since ${state.startedAt})`);
  console.log(`export KUBECONFIG=${paths.kubeconfig}`);
  console.log(`kubectl: ${kubectl}`);
  console.log(`  try: ${kubectl} --kubeconfig ${paths.kubeconfig} get namespaces`);
  console.log('stop it with: make cluster-down');
}

function logTail(lines = 40): string {
  return existsSync(paths.log) ? readFileSync(paths.log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '(no log)';
}

async function up(): Promise<number> {
  const existing = readState();
  if (existing !== undefined && isAlive(existing.pid)) {
    console.log('already up.');
    printHowToUse(existing);
    return 0;
  }
  if (existing !== undefined) await down();
  const binDir = await findBinaries(process.env.SUTURE_CONTROLPLANE_BIN, (line) => console.error(line));
  mkdirSync(stateDir, { recursive: true });
  const fd = openSync(paths.log, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', self, 'serve', binDir], { cwd: repoRoot, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  const childPid = child.pid ?? -1;
  try {
    await pollUntil(async () => Promise.resolve(existsSync(paths.state)), {
      what: `control plane (serve pid ${childPid})`,
      timeoutMs: 120_000,
      abort: () => (isAlive(childPid) ? undefined : 'serve exited'),
    });
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\nlast lines of ${paths.log}:\n${logTail()}`);
    if (isAlive(childPid)) process.kill(childPid, 'SIGTERM');
    return 1;
  }
  printHowToUse(readState() as ClusterState);
  return 0;
}

function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Kills what a serve process that died without cleaning up left behind (only pids still running our binaries). */
function killLeftovers(state: ClusterState): void {
  for (const { pid } of state.components) {
    if (!(commandLine(pid) ?? '').startsWith(state.binDir)) continue;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Exited meanwhile.
    }
  }
  rmSync(state.dir, { recursive: true, force: true });
}

async function down(): Promise<number> {
  const state = readState();
  if (state === undefined) {
    console.log('not running.');
    rmSync(stateDir, { recursive: true, force: true });
    return 0;
  }
  if (isAlive(state.pid)) {
    process.kill(state.pid, 'SIGTERM');
    await pollUntil(async () => Promise.resolve(!isAlive(state.pid)), { what: `serve pid ${state.pid} to exit`, timeoutMs: 30_000 }).catch(() => process.kill(state.pid, 'SIGKILL'));
  }
  killLeftovers(state);
  rmSync(stateDir, { recursive: true, force: true });
  console.log(`stopped the control plane at ${state.server}.`);
  return 0;
}

function status(): number {
  const state = readState();
  if (state !== undefined && isAlive(state.pid)) {
    printHowToUse(state);
    return 0;
  }
  console.log(state === undefined ? 'not running.' : `not running: serve pid ${state.pid} is gone; make cluster-down cleans up what it left.`);
  return 1;
}

/** The detached process: starts the control plane, publishes its kubeconfig and state, and runs until SIGTERM. */
async function serve(binDir: string): Promise<void> {
  const cp = await startControlPlane({ binDir, log: (line) => console.log(line) });
  writeFileSync(paths.kubeconfig, readFileSync(cp.kubeconfigPath), { mode: 0o600 });
  const state: ClusterState = {
    pid: process.pid,
    server: cp.server,
    binDir: cp.binDir,
    dir: cp.dir,
    components: cp.components.map(({ name, pid }) => ({ name, pid })),
    startedAt: new Date().toISOString(),
  };
  // Written last and atomically: `up` takes its existence to mean "ready".
  writeFileSync(`${paths.state}.tmp`, JSON.stringify(state, null, 2));
  renameSync(`${paths.state}.tmp`, paths.state);
  // The harness stops the control plane on SIGTERM; this timer only keeps the process alive until then.
  setInterval(() => undefined, 1 << 30);
}

async function main(argv: readonly string[]): Promise<number> {
  switch (argv[0]) {
    case 'up':
      return up();
    case 'down':
      return down();
    case 'status':
      return status();
    case 'serve':
      await serve(argv[1] ?? '');
      return -1;
    default:
      console.error('usage: cluster.ts up|down|status');
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  },
);
