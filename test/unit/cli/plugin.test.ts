// The kubectl plugin as krew installs it: plugins/suture.yaml is a krew Plugin manifest whose `bin` is the binary
// `make plugin` (scripts/build-plugin.ts) packs; the archive, unpacked in a folder without node_modules, runs.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { ARCHIVE_FILES, MANIFEST, PLUGIN_BINARY, buildPlugin, type PluginBuild } from '../../../scripts/build-plugin.js';

interface Platform {
  selector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
  uri: string;
  sha256: string;
  files: { from: string; to: string }[];
  bin: string;
}
interface Plugin {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: { version: string; homepage: string; shortDescription: string; description: string; caveats: string; platforms: Platform[] };
}

const root = join(import.meta.dirname, '..', '..', '..');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

describe('kubectl suture as a krew plugin', function () {
  this.timeout(120_000);
  const manifest = parse(readFileSync(MANIFEST, 'utf8')) as Plugin;
  let built: PluginBuild;
  let unpacked: string;

  before(async () => {
    built = await buildPlugin(mkdtempSync(join(tmpdir(), 'suture-plugin-')));
    unpacked = mkdtempSync(join(tmpdir(), 'suture-plugin-unpacked-'));
    execFileSync('tar', ['-xzf', built.archive, '-C', unpacked]);
  });

  it('plugins/suture.yaml is a krew Plugin named as its file, at the package version, for the archive the build names', () => {
    expect(manifest.apiVersion).to.equal('krew.googlecontainertools.github.com/v1alpha2');
    expect(manifest.kind).to.equal('Plugin');
    expect(manifest.metadata.name).to.equal('suture');
    expect(manifest.spec.version).to.equal(`v${version}`);
    for (const field of ['homepage', 'shortDescription', 'description', 'caveats'] as const) expect(manifest.spec[field], field).to.be.a('string').and.not.equal('');
    expect(manifest.spec.platforms.length).to.be.greaterThan(0);
    for (const p of manifest.spec.platforms) {
      expect(p.bin).to.equal(PLUGIN_BINARY);
      expect(p.uri.endsWith(`/${PLUGIN_BINARY}-v${version}.tar.gz`), p.uri).to.equal(true);
      expect(built.archive.endsWith(`${PLUGIN_BINARY}-v${version}.tar.gz`)).to.equal(true);
      expect(p.sha256).to.match(/^[0-9a-f]{64}$/);
      expect(p.selector.matchExpressions[0]?.key).to.equal('os');
    }
  });

  it('the archive holds the binary, package.json and the LICENSE, and nothing else; the manifest copies each', () => {
    const entries = execFileSync('tar', ['-tzf', built.archive], { encoding: 'utf8' }).trim().split('\n');
    expect([...entries].sort()).to.deep.equal(['LICENSE', 'kubectl-suture', 'package.json']);
    expect([...entries].sort()).to.deep.equal([...ARCHIVE_FILES].sort());
    expect(readFileSync(join(unpacked, 'LICENSE'), 'utf8')).to.equal(readFileSync(join(root, 'LICENSE'), 'utf8'));
    expect(readFileSync(join(unpacked, 'LICENSE'), 'utf8')).to.match(/Apache License\s+Version 2\.0/);
    for (const p of manifest.spec.platforms) {
      expect(p.files).to.deep.include({ from: 'LICENSE', to: '.' });
      expect(p.files.map((f) => f.from).sort()).to.deep.equal([...entries].sort());
    }
  });

  it('the archive holds every file the manifest copies; bin is one of them and executable', () => {
    for (const p of manifest.spec.platforms) {
      for (const f of p.files) expect(statSync(join(unpacked, f.from)).isFile(), f.from).to.equal(true);
      expect(p.files.map((f) => f.from)).to.include(p.bin);
      expect(statSync(join(unpacked, p.bin)).mode & 0o111).to.not.equal(0);
    }
  });

  it('the built manifest carries the archive\'s sha256; building again gives the same bytes', async () => {
    const rendered = parse(readFileSync(built.manifest, 'utf8')) as Plugin;
    expect(rendered.spec.platforms.map((p) => p.sha256)).to.deep.equal(manifest.spec.platforms.map(() => built.sha256));
    const again = await buildPlugin(mkdtempSync(join(tmpdir(), 'suture-plugin-')));
    expect(again.sha256).to.equal(built.sha256);
  });

  it('the unpacked binary runs without the repository: --help lists the commands, version, test on the GitOps example', () => {
    const run = (args: string[]): string => execFileSync(join(unpacked, PLUGIN_BINARY), args, { cwd: unpacked, encoding: 'utf8' });
    const help = run(['--help']);
    for (const command of ['explain', 'leases', 'audit', 'test', 'version']) expect(help).to.match(new RegExp(`^  ${command}\\b`, 'm'));
    expect(JSON.parse(run(['version', '-o', 'json']))).to.deep.equal({ kubectlSuture: version, apiVersion: 'suture.dev/v1alpha1' });
    cpSync(join(root, 'examples', 'gitops-repo'), join(unpacked, 'repo'), { recursive: true });
    expect(run(['test', 'repo']).trim().split('\n').at(-1)).to.equal('7 passed, 0 failed');
  });
});
