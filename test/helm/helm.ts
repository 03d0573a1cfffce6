// Locates Helm for the tests: SUTURE_HELM when set, else test/helm/build.sh's cache (building it first if needed).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const buildScript = join(import.meta.dirname, 'build.sh');

/** The path of a helm binary built from helm.sh/helm/v4 (go.mod beside this file). */
export async function findHelm(): Promise<string> {
  const override = process.env.SUTURE_HELM;
  if (override !== undefined && override !== '') return override;
  // A first build takes minutes; build.sh prints its progress on stderr and the binary's path last.
  const { stdout } = await promisify(execFile)(buildScript, [], { maxBuffer: 16 * 1024 * 1024, timeout: 60 * 60 * 1000 });
  const path = stdout.trimEnd().split('\n').pop() ?? '';
  if (path === '') throw new Error(`${buildScript} printed no path`);
  return path;
}
