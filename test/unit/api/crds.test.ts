import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { buildCrd, toStructural } from '../../../src/api/crds.js';
import { KINDS } from '../../../src/api/schema.js';
import { renderManifests } from '../../../scripts/manifests.js';

const root = join(import.meta.dirname, '..', '..', '..');

/** Every node of a structural schema has a type (or preserves unknown fields / is int-or-string), and no forbidden keywords. */
function structuralProblems(node: unknown, path: string): string[] {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return [];
  const schema = node as Record<string, unknown>;
  const problems: string[] = [];
  if (!('type' in schema) && !schema['x-kubernetes-preserve-unknown-fields'] && !schema['x-kubernetes-int-or-string']) problems.push(`${path}: no type`);
  for (const forbidden of ['anyOf', 'oneOf', 'allOf', 'not', '$ref', 'patternProperties', 'const']) {
    if (forbidden in schema) problems.push(`${path}: ${forbidden}`);
  }
  if ('properties' in schema && 'additionalProperties' in schema) problems.push(`${path}: properties with additionalProperties`);
  const properties = (schema['properties'] ?? {}) as Record<string, unknown>;
  for (const [name, child] of Object.entries(properties)) problems.push(...structuralProblems(child, `${path}.${name}`));
  if (schema['items']) problems.push(...structuralProblems(schema['items'], `${path}[]`));
  if (typeof schema['additionalProperties'] === 'object') problems.push(...structuralProblems(schema['additionalProperties'], `${path}{}`));
  return problems;
}

/** Paths of every property (and the root) without a description: what `kubectl explain` would print nothing for. */
function undescribed(node: unknown, path: string): string[] {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return [];
  const schema = node as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof schema['description'] !== 'string' || schema['description'].trim() === '') problems.push(path);
  const properties = (schema['properties'] ?? {}) as Record<string, unknown>;
  for (const [name, child] of Object.entries(properties)) {
    // metadata may not be described in a CRD (the API server refuses it) and is explained from ObjectMeta.
    if (!(name === 'metadata' && !path.includes('.'))) problems.push(...undescribed(child, `${path}.${name}`));
  }
  // Array items and map values are explained by their field: only their own properties need descriptions.
  for (const inner of [schema['items'], schema['additionalProperties']]) {
    if (inner === null || typeof inner !== 'object') continue;
    const innerProperties = ((inner as Record<string, unknown>)['properties'] ?? {}) as Record<string, unknown>;
    for (const [name, child] of Object.entries(innerProperties)) problems.push(...undescribed(child, `${path}.${name}`));
  }
  return problems;
}

describe('api/crds', () => {
  it('crds/ and config/crd are what `make manifests` generates (run it after changing src/api/schema.ts)', () => {
    for (const [path, text] of renderManifests()) {
      expect(readFileSync(join(root, path), 'utf8'), path).to.equal(text);
    }
  });

  for (const def of KINDS) {
    describe(def.kind, () => {
      const crd = buildCrd(def) as { spec: { names: Record<string, unknown>; versions: Array<Record<string, unknown>> } };
      const version = crd.spec.versions[0] as { schema: { openAPIV3Schema: unknown }; subresources: unknown; additionalPrinterColumns: unknown[] };

      it('has a structural schema', () => {
        expect(structuralProblems(version.schema.openAPIV3Schema, 'openAPIV3Schema')).to.deep.equal([]);
      });

      it('describes every field, so that `kubectl explain` answers for each', () => {
        expect(undescribed(version.schema.openAPIV3Schema, def.singular)).to.deep.equal([]);
      });

      it('has short names, the suture category, a status subresource and printer columns', () => {
        expect(crd.spec.names['shortNames']).to.deep.equal([...def.shortNames]);
        expect(crd.spec.names['categories']).to.deep.equal(['suture']);
        expect(version.subresources).to.deep.equal({ status: {} });
        expect(version.additionalPrinterColumns.length).to.be.greaterThan(2);
      });
    });
  }

  it('SutureLease prints HOLDER, ACCESS, PHASE and AGE', () => {
    const lease = KINDS.find((k) => k.kind === 'SutureLease');
    expect(lease?.printerColumns.filter((c) => !c.priority).map((c) => c.name.toUpperCase())).to.deep.equal(['HOLDER', 'ACCESS', 'PHASE', 'AGE']);
  });

  describe('toStructural', () => {
    const cases: Array<[string, unknown, unknown]> = [
      ['drops additionalProperties: false', { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false }, { type: 'object', properties: { a: { type: 'string' } } }],
      ['turns a record into additionalProperties', { type: 'object', patternProperties: { '^(.*)$': { type: 'string' } } }, { type: 'object', additionalProperties: { type: 'string' } }],
      ['keeps a property named like a keyword', { type: 'object', properties: { $id: { type: 'string' } } }, { type: 'object', properties: { $id: { type: 'string' } } }],
      ['drops $id', { $id: 'x', type: 'string' }, { type: 'string' }],
    ];
    for (const [name, input, want] of cases) {
      it(name, () => expect(toStructural(input as never)).to.deep.equal(want));
    }
  });

  it('the generated YAML parses back to the built object', () => {
    for (const def of KINDS) {
      const text = readFileSync(join(root, 'crds', `suture.dev_${def.plural}.yaml`), 'utf8');
      expect(parse(text)).to.deep.equal(buildCrd(def));
    }
  });
});
