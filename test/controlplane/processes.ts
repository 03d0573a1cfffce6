// Child processes of the control plane: each runs in its own process group with stdout and stderr in a log file,
// and can be stopped (SIGTERM, then SIGKILL) and awaited.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A started component of the control plane. */
export interface Component {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** Resolves with the exit code (or signal name) when the process ends; never rejects. */
  readonly exited: Promise<string>;
  /** True until the process has exited. */
  running(): boolean;
  /** The exit code or signal once exited, else undefined. */
  exitStatus(): string | undefined;
}

/** What to start: a binary of the control plane and its flags. */
export interface ComponentSpec {
  readonly name: string;
  readonly binary: string;
  readonly args: readonly string[];
}

/** Starts a component in its own process group (so stop() can signal the group), logging to <logDir>/<name>.log. */
export function startComponent(spec: ComponentSpec, logDir: string): Component {
  const logPath = join(logDir, `${spec.name}.log`);
  const fd = openSync(logPath, 'a');
  const child = spawn(spec.binary, [...spec.args], { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let status: string | undefined;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      status = signal ?? `exit code ${code}`;
      resolve(status);
    });
    child.once('error', (error) => {
      status = `failed to start: ${error.message}`;
      resolve(status);
    });
  });
  const running = (): boolean => status === undefined && child.pid !== undefined;
  return { name: spec.name, pid: child.pid ?? -1, logPath, exited, running, exitStatus: () => status };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Sends SIGTERM to the component's process group, then SIGKILL after `graceMs`; resolves once it has exited. */
export async function stopComponent(component: Component, graceMs = 10_000): Promise<void> {
  if (!component.running()) return;
  signalGroup(component.pid, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(component.pid, 'SIGKILL'), graceMs);
  await component.exited;
  clearTimeout(timer);
}

/** Kills the component's process group at once; synchronous, for use in a process 'exit' handler. */
export function killComponentNow(component: Component): void {
  if (component.running()) signalGroup(component.pid, 'SIGKILL');
}

/** The last `lines` lines of a component's log, for error messages. */
export function logTail(component: Component, lines = 30): string {
  let text: string;
  try {
    text = readFileSync(component.logPath, 'utf8');
  } catch {
    return `(no log at ${component.logPath})`;
  }
  const tail = text.trimEnd().split('\n').slice(-lines);
  return tail.map((line) => `    ${line}`).join('\n');
}
