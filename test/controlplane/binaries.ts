// Locates etcd, kube-apiserver, kube-controller-manager and kubectl: an explicit directory, or build.sh's cache
// (building them first if needed, with build.sh's progress streamed through).
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const controlPlaneBinaries = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kubectl'] as const;
export type ControlPlaneBinary = (typeof controlPlaneBinaries)[number];

const buildScript = join(dirname(fileURLToPath(import.meta.url)), 'build.sh');

/** Throws, naming the missing one, unless every binary is an executable file in `binDir`. */
export function checkBinaries(binDir: string): void {
  for (const name of controlPlaneBinaries) {
    try {
      accessSync(join(binDir, name), constants.X_OK);
    } catch {
      throw new Error(`${join(binDir, name)} is missing or not executable: run test/controlplane/build.sh (make controlplane), or point SUTURE_CONTROLPLANE_BIN at a directory holding ${controlPlaneBinaries.join(', ')}`);
    }
  }
}

/** Runs build.sh (which returns at once when its cache is complete) and returns the directory it prints last. */
export async function buildBinaries(onProgress: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(buildScript, [], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) onProgress(line);
    });
    child.once('error', (error) => reject(new Error(`could not run ${buildScript}: ${error.message}`)));
    child.once('close', (code) => {
      if (pending !== '') onProgress(pending);
      const binDir = stdout.trimEnd().split('\n').pop() ?? '';
      if (code !== 0 || binDir === '') reject(new Error(`${buildScript} failed (exit ${code}); its output is above`));
      else resolve(binDir);
    });
  });
}

/** The binary directory: `override` when given (checked), else build.sh's cache. */
export async function findBinaries(override: string | undefined, onProgress: (line: string) => void): Promise<string> {
  const binDir = override !== undefined && override !== '' ? override : await buildBinaries(onProgress);
  checkBinaries(binDir);
  return binDir;
}
