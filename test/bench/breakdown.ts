// Where a governed request's time goes, measured on the real control plane in one run: the client's latency, the API
// server's own timing of each webhook call (apiserver_admission_webhook_admission_duration_seconds: serialising the
// review, the HTTPS round trip, Suture's answer), Suture's time from receiving a review to answering it
// (suture_admission_duration_seconds) and its stages (suture_admission_stage_duration_seconds). The difference
// between the API server's and Suture's figures is the transport: TLS, HTTP and JSON on both sides.
//
//   npx tsx test/bench/breakdown.ts [--requests 300] [--objects 0] [--profile]
//
// --objects fills the namespace with that many more ConfigMaps first (a delete's consistent read filters the
// namespace's ConfigMaps on the API server: its cost grows with them). Uses the policies, identities and load
// generator of make bench (test/bench/e2e).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createObjectClient, RawObjectApi } from '../../src/kube/client.js';
import { METADATA_LIST_ACCEPT } from '../../src/kube/metadata.js';
import { startControlPlane, statusPreservingControllers } from '../controlplane/harness.js';
import { compiledSuture, startSutureProcess } from '../controlplane/suture-process.js';
import { ensureCrds, removeWebhookConfigurations } from '../integration/suture-process.js';
import { writeFileSync } from 'node:fs';
import { apiServerText, applyAll, BENCH_NAMESPACE, createIdentities, FORBIDDEN_KEY, matchingReview, SUTURE_NAMESPACE, suturePolicies } from './e2e/fixtures.js';
import { histogramTotals } from './targets.js';

const root = join(import.meta.dirname, '..', '..');
const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const REQUESTS = Number(arg('requests', '300'));
const OBJECTS = Number(arg('objects', '0'));
/** --profile: Suture runs with --cpu-prof into .cache/breakdown.cpuprofile. */
const PROFILE = process.argv.includes('--profile');

