import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { LogKeys } from '../../../src/observability/keys.js';
import { createLogger, createMemoryLogger, createNullLogger, errorFields } from '../../../src/observability/logger.js';
import { createMetrics } from '../../../src/observability/metrics.js';

function capture(): { stream: PassThrough; lines: () => Record<string, unknown>[] } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { stream, lines: () => text.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('logger', () => {
  it('writes one JSON object per line with level, message, timestamp, base and child fields', async () => {
    const { stream, lines } = capture();
    const logger = createLogger({ level: 'info', stream, base: { component: 'suture' } });
    logger.child({ [LogKeys.controller]: 'suturelease' }).info('Created ClusterRole', { [LogKeys.name]: 'x' });
    logger.debug('Not written at info');
    await new Promise((resolve) => setImmediate(resolve));
    const [line, ...rest] = lines();
    expect(rest).to.be.empty;
    expect(line).to.include({ level: 'info', message: 'Created ClusterRole', component: 'suture', controller: 'suturelease', name: 'x' });
    expect(line?.timestamp).to.be.a('string');
  });

  it('turns Errors into message, kind and cause', async () => {
    const { stream, lines } = capture();
    createLogger({ level: 'debug', stream }).error('Failed', { error: new TypeError('bad', { cause: new Error('root') }) });
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines()[0]).to.include({ error: 'bad', errorKind: 'TypeError', cause: 'root' });
    expect(errorFields('plain')).to.deep.equal({ error: 'plain' });
  });

  it('memory and null loggers', () => {
    const memory = createMemoryLogger();
    memory.child({ a: 1 }).child({ b: 2 }).warn('x', { c: 3 });
    expect(memory.entries).to.deep.equal([{ level: 'warn', message: 'x', fields: { a: 1, b: 2, c: 3 } }]);
    const none = createNullLogger();
    none.child({}).error('dropped');
  });

  it('names every log key once, in camelCase', () => {
    const values = Object.values(LogKeys);
    expect(new Set(values).size).to.equal(values.length);
    for (const [name, value] of Object.entries(LogKeys)) expect(value).to.equal(name);
  });
});

describe('metrics', () => {
  it('registers the Suture metrics on a registry of its own', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.decisions.inc({ verdict: 'deny', policy: 'protect-pg' });
    a.workqueueDepth.set({ controller: 'suturelease' }, 3);
    a.admissionDuration.observe({ operation: 'DELETE', verdict: 'deny' }, 0.004);
    const text = await a.registry.metrics();
    expect(text).to.contain('suture_decisions_total{verdict="deny",policy="protect-pg"} 1');
    expect(text).to.contain('suture_workqueue_depth{controller="suturelease"} 3');
    expect(text).to.contain('suture_admission_duration_seconds_bucket{le="0.005",operation="DELETE",verdict="deny"} 1');
    for (const name of ['suture_reconcile_total', 'suture_reconcile_duration_seconds', 'suture_informer_synced']) expect(text).to.contain(`# TYPE ${name}`);
    expect(await b.registry.metrics()).to.not.contain('protect-pg');
  });

  it('reads certificate expiries from the watched source at each scrape, and has no series before', async () => {
    const m = createMetrics();
    expect(await m.registry.metrics()).not.to.contain('suture_certificate_expiry_timestamp_seconds{');
    let serving = new Date('2027-01-01T00:00:00Z');
    m.watchCertificates(() => [{ certificate: 'serving', notAfter: serving }, { certificate: 'ca', notAfter: new Date('2036-01-01T00:00:00Z') }]);
    expect(await m.registry.metrics()).to.contain('suture_certificate_expiry_timestamp_seconds{certificate="serving"} 1798761600');
    serving = new Date('2027-02-01T00:00:00Z');
    const text = await m.registry.metrics();
    expect(text).to.contain('suture_certificate_expiry_timestamp_seconds{certificate="serving"} 1801440000');
    expect(text).to.contain('suture_certificate_expiry_timestamp_seconds{certificate="ca"} 2082758400');
  });

  it('collects process metrics only when asked', async () => {
    expect(await createMetrics().registry.metrics()).to.not.contain('process_cpu');
    expect(await createMetrics({ collectDefault: true }).registry.metrics()).to.contain('process_cpu');
  });
});
