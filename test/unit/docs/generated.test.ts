// The generated sections of docs/api.md and docs/cel.md are what `make docs` makes from src/api/schema.ts and
// src/core/cel.ts, and every CEL example in docs/cel.md compiles against Suture's environment.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { KINDS } from '../../../src/api/schema.js';
import { CEL_VARIABLES, CelResultTypes, compileCel, formatCelIssue } from '../../../src/core/cel.js';
import { apiReference, celReference, chartValues, renderDocs } from '../../../scripts/docs.js';

const root = join(import.meta.dirname, '..', '..', '..');

describe('generated docs', () => {
  it('docs/api.md and docs/cel.md are what `make docs` generates (run it after changing src/api/schema.ts or src/core/cel.ts)', () => {
    for (const [path, text] of renderDocs()) expect(readFileSync(join(root, path), 'utf8'), path).to.equal(text);
  });

  it('the API reference has a row for every kind and for fields deep in the schema', () => {
    const text = apiReference();
    for (const def of KINDS) expect(text).to.include(`### ${def.kind}`);
    expect(text).to.include('| `spec.invariants[].budget.per` |');
    expect(text).to.include('| `spec.relaxWhen[].metric.staleAfter` |');
  });

  it('the CEL reference names every variable and the lookups of cluster and before', () => {
    const text = celReference();
    for (const v of CEL_VARIABLES) expect(text).to.include(`| \`${v.name}\` |`);
    for (const f of ['get', 'exists', 'list', 'count']) expect(text).to.include(`\`<cluster|before>.${f}(`);
    expect(text).to.include('| `matches` |');
  });

  it('the chart README lists every value of values.schema.json with its default from values.yaml', () => {
    const rows = chartValues().split('\n').slice(2);
    expect(rows.length).to.be.greaterThan(15);
    for (const row of rows) expect(row, row).not.to.match(/^\| `[^`]+` \| `` \|/);
  });

  it('every example expression in docs/cel.md compiles', () => {
    const blocks = [...readFileSync(join(root, 'docs', 'cel.md'), 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    const examples = blocks.flatMap((b) => b.split(/\n(?=#)/)).map((chunk) => parse(chunk) as Record<string, string> | null).filter((e) => e !== null);
    expect(examples.length).to.be.greaterThan(4);
    for (const example of examples) {
      for (const [field, source] of Object.entries(example)) {
        const r = compileCel(source, field === 'messageExpression' ? CelResultTypes.String : CelResultTypes.Bool);
        expect(r.ok, `${field}: ${source}: ${r.ok ? '' : formatCelIssue(r.error, source)}`).to.equal(true);
      }
    }
  });
});
