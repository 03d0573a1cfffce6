// The hook that starts Suture for the scenario runner. The engineer who writes src/main.ts wires it here; until then
// it says what is missing instead of pretending (a fake Suture would make every scenario meaningless).

import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

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
/** Where Suture's entry point is (package.json "bin": dist/src/main.js, built from src/main.ts). */
export const ENTRY_POINTS = ['src/main.ts', 'dist/src/main.js'] as const;

/** What stands between the runner and a running Suture, in words. */
export function missingForSuture(repoRoot: string = root): string {
  const present = ENTRY_POINTS.filter((entry) => existsSync(join(repoRoot, entry)));
  if (present.length === 0) return `neither ${ENTRY_POINTS.join(' nor ')} exists`;
  return `${present.join(' and ')} exist(s), but ${relative(repoRoot, fileURLToPath(import.meta.url))} does not start it yet (its command line, readiness and the test clock are to be wired here)`;
}

/** Starts Suture against the control plane. Not runnable yet: throws, saying what is missing. */
export const startSuture: StartSuture = (_options) => Promise.reject(new SutureNotRunnableError(`Suture is not runnable yet: ${missingForSuture()}`));
