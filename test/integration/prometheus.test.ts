// Metric conditions read a real Prometheus: Debian's `prometheus` package, started on loopback, scraping itself.
import { expect } from 'chai';
import { metricQueries, PrometheusPoller } from '../../src/admission/prometheus.js';
import { compilePolicy } from '../../src/core/policy.js';
import { freePort, startPrometheus, type PrometheusServer } from './prometheus-server.js';

describe('Prometheus metric conditions (real Prometheus on loopback)', function () {
  this.timeout(60_000);
  let prometheus: PrometheusServer | undefined;
  let url: string;

  before(async () => {
    prometheus = await startPrometheus();
    url = prometheus.url;
  });

  after(() => {
    prometheus?.stop();
  });

  it('reads the value and age of the query a policy names', async () => {
    const compiled = compilePolicy({
      apiVersion: 'suture.dev/v1alpha1',
      kind: 'SuturePolicy',
      metadata: { name: 'healthy-only' },
      spec: { match: [{ kinds: ['Node'] }], invariants: [{ name: 'keep', protect: {} }], relaxWhen: [{ metric: { url, query: 'up{job="self"}', above: 0.5 } }] },
    });
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
    const queries = metricQueries([compiled.policy]);
    expect(queries).to.deep.equal([{ url, query: 'up{job="self"}' }]);
    const poller = new PrometheusPoller({ now: () => Date.now(), intervalMs: 1000 });
    await poller.track(queries);
    const sample = poller.read(url, 'up{job="self"}');
    poller.stop();
    expect(sample).to.have.property('value', 1);
    expect((sample as { ageSeconds: number }).ageSeconds).to.be.within(0, 30);
  });

  it('reports a query that returns no series, and an unreachable server, as errors', async () => {
    const port = await freePort();
    const poller = new PrometheusPoller({ now: () => Date.now(), timeoutMs: 2000 });
    await poller.track([{ url, query: 'no_such_metric' }, { url: `http://127.0.0.1:${port}`, query: 'up' }]);
    poller.stop();
    expect(poller.read(url, 'no_such_metric')).to.deep.equal({ error: 'the query returned 0 series; it must return exactly one' });
    expect(poller.read(`http://127.0.0.1:${port}`, 'up')).to.have.property('error').that.includes('unreachable');
  });
});
