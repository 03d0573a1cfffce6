// Every metric the documentation names is one Suture exports: docs/*.md and README.md are read for suture_* names
// (a _bucket, _count or _sum series counts as its histogram), and each must be registered on a process's registry.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { admissionMetricsOn } from '../../../src/admission/metrics.js';
import { createMetrics } from '../../../src/observability/metrics.js';

const root = join(import.meta.dirname, '..', '..', '..');
const docs = [...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f)), 'README.md'];
/** Names that look like metrics but are not (a Graphviz graph's name in docs/cli.md). */
const NOT_METRICS = new Set(['suture_leases']);

function namedIn(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...new Set([...text.matchAll(/\bsuture_[a-z_]+[a-z]/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, '')))].filter((n) => !NOT_METRICS.has(n));
}

describe('metric names in the documentation', () => {
  it('every suture_* metric named in docs/ and README.md is exported', async () => {
    const metrics = createMetrics();
    admissionMetricsOn(metrics); // registers the HTTP answer counter on the same registry, as the operator does
    const exported = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
    const named = docs.flatMap((file) => namedIn(file).map((name) => ({ file, name })));
    expect(named.length, 'metric names found in the docs').to.be.at.least(10);
    expect(named.filter((n) => !exported.has(n.name)).map((n) => `${n.file}: ${n.name}`)).to.deep.equal([]);
  });
});
