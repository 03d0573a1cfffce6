// GitOps test files (suture-test.yaml): the worked example under examples/gitops-repo runs here, so `make test` covers
// it; then globs, `object` files, and the errors a repository author meets, each with its place.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { main } from '../../../src/cli/kubectl-suture.js';
import { classifyPaths, runTestCommand } from '../../../src/cli/test-command.js';
import { expandPath, parseTestFile } from '../../../src/cli/test-file.js';
import type { RunReport } from '../../../src/scenario/report.js';

const example = join(import.meta.dirname, '..', '..', '..', 'examples', 'gitops-repo');

function capture(): { out: string[]; err: string[]; printer: { out: (l: string) => void; err: (l: string) => void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, printer: { out: (l) => out.push(l), err: (l) => err.push(l) } };
}

function write(dir: string, file: string, text: string): string {
  const path = join(dir, file);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

const POLICY = `apiVersion: suture.dev/v1alpha1
kind: SuturePolicy
metadata: {name: keep}
spec:
  match: [{kinds: [ConfigMap], namespaces: [a]}]
  operations: [DELETE]
  invariants: [{name: kept, protect: {}}]
`;
const FIXTURES = `apiVersion: v1
kind: Namespace
metadata: {name: a}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: a}
`;
const REQUEST = '{as: "system:serviceaccount:a:op", do: delete, apiVersion: v1, kind: ConfigMap, namespace: a, name: c, expect: denied}';

describe('kubectl suture test: GitOps test files', () => {
  it('runs examples/gitops-repo: every request gets the verdict the repository expects', async () => {
    const c = capture();
    const code = await main(['test', example, '-o', 'json'], c.printer);
    const report = JSON.parse(c.out.join('\n')) as RunReport;
    expect(code, c.err.join('\n')).to.equal(0);
    const rows = report.scenarios.flatMap((s) => s.steps);
    expect(rows.map((r) => [r.step, r.expected, r.got, r.pass])).to.deep.equal([
      [1, 'denied', 'denied', true],
      [2, 'allowed', 'allowed', true],
      [3, 'denied', 'denied', true],
      [4, 'denied', 'denied', true],
      [5, 'allowed', 'allowed', true],
      [6, 'denied', 'denied', true],
      [7, 'allowed', 'allowed', true],
    ]);
    expect(rows[0]?.message).to.include('SuturePolicy keep-payment-volumes, invariant ledger-data-survives');
    expect(rows[3]?.message).to.include('ledger-replicas');
    expect(rows[5]?.message).to.include('keep-quorum');
    expect(rows.every((r) => r.scenario === 'payments-guardrails')).to.equal(true);
    expect(rows[6]?.description).to.equal('syncing the payments API from the repository is allowed');
  });

  it('prints a TEST table and exits 1 when a verdict differs, naming the request', () => {
    const dir = mkdtempSync(join(tmpdir(), 'suture-test-file-'));
    write(dir, 'policies/keep.yaml', POLICY);
    write(dir, 'fixtures/a.yaml', FIXTURES);
    write(dir, 'suture-test.yaml', `apiVersion: cli.suture.dev/v1alpha1\nkind: Test\nmetadata: {name: t}\npolicies: [policies/*.yaml]\nresources: [fixtures]\nrequests:\n  - ${REQUEST}\n  - {description: wrong on purpose, as: "system:serviceaccount:a:op", do: delete, apiVersion: v1, kind: ConfigMap, namespace: a, name: c, expect: allowed}\n`);
    const c = capture();
    expect(runTestCommand([dir], {}, c.printer)).to.equal(1);
    expect(c.out[0]).to.match(/^TEST +STEP +EXPECTED +GOT/);
    expect(c.out[1]).to.match(/^t +1 +denied +denied +PASS/);
    expect(c.out[2]).to.match(/^t +2 +allowed +denied +FAIL wrong on purpose: /);
    expect(c.out.at(-1)).to.equal('1 passed, 1 failed');
  });

  it('each request meets the fixtures as they are: an allowed delete does not hide the object from the next request', () => {
    const dir = mkdtempSync(join(tmpdir(), 'suture-test-file-'));
    write(dir, 'p.yaml', POLICY.replace('operations: [DELETE]', 'operations: [UPDATE]'));
    write(dir, 'f.yaml', FIXTURES);
    const del = '{as: "system:serviceaccount:a:op", do: delete, apiVersion: v1, kind: ConfigMap, namespace: a, name: c, expect: allowed}';
    write(dir, 'suture-test.yaml', `apiVersion: cli.suture.dev/v1alpha1\nkind: Test\nmetadata: {name: t}\npolicies: [p.yaml]\nresources: [f.yaml]\nrequests: [${del}, ${del}]\n`);
    const c = capture();
    expect(runTestCommand([join(dir, 'suture-test.yaml')], {}, c.printer), c.out.join('\n')).to.equal(0);
  });

  it('object: a manifest file gives a create its target and body', () => {
    const dir = mkdtempSync(join(tmpdir(), 'suture-test-file-'));
    write(dir, 'p.yaml', POLICY);
    write(dir, 'f.yaml', FIXTURES);
    write(dir, 'new/cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: n, namespace: a}\n');
    write(dir, 'suture-test.yaml', 'apiVersion: cli.suture.dev/v1alpha1\nkind: Test\nmetadata: {name: t}\npolicies: [p.yaml]\nresources: [f.yaml]\nrequests: [{as: alice, do: create, object: new/cm.yaml, expect: allowed}]\n');
    const test = parseTestFile(join(dir, 'suture-test.yaml'));
    const step = test.requests[0]?.scenario.steps[0];
    expect(step).to.include({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'a', name: 'n', do: 'create' });
    expect(runTestCommand([join(dir, 'suture-test.yaml')], {}, capture().printer)).to.equal(0);
  });

  it('a malformed test file: every problem with its place, and the fix', () => {
    const dir = mkdtempSync(join(tmpdir(), 'suture-test-file-'));
    write(dir, 'f.yaml', FIXTURES + '---\n' + POLICY);
    write(
      dir,
      'suture-test.yaml',
      'apiVersion: cli.suture.dev/v1alpha1\nkind: Test\nmetadata: {name: t}\nextra: 1\npolicies: [nothing/*.yaml]\nresources: [f.yaml]\nrequests:\n  - {as: alice, do: remove, apiVersion: v1, kind: ConfigMap, name: c, expect: denied}\n  - {as: alice, do: create, object: missing.yaml, expect: allowed}\n',
    );
    const c = capture();
    expect(runTestCommand([dir], {}, c.printer)).to.equal(1);
    const err = c.err.join('\n');
    expect(err).to.include('unknown field "extra"');
    expect(err).to.include('policies: "nothing/*.yaml" matches no file');
    expect(err).to.include("resources: f.yaml holds SuturePolicy keep: Suture's objects go under \"policies\"");
    expect(err).to.match(/requests\[0\]: "do" must be one of create \| update \| patch \| delete \| deletecollection, got "remove"/);
    expect(err).to.include('requests[1]: "object" must name exactly one file, "missing.yaml" matches 0');
    expect(c.out.at(-1)).to.equal('0 passed, 1 failed');
  });

  it('folders: those holding suture-test.yaml run their test files; others stay scenario folders', () => {
    const dir = mkdtempSync(join(tmpdir(), 'suture-test-file-'));
    write(dir, 'repo/deep/suture-test.yaml', 'apiVersion: cli.suture.dev/v1alpha1\nkind: Test\n');
    write(dir, 'scenarios/one.yaml', 'name: one\n');
    write(dir, 'other-name.yaml', 'apiVersion: cli.suture.dev/v1alpha1\nkind: Test\n');
    expect(classifyPaths([join(dir, 'repo'), join(dir, 'scenarios'), join(dir, 'other-name.yaml')])).to.deep.equal({
      tests: [join(dir, 'repo/deep/suture-test.yaml'), join(dir, 'other-name.yaml')],
      scenarios: [join(dir, 'scenarios')],
    });
  });

  it('globs: *, ?, ** and folders, relative to the test file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'suture-test-file-'));
    for (const f of ['a/x.yaml', 'a/y.yml', 'a/b/z.yaml', 'a/b/c/w.json', 'a/readme.md']) write(dir, f, '');
    expect(expandPath('a/*.yaml', dir)).to.deep.equal([join(dir, 'a/x.yaml')]);
    expect(expandPath('a/?.y*', dir)).to.deep.equal([join(dir, 'a/x.yaml'), join(dir, 'a/y.yml')]);
    expect(expandPath('a/**/*.yaml', dir)).to.have.members([join(dir, 'a/x.yaml'), join(dir, 'a/b/z.yaml')]);
    expect(expandPath('a', dir)).to.deep.equal([join(dir, 'a/b/c/w.json'), join(dir, 'a/b/z.yaml'), join(dir, 'a/x.yaml'), join(dir, 'a/y.yml')]);
    expect(expandPath('./a/x.yaml', dir)).to.deep.equal([join(dir, 'a/x.yaml')]);
  });
});
