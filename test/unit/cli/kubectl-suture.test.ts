import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../src/cli/kubectl-suture.js';
import type { Actions, ManifestOptions } from '../../../src/cli/actions.js';
import { packageVersion, realActions } from '../../../src/cli/actions.js';

interface Captured {
  out: string[];
  err: string[];
  calls: { name: string; args: unknown[] }[];
}

function fake(code = 0): { actions: Actions; captured: Captured } {
  const captured: Captured = { out: [], err: [], calls: [] };
  const record = (name: string) => (...args: unknown[]) => {
    captured.calls.push({ name, args });
    return Promise.resolve(code);
  };
  return {
    captured,
    actions: {
      test: record('test'),
      explainRecord: record('explainRecord'),
      explainManifest: record('explainManifest'),
      leases: record('leases'),
      audit: record('audit'),
      version: record('version'),
    },
  };
}

async function cli(args: string[], code = 0): Promise<{ code: number } & Captured> {
  const { actions, captured } = fake(code);
  const printer = { out: (l: string) => captured.out.push(l), err: (l: string) => captured.err.push(l) };
  const exit = await main(args, printer, actions);
  return { code: exit, ...captured };
}

describe('kubectl suture: arguments', () => {
  it('test takes paths, --now as RFC 3339 and --report, and returns the action\'s exit status', async () => {
    const r = await cli(['test', 'a', 'b.yaml', '--now', '2026-11-23T09:45:00Z', '--report', 'r.json'], 1);
    expect(r.code).to.equal(1);
    expect(r.calls).to.deep.equal([{ name: 'test', args: [['a', 'b.yaml'], { now: Date.parse('2026-11-23T09:45:00Z'), report: 'r.json' }] }]);
  });

  it('test refuses a --now that is not a time and a missing path (usage errors exit 2)', async () => {
    const bad = await cli(['test', 'x', '--now', 'yesterday']);
    expect(bad.code).to.equal(2);
    expect(bad.err.join('\n')).to.match(/RFC 3339/);
    expect(bad.calls).to.deep.equal([]);
    const none = await cli(['test']);
    expect(none.code).to.equal(2);
    expect(none.err.join('\n')).to.match(/missing required argument 'paths'/);
  });

  it('explain <id> defaults to the service proxy of suture-system/suture-webhook, text output', async () => {
    const r = await cli(['explain', 'abc-123']);
    expect(r.code).to.equal(0);
    expect(r.calls).to.deep.equal([{ name: 'explainRecord', args: ['abc-123', { insecureSkipTlsVerify: false, sutureNamespace: 'suture-system', service: 'suture-webhook', output: 'text' }] }]);
  });

  it('explain <id> --server with its TLS options, -o json, a kubeconfig and context', async () => {
    const r = await cli(['explain', 'abc', '--server', 'https://127.0.0.1:9443', '--certificate-authority', 'ca.pem', '--insecure-skip-tls-verify', '-o', 'json', '--kubeconfig', 'k', '--context', 'c']);
    expect(r.calls[0]?.args[1]).to.deep.equal({ kubeconfig: 'k', context: 'c', server: 'https://127.0.0.1:9443', certificateAuthority: 'ca.pem', insecureSkipTlsVerify: true, sutureNamespace: 'suture-system', service: 'suture-webhook', output: 'json' });
  });

  it('explain -f --as with verb, groups, namespace and propagation policy', async () => {
    const r = await cli(['explain', '-f', 'm.yaml', '--as', 'system:serviceaccount:zk:op', '--as-group', 'g1', '--as-group', 'g2', '--verb', 'delete', '-n', 'zk', '--propagation-policy', 'Orphan'], 1);
    expect(r.code).to.equal(1);
    expect(r.calls).to.deep.equal([{ name: 'explainManifest', args: [{ file: 'm.yaml', as: 'system:serviceaccount:zk:op', asGroups: ['g1', 'g2'], verb: 'delete', namespace: 'zk', propagationPolicy: 'Orphan', output: 'text' }] }]);
  });

  it('leases: -A, -n, -o wide|json|yaml, --graph dot|mermaid, kubeconfig and context', async () => {
    expect((await cli(['leases'])).calls).to.deep.equal([{ name: 'leases', args: [{ allNamespaces: false }] }]);
    expect((await cli(['leases', '-A', '-o', 'wide'])).calls[0]?.args).to.deep.equal([{ allNamespaces: true, output: 'wide' }]);
    expect((await cli(['leases', '-n', 'db', '--graph', 'mermaid', '--kubeconfig', 'k', '--context', 'c'])).calls[0]?.args).to.deep.equal([{ kubeconfig: 'k', context: 'c', namespace: 'db', allNamespaces: false, graph: 'mermaid' }]);
    expect((await cli(['leases', '--all-namespaces', '-o', 'yaml'])).calls[0]?.args).to.deep.equal([{ allNamespaces: true, output: 'yaml' }]);
  });

  it('audit: identities, -A, -o, --fail-on; returns the action\'s status', async () => {
    const r = await cli(['audit', 'system:serviceaccount:db:pg', 'alice', '-A', '-o', 'json', '--fail-on', 'dangerous'], 1);
    expect(r.code).to.equal(1);
    expect(r.calls).to.deep.equal([{ name: 'audit', args: [{ allNamespaces: true, identities: ['system:serviceaccount:db:pg', 'alice'], output: 'json', failOn: 'dangerous' }] }]);
    expect((await cli(['audit'])).calls[0]?.args).to.deep.equal([{ allNamespaces: false, identities: [] }]);
  });

  it('test -o json|yaml', async () => {
    expect((await cli(['test', 'd', '-o', 'yaml'])).calls).to.deep.equal([{ name: 'test', args: [['d'], { output: 'yaml' }] }]);
  });

  it('explain -f defaults to --verb create', async () => {
    const r = await cli(['explain', '-f', 'm.yaml', '--as', 'alice']);
    expect((r.calls[0]?.args[0] as ManifestOptions).verb).to.equal('create');
  });

  it('explain refuses: neither id nor -f, both, -f without --as, -f with --server, an unknown verb', async () => {
    const cases: [string[], RegExp][] = [
      [['explain'], /give a decision id, or -f/],
      [['explain', 'id', '-f', 'm.yaml'], /not both/],
      [['explain', '-f', 'm.yaml'], /needs --as/],
      [['explain', '-f', 'm.yaml', '--as', 'a', '--server', 'https://x'], /--server is for explain <id>/],
      [['explain', '-f', 'm.yaml', '--as', 'a', '--verb', 'patch'], /Allowed choices are create, update, delete/],
      [['explain', 'id', '-o', 'wide'], /Allowed choices are text, json, yaml/],
      [['leases', '-n', 'a', '-A'], /give -n <namespace> or -A, not both/],
      [['leases', '--graph', 'png'], /Allowed choices are dot, mermaid/],
      [['leases', '--graph', 'dot', '-o', 'json'], /--graph prints a graph/],
      [['leases', '-o', 'name'], /Allowed choices are wide, json, yaml/],
      [['audit', '--fail-on', 'some'], /Allowed choices are dangerous, any/],
      [['test', 'x', '-o', 'wide'], /Allowed choices are json, yaml/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.err.join('\n'), args.join(' ')).to.match(message);
      expect(r.calls, args.join(' ')).to.deep.equal([]);
    }
  });

  it('version (-o json|yaml), help listing every command, and an unknown command', async () => {
    expect((await cli(['version'])).calls).to.deep.equal([{ name: 'version', args: ['text'] }]);
    expect((await cli(['version', '-o', 'yaml'])).calls).to.deep.equal([{ name: 'version', args: ['yaml'] }]);
    const help = await cli(['--help']);
    expect(help.code).to.equal(0);
    const text = help.out.join('\n');
    for (const command of ['explain', 'leases', 'audit', 'test', 'version']) expect(text).to.match(new RegExp(`^  ${command}\\b`, 'm'));
    expect(text).to.match(/kubectl suture test \.\/examples\/gitops-repo/).and.match(/explain -f pvc\.yaml --as/).and.match(/leases -A --graph mermaid/);
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).to.equal(2);
    expect(unknown.err.join('\n')).to.match(/unknown command 'frobnicate'/);
  });
});

