// The cookbook's policies (examples/cookbook, docs/cookbook.md) against the requests each is meant to refuse and the
// ones it must let through, through `kubectl suture test` offline.
import { join } from 'node:path';
import { expect } from 'chai';
import { main } from '../../../src/cli/kubectl-suture.js';
import type { RunReport } from '../../../src/scenario/report.js';

const cookbook = join(import.meta.dirname, '..', '..', '..', 'examples', 'cookbook');

describe('examples/cookbook', () => {
  it('every request gets the verdict docs/cookbook.md promises', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['test', cookbook, '-o', 'json'], { out: (l) => out.push(l), err: (l) => err.push(l) });
    const steps = (JSON.parse(out.join('\n')) as RunReport).scenarios.flatMap((s) => s.steps);
    expect(steps.filter((s) => !s.pass).map((s) => s.reason), err.join('\n')).to.deep.equal([]);
    expect(code).to.equal(0);
    expect(steps).to.have.length(14);
    expect(steps.filter((s) => s.expected === 'denied')).to.have.length(9);
  });
});
