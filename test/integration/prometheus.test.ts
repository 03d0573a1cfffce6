// Metric conditions read a real Prometheus: Debian's `prometheus` package, started on loopback, scraping itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { metricQueries, PrometheusPoller } from '../../src/admission/prometheus.js';
import { compilePolicy } from '../../src/core/policy.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('Prometheus metric conditions (real Prometheus on loopback)', function () {
  this.timeout(60_000);
  let dir: string;
  let prometheus: ChildProcess;
  let url: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'suture-prom-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    writeFileSync(join(dir, 'prometheus.yml'), `global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: self\n    static_configs: [{targets: ['127.0.0.1:${port}']}]\n`);
    prometheus = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    await until('Prometheus to scrape itself', async () => {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent('up{job="self"}')}`);
      const body = (await res.json()) as { data?: { result?: unknown[] } };
      return (body.data?.result?.length ?? 0) === 1;
    }, 45_000);
  });

  after(() => {
    prometheus?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
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
