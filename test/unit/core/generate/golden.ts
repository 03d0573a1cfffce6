// Golden files for generated manifests: compare with test/fixtures/generated/<name>.yaml, or rewrite it when the test
// runs with UPDATE_GOLDEN=1 (then review the diff like any other change).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { stringify } from 'yaml';

const dir = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'generated');

export function render(objects: readonly unknown[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}

export function expectGolden(name: string, objects: readonly unknown[]): void {
  const path = join(dir, `${name}.yaml`);
  const text = `# Golden file of test/unit/core/generate; regenerate with UPDATE_GOLDEN=1.\n${render(objects)}`;
  if (process.env.UPDATE_GOLDEN === '1') {
    writeFileSync(path, text);
    return;
  }
  expect(existsSync(path), `${path} is missing: run the test with UPDATE_GOLDEN=1 to write it`).to.be.true;
  expect(text, `${path} differs (UPDATE_GOLDEN=1 rewrites it)`).to.equal(readFileSync(path, 'utf8'));
}
