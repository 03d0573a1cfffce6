// `make plugin`: the kubectl plugin as a release archive krew can install. src/cli/kubectl-suture.ts and everything it
// imports are bundled by esbuild into one file, `kubectl-suture` (an ES module with `#!/usr/bin/env node`: it needs
// Node.js 20.19 or later on the PATH, nothing else), next to a package.json that carries the version it prints and
// the repository's LICENSE (Apache-2.0; krew requires the license in the archive, and the manifest copies it).
// They are packed reproducibly (sorted, fixed mtime, no gzip timestamp) into dist/plugin/kubectl-suture-v<version>.tar.gz,
// and plugins/suture.yaml (krew's Plugin manifest) is written to dist/plugin/suture.yaml with the archive's sha256,
// so that `kubectl krew install --manifest=dist/plugin/suture.yaml --archive=dist/plugin/kubectl-suture-v<v>.tar.gz`
// installs it. Publishing (the release upload and the krew-index pull request) is not done here.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { parse, stringify } from 'yaml';

const root = join(import.meta.dirname, '..');
/** The binary the manifest's `bin` names. */
export const PLUGIN_BINARY = 'kubectl-suture';
export const MANIFEST = join(root, 'plugins', 'suture.yaml');
/** The files the archive holds, in the order tar writes them. */
export const ARCHIVE_FILES = [PLUGIN_BINARY, 'LICENSE', 'package.json'] as const;

export interface PluginBuild {
  readonly archive: string;
  readonly sha256: string;
  /** The staged files (the archive's content). */
  readonly staging: string;
  /** The manifest with the archive's sha256. */
  readonly manifest: string;
}

function version(): string {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Bundles the CLI into `staging/kubectl-suture`. */
async function bundle(staging: string, v: string): Promise<void> {
  const binary = join(staging, PLUGIN_BINARY);
  await build({
    entryPoints: [join(root, 'src', 'cli', 'kubectl-suture.ts')],
    outfile: binary,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    legalComments: 'none',
    logLevel: 'warning',
    // CommonJS dependencies call require(); an ES module has none, so give it one.
    // The entry keeps its own #!/usr/bin/env node line first.
    banner: { js: "import { createRequire as __suture_createRequire } from 'node:module';\nconst require = __suture_createRequire(import.meta.url);" },
  });
  chmodSync(binary, 0o755);
  writeFileSync(join(staging, 'package.json'), `${JSON.stringify({ name: 'suture', version: v, type: 'module', private: true, license: 'Apache-2.0' }, null, 2)}\n`);
  copyFileSync(join(root, 'LICENSE'), join(staging, 'LICENSE'));
}

/** Packs `files` of `dir` into a gzipped tar whose bytes depend on the content only. */
function pack(dir: string, files: readonly string[], archive: string): void {
  const epoch = new Date('2000-01-01T00:00:00Z');
  for (const f of files) utimesSync(join(dir, f), epoch, epoch);
  const tar = execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=2000-01-01 00:00:00Z', '-C', dir, '-cf', '-', ...files], { maxBuffer: 256 * 1024 * 1024 });
  writeFileSync(archive, execFileSync('gzip', ['-n', '-9'], { input: tar, maxBuffer: 256 * 1024 * 1024 }));
}

/** Builds the archive and the manifest with its sha256 into `out` (default dist/plugin). */
export async function buildPlugin(out: string = join(root, 'dist', 'plugin')): Promise<PluginBuild> {
  const v = version();
  const staging = join(out, 'staging');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  await bundle(staging, v);
  const archive = join(out, `${PLUGIN_BINARY}-v${v}.tar.gz`);
  pack(staging, ARCHIVE_FILES, archive);
  const sha256 = createHash('sha256').update(readFileSync(archive)).digest('hex');
  const plugin = parse(readFileSync(MANIFEST, 'utf8')) as { spec: { platforms: { sha256: string }[] } };
  for (const p of plugin.spec.platforms) p.sha256 = sha256;
  const manifest = join(out, 'suture.yaml');
  writeFileSync(manifest, stringify(plugin));
  return { archive, sha256, staging, manifest };
}

if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  const result = await buildPlugin();
  process.stdout.write(`${result.archive}\nsha256 ${result.sha256}\nmanifest ${result.manifest}\n`);
  process.stdout.write(`install: kubectl krew install --manifest=${result.manifest} --archive=${result.archive}\n`);
}
