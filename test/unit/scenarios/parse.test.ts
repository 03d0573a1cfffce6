import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { loadScenarios, parseScenario, ScenarioFormatError, scenarioFiles } from '../../../src/scenario/parse.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const folders = [join(repo, 'test', 'scenarios'), join(repo, 'test', 'scenarios', 'selftest')];

const minimal = `
name: minimal
summary: s
source: owner/repo#1
setup:
  - {apiVersion: v1, kind: Namespace, metadata: {name: ns}}
steps:
  - {as: admin, do: delete, apiVersion: v1, kind: Namespace, name: ns, expect: allowed}
`;

function problemsOf(text: string): readonly string[] {
  try {
    parseScenario(text, 'f.yaml');
  } catch (error) {
    expect(error).to.be.instanceOf(ScenarioFormatError);
    return (error as ScenarioFormatError).problems;
  }
  return expect.fail('expected a ScenarioFormatError');
}

function withStep(step: string): string {
  return `${minimal.replace(/steps:[\s\S]*$/, 'steps:\n')}  - ${step}\n`;
}

describe('scenario files', () => {
  for (const folder of folders) {
    for (const file of scenarioFiles(folder)) {
      it(`${file.slice(repo.length - 4)} parses`, () => {
        expect(() => parseScenario(readFileSync(file, 'utf8'), file)).not.to.throw();
      });
    }
  }

  it('include at least ten of the project\'s own incident scenarios, numbered from 20', () => {
    const own = scenarioFiles(join(repo, 'test', 'scenarios')).filter((f) => /\/[2-9]\d-[^/]+\.yaml$/.test(f));
    expect(own.length).to.be.at.least(10);
  });

  it('have unique names across the folders', () => {
    const { errors, scenarios } = loadScenarios(folders);
    expect(errors.map((e) => e.message)).to.deep.equal([]);
    expect(new Set(scenarios.map((s) => s.name)).size).to.equal(scenarios.length);
  });
});


