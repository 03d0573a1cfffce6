import { expect } from 'chai';
import { atLeast, atMost, counterSum, formatTarget, median, medianRatio, notMeasured, parseCoreTable, ratioAtMost } from '../../bench/targets.js';

describe('bench/targets', () => {
  it('median of odd and even counts, ignoring values that are not finite', () => {
    expect(median([3, 1, 2])).to.equal(2);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
    expect(median([Number.NaN, 5])).to.equal(5);
    expect(median([])).to.be.NaN;
  });

  it('medianRatio divides within each round, then takes the median over rounds', () => {
    // Round 2 ran on a busier machine: both sides slower, the ratio the same.
    expect(medianRatio([2, 4, 2.2], [1, 2, 2])).to.equal(2);
    expect(medianRatio([1, 2], [0, 1])).to.equal(2);
    expect(medianRatio([1], [])).to.be.NaN;
  });

  it('formats one TARGET line per target, PASS at the bound and MISS beyond it', () => {
    expect(formatTarget(ratioAtMost('governed-create-1c-p50-vs-vap', 1.25, 1.25))).to.equal('TARGET governed-create-1c-p50-vs-vap 1.25x <=1.25x PASS');
    expect(formatTarget(ratioAtMost('x', 1.2501, 1.25))).to.equal('TARGET x 1.25x <=1.25x MISS');
    expect(formatTarget(atLeast('webhook-throughput', 3412.4, { limit: 3000, unit: '/s' }))).to.equal('TARGET webhook-throughput 3412/s >=3000/s PASS');
    expect(formatTarget(atMost('webhook-p99', 12.04, { limit: 10, unit: 'ms' }))).to.equal('TARGET webhook-p99 12.0ms <=10ms MISS');
  });

  it('a target that was not measured is a MISS, never a PASS', () => {
    expect(formatTarget(ratioAtMost('r', Number.NaN, 2))).to.equal('TARGET r n/ax <=2x MISS');
    expect(formatTarget(notMeasured('memory-per-object', '<=1.5KB', 'phase failed'))).to.equal('TARGET memory-per-object not-measured(phase-failed) <=1.5KB MISS');
  });

  it('reads the rows of make bench-core', () => {
    const out = 'decide() on 100200 objects\n| request | iterations | p50 ms | p99 ms | verdict | objects removed |\n| --- | --- | --- | --- | --- | --- |\n| create | 2000 | 0.169 | 1.252 | allow | 0 |\n| namespace delete | 200 | 10.2 | 20.7 | allow | 10001 |\n';
    const rows = parseCoreTable(out);
    expect([...rows.keys()]).to.deep.equal(['create', 'namespace delete']);
    expect(rows.get('create')).to.deep.equal({ p50ms: 0.169, p99ms: 1.252 });
  });

  it('sums a counter over the samples whose labels match', () => {
    const text = [
      '# HELP suture_admission_http_requests_total x',
      'suture_admission_http_requests_total{route="/validate",code="200"} 12',
      'suture_admission_http_requests_total{route="/mutate",code="200"} 3',
      'suture_admission_http_requests_total{route="/readyz",code="200"} 40',
      'suture_admission_http_requests_total_other{route="/validate"} 99',
    ].join('\n');
    expect(counterSum(text, 'suture_admission_http_requests_total', { route: '/validate' })).to.equal(12);
    expect(counterSum(text, 'suture_admission_http_requests_total')).to.equal(55);
  });
});