describe('kubectl suture: real actions without a cluster', () => {
  function printer(): { out: string[]; err: string[]; p: { out: (l: string) => void; err: (l: string) => void } } {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, p: { out: (l) => out.push(l), err: (l) => err.push(l) } };
  }

  it('version reads package.json', async () => {
    const { out, p } = printer();
    expect(await realActions(p).version('text')).to.equal(0);
    expect(out).to.deep.equal([`kubectl-suture ${packageVersion()} (suture.dev/v1alpha1)`]);
    const json = printer();
    expect(await realActions(json.p).version('json')).to.equal(0);
    expect(JSON.parse(json.out.join('\n'))).to.deep.equal({ kubectlSuture: packageVersion(), apiVersion: 'suture.dev/v1alpha1' });
    expect(packageVersion()).to.match(/^\d+\.\d+\.\d+/);
  });

  it('test prints the table and summary, writes the report, exits 1 on a failed step and on a file that does not parse', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'suture-cli-'));
    writeFileSync(join(dir, 'ok.yaml'), 'name: ok\nsummary: s\nsource: t\nsteps:\n  - check: {apiVersion: v1, kind: Namespace, name: default, path: /status/phase, equals: Active}\n');
    const { out, p } = printer();
    expect(await realActions(p).test([dir], { report: join(dir, 'report.json') })).to.equal(0);
    expect(out[0]).to.match(/^SCENARIO\s+STEP\s+EXPECTED\s+GOT/);
    expect(out[1]).to.match(/^ok\s+1\s+= "Active"\s+Active\s+PASS/);
    expect(out[2]).to.equal('1 passed, 0 failed');
    expect((JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { passed: number }).passed).to.equal(1);

    writeFileSync(join(dir, 'bad.yaml'), 'name: Bad Name\nsteps: []\n');
    const second = printer();
    expect(await realActions(second.p).test([dir], {})).to.equal(1);
    expect(second.err.join('\n')).to.match(/bad\.yaml: \d+ problem/);
    expect(second.out.at(-1)).to.equal('1 passed, 1 failed');

    const missing = printer();
    expect(await realActions(missing.p).test([join(dir, 'nope')], {})).to.equal(1);
    expect(missing.err.join('\n')).to.match(/nope: no such file or directory/);
  });

  it('explain -f reports a manifest it cannot read, with exit status 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'suture-cli-'));
    writeFileSync(join(dir, 'm.yaml'), 'just: text\n');
    const { err, p } = printer();
    expect(await realActions(p).explainManifest({ file: join(dir, 'm.yaml'), as: 'alice', asGroups: [], verb: 'create', output: 'text' })).to.equal(2);
    expect(err.join('\n')).to.match(/document 1 is not a Kubernetes object/);
  });
});