describe('parseScenario', () => {
  it('reads a minimal scenario with defaults', () => {
    const scenario = parseScenario(minimal, 'f.yaml');
    expect(scenario.name).to.equal('minimal');
    expect(scenario.suture).to.deep.equal([]);
    expect(scenario.steps[0]).to.include({ type: 'request', index: 1, as: 'admin', do: 'delete', expect: 'allowed' });
  });

  it('defaults a patch to merge and a check to within 10s, existence', () => {
    const scenario = parseScenario(
      withStep('{as: admin, do: patch, apiVersion: v1, kind: ConfigMap, namespace: ns, name: c, body: {data: {}}, expect: allowed}').replace(
        /\n$/,
        '\n  - check: {apiVersion: v1, kind: ConfigMap, namespace: ns, name: c}\n',
      ),
      'f.yaml',
    );
    expect(scenario.steps[0]).to.include({ patchType: 'merge' });
    expect(scenario.steps[1]).to.include({ type: 'check', index: 2, withinMs: 10_000, exists: true, hasEquals: false });
  });

  it('keeps equals of any JSON type, null included, and parses within', () => {
    const scenario = parseScenario(withStep('check: {apiVersion: v1, kind: ConfigMap, name: c, path: /data, equals: null, within: 1m30s}'), 'f.yaml');
    expect(scenario.steps[0]).to.include({ hasEquals: true, equals: null, withinMs: 90_000 });
  });

  it('names the file and the step of every problem, all at once', () => {
    const problems = problemsOf(withStep('{as: admin, do: remove, apiVersion: v1, kind: Pod, expect: maybe, expected: denied}'));
    expect(problems).to.have.length(3);
    expect(problems.join('\n')).to.include('steps[0] (step 1): unknown field "expected"').and.include('"do" must be one of').and.include('"expect" must be one of');
    expect(() => parseScenario(withStep('{as: admin, do: remove}'), 'dir/x.yaml')).to.throw(/^dir\/x\.yaml: \d+ problem/);
  });

  const invalid: [string, string, RegExp][] = [
    ['body missing for create', '{as: admin, do: create, apiVersion: v1, kind: Pod, expect: allowed}', /"body" is required for create/],
    ['name missing for delete', '{as: admin, do: delete, apiVersion: v1, kind: Pod, expect: allowed}', /"name" is required for delete/],
    ['json patch body not a list', '{as: admin, do: patch, patchType: json, apiVersion: v1, kind: Pod, name: p, body: {a: 1}, expect: allowed}', /list of operations/],
    ['patchType on delete', '{as: admin, do: delete, patchType: merge, apiVersion: v1, kind: Pod, name: p, expect: allowed}', /patchType" is for patch only/],
    ['labelSelector on delete', '{as: admin, do: delete, labelSelector: a=b, apiVersion: v1, kind: Pod, name: p, expect: allowed}', /deletecollection only/],
    ['unknown subresource', '{as: admin, do: patch, subresource: exec, apiVersion: v1, kind: Pod, name: p, body: {}, expect: allowed}', /"subresource" must be one of scale \| status/],
    ['bad propagation', '{as: admin, do: delete, propagationPolicy: Cascade, apiVersion: v1, kind: Pod, name: p, expect: allowed}', /propagationPolicy/],
    ['messageIncludes not strings', '{as: admin, do: delete, apiVersion: v1, kind: Pod, name: p, expect: denied, messageIncludes: [1]}', /messageIncludes/],
    ['equals with exists false', 'check: {apiVersion: v1, kind: Pod, name: p, equals: 1, exists: false}', /exclude each other/],
    ['bad within', 'check: {apiVersion: v1, kind: Pod, name: p, within: soon}', /"within" must be a duration/],
    ['path not a pointer', 'check: {apiVersion: v1, kind: Pod, name: p, path: status.phase}', /JSON pointer/],
    ['check with extra keys', '{check: {apiVersion: v1, kind: Pod, name: p}, as: admin}', /holds only "check"/],
  ];
  for (const [what, step, message] of invalid) {
    it(`refuses a step with ${what}`, () => {
      expect(problemsOf(withStep(step)).join('\n')).to.match(message);
    });
  }

  it('refuses a bad header: name, clock, unknown top-level keys, objects without name', () => {
    const text = minimal.replace('name: minimal', 'name: Not_A_Label\nclock: tomorrow\nextra: 1').replace('metadata: {name: ns}', 'metadata: {}');
    const problems = problemsOf(text).join('\n');
    expect(problems).to.include('not a DNS label').and.include('not an RFC 3339 time').and.include('unknown field "extra"').and.include('setup[0].metadata: "name" is required');
  });

  it('refuses YAML that does not parse and files without steps', () => {
    expect(problemsOf('name: [')[0]).to.match(/not valid YAML/);
    expect(problemsOf('name: a\nsummary: s\nsource: x\n').join()).to.include('non-empty list of steps');
  });

  it('loads folders in file-name order and reports duplicate names and broken files without stopping', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scenarios-'));
    writeFileSync(join(dir, '02-b.yaml'), minimal.replace('name: minimal', 'name: b'));
    writeFileSync(join(dir, '01-a.yaml'), minimal.replace('name: minimal', 'name: a'));
    writeFileSync(join(dir, '03-dup.yml'), minimal.replace('name: minimal', 'name: a'));
    writeFileSync(join(dir, '04-broken.yaml'), 'name: [');
    writeFileSync(join(dir, 'README.md'), '# not a scenario');
    const { scenarios, errors } = loadScenarios([dir]);
    expect(scenarios.map((s) => s.name)).to.deep.equal(['a', 'b']);
    expect(errors.map((e) => e.message).join('\n')).to.include('already used by 01-a.yaml').and.include('04-broken.yaml');
  });
});