function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} exited ${code ?? '?'}`))));
  });
}

const histogram = histogramTotals;

const ms = (h: { sum: number; count: number }): string => (h.count === 0 ? '-' : `${((h.sum / h.count) * 1000).toFixed(2)} ms`);
const minus = (a: { sum: number; count: number }, b: { sum: number; count: number }): { sum: number; count: number } => ({ sum: a.sum - b.sum, count: a.count - b.count });

/** Runs each read `count` times, interleaved (after 3 untimed rounds), and returns the times by name. */
async function timeReads(reads: Record<string, () => Promise<unknown>>, count: number): Promise<Record<string, number[]>> {
  const times: Record<string, number[]> = {};
  for (let i = -3; i < count; i++) {
    for (const [name, read] of Object.entries(reads)) {
      const t0 = performance.now();
      await read();
      if (i >= 0) (times[name] ??= []).push(performance.now() - t0);
    }
  }
  return times;
}

const loadgen = (await run(join(root, 'test', 'bench', 'build.sh'), [])).trim().split('\n').pop() ?? '';
const cp = await startControlPlane({ controllers: statusPreservingControllers });
try {
  const client = createObjectClient(cp.kubeConfig);
  await ensureCrds(client);
  const ids = await createIdentities(client, cp, join(root, '.cache'));
  await applyAll(client, suturePolicies);
  if (OBJECTS > 0) await run(loadgen, ['populate', `--kubeconfig=${ids.admin}`, `--namespace=${BENCH_NAMESPACE}`, '--prefix=filler', '--clients=8', `--count=${OBJECTS}`]);
  const suture = await startSutureProcess({ kubeconfigPath: ids.admin, logPath: join(root, '.cache', 'breakdown-suture.log'), namespace: SUTURE_NAMESPACE, node: compiledSuture(['--max-semi-space-size=64', ...(PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${join(root, '.cache')}`, '--cpu-prof-name=breakdown.cpuprofile'] : [])]), args: ['--leader-elect=false', '--log-level=warn'], readyTimeoutMs: 120_000 });
  try {
    // Until the policies are enforced: a governed create with the forbidden key is refused.
    const governed = createObjectClient(ids.governedKubeConfig);
    for (let i = 0; ; i++) {
      try {
        await governed.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `probe-${i}`, namespace: BENCH_NAMESPACE }, data: { [FORBIDDEN_KEY]: 'x' } });
      } catch {
        break;
      }
      await sleep(250);
    }
    await run(loadgen, ['requests', `--kubeconfig=${ids.governed}`, `--namespace=${BENCH_NAMESPACE}`, '--op=create', '--clients=1', '--count=100', '--prefix=warm']);
    // What a fresh read costs: the consistent metadata LIST a delete's scope makes, in this namespace and in a near-empty
    // one, and a consistent GET of one object; interleaved, 30 each, medians.
    const raw = RawObjectApi.fromKubeConfig(cp.kubeConfig);
    const reads: Record<string, () => Promise<unknown>> = {
      [`LIST ${BENCH_NAMESPACE} protected=true`]: () => raw.request({ method: 'GET', path: `/api/v1/namespaces/${BENCH_NAMESPACE}/configmaps`, query: { labelSelector: 'protected=true', limit: 500 }, accept: METADATA_LIST_ACCEPT }),
      'LIST default protected=true': () => raw.request({ method: 'GET', path: '/api/v1/namespaces/default/configmaps', query: { labelSelector: 'protected=true', limit: 500 }, accept: METADATA_LIST_ACCEPT }),
      [`GET namespace ${BENCH_NAMESPACE}`]: () => raw.request({ method: 'GET', path: `/api/v1/namespaces/${BENCH_NAMESPACE}` }),
    };
    const times = await timeReads(reads, 30);
    for (const [name, list] of Object.entries(times)) console.log(`consistent read ${name}: p50 ${(list.sort((a, b) => a - b)[Math.floor(list.length / 2)] ?? 0).toFixed(2)} ms`);
    console.log(`requests per measure: ${REQUESTS}; ConfigMaps added to ${BENCH_NAMESPACE} first: ${OBJECTS}`);
    console.log('op      client p50   API server: webhook call   Suture: review answered   decode   decide   freshness   respond');
    for (const op of ['create', 'update', 'delete'] as const) {
      const prefix = `b-${op}`;
      if (op !== 'create') await run(loadgen, ['populate', `--kubeconfig=${ids.admin}`, `--namespace=${BENCH_NAMESPACE}`, `--prefix=${prefix}`, '--clients=8', `--count=${REQUESTS}`]);
      await sleep(500);
      const [api0, s0] = [await apiServerText(cp.kubeConfig, '/metrics'), (await suture.get('/metrics')).body];
      const r = JSON.parse(await run(loadgen, ['requests', `--kubeconfig=${ids.governed}`, `--namespace=${BENCH_NAMESPACE}`, `--op=${op}`, '--clients=1', `--count=${REQUESTS}`, `--prefix=${prefix}`])) as { p50ms: number };
      const [api1, s1] = [await apiServerText(cp.kubeConfig, '/metrics'), (await suture.get('/metrics')).body];
      const OP = op.toUpperCase();
      const call = minus(histogram(api1, 'apiserver_admission_webhook_admission_duration_seconds', { operation: OP, type: 'validating' }), histogram(api0, 'apiserver_admission_webhook_admission_duration_seconds', { operation: OP, type: 'validating' }));
      const answered = minus(histogram(s1, 'suture_admission_duration_seconds', { operation: OP }), histogram(s0, 'suture_admission_duration_seconds', { operation: OP }));
      const stage = (s: string): string => ms(minus(histogram(s1, 'suture_admission_stage_duration_seconds', { stage: s }), histogram(s0, 'suture_admission_stage_duration_seconds', { stage: s })));
      console.log(`${op.padEnd(7)} ${`${r.p50ms.toFixed(2)} ms`.padStart(10)}   ${`${ms(call)} (${call.count})`.padStart(24)}   ${`${ms(answered)} (${answered.count})`.padStart(23)}   ${stage('decode').padStart(7)}  ${stage('decide').padStart(7)}  ${stage('freshness').padStart(10)}  ${stage('respond').padStart(7)}`);
    }
    // The webhook alone: the review of a governed create a policy matches, posted to /validate on 8 keep-alive connections.
    const review = join(root, '.cache', 'breakdown-review.json');
    writeFileSync(review, JSON.stringify(matchingReview()));
    const s0 = (await suture.get('/metrics')).body;
    const w = JSON.parse(await run(loadgen, ['webhook', `--url=${suture.url}/validate`, `--review=${review}`, '--connections=8', '--duration=8s', '--warmup=2s'])) as { throughput: number; p50ms: number; p99ms: number };
    const s1 = (await suture.get('/metrics')).body;
    const answered = minus(histogram(s1, 'suture_admission_duration_seconds', { operation: 'CREATE' }), histogram(s0, 'suture_admission_duration_seconds', { operation: 'CREATE' }));
    const stage = (s: string): string => ms(minus(histogram(s1, 'suture_admission_stage_duration_seconds', { stage: s }), histogram(s0, 'suture_admission_stage_duration_seconds', { stage: s })));
    console.log(`webhook alone: ${w.throughput.toFixed(0)} reviews/s, p50 ${w.p50ms.toFixed(2)} ms, p99 ${w.p99ms.toFixed(2)} ms; Suture: answered ${ms(answered)}, decode ${stage('decode')}, decide ${stage('decide')}, respond ${stage('respond')}`);
  } finally {
    await suture.stop();
    await removeWebhookConfigurations(client);
  }
} finally {
  await cp.stop();
}
