// make bench: end-to-end benchmarks through the real control plane (test/controlplane), with the Go load generator
// (test/bench/loadgen). Interleaved rounds of three configurations — no admission, an equivalent
// ValidatingAdmissionPolicy, Suture (compiled, one replica, `node --max-semi-space-size=64`, CPU-profiled) — for the
// governed ServiceAccount bench/op and the admin, 1 and 8 clients; then the webhook alone, the lease reconcile, memory
// with 100,000 objects, and decide() (make bench-core). Ends with one `TARGET <name> <measured> <target> PASS|MISS`
// line per target. Ratios are taken within each round (same machine load on both sides), then the median over rounds.
//
//   npx tsx test/bench/e2e.bench.ts [--only latency,webhook,reconcile,memory,core] [--rounds 3] [--requests 200]
//
// Everything it starts is stopped at the end; logs, results (results.json) and Suture's CPU profiles stay in
// .cache/bench/<time>/.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeObject } from '../../src/api/types.js';
import { createObjectClient, type ObjectClient } from '../../src/kube/client.js';
import { type ControlPlane, startControlPlane, statusPreservingControllers } from '../controlplane/harness.js';
import { compiledSuture, startSutureProcess, type SutureProcess } from '../controlplane/suture-process.js';
import { ensureCrds, removeWebhookConfigurations, WEBHOOK_CONFIGURATIONS } from '../integration/suture-process.js';
import {
  apiServerText,
  applyAll,
  BENCH_NAMESPACE,
  createIdentities,
  deleteAll,
  equivalentVap,
  FORBIDDEN_KEY,
  type Identities,
  LEASE_NAMESPACE,
  matchingReview,
  MEMORY_NAMESPACE,
  SUTURE_NAMESPACE,
  suturePolicies,
} from './e2e/fixtures.js';
import { busyMs, type CpuProfile, formatHotFunctions, hotFunctions } from './profile.js';
import { atLeast, atMost, counterSum, formatTarget, meanMsBetween, median, medianRatio, notMeasured, parseCoreTable, ratioAtMost, type Target } from './targets.js';

const root = join(import.meta.dirname, '..', '..');
const PHASES = ['latency', 'webhook', 'reconcile', 'memory', 'core'] as const;
type Phase = (typeof PHASES)[number];
const CONFIGS = ['none', 'vap', 'suture'] as const;
type Config = (typeof CONFIGS)[number];

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const only = new Set(arg('only', process.env['BENCH'] ?? 'all').split(',').flatMap((p) => (p === 'all' ? [...PHASES] : [p])));
for (const p of only) if (!(PHASES as readonly string[]).includes(p)) throw new Error(`unknown phase ${p}; BENCH= takes ${PHASES.join(',')} or all`);
const ROUNDS = Number(arg('rounds', '3'));
const REQUESTS = Number(arg('requests', '100'));
const MEMORY_OBJECTS = Number(arg('memory-objects', '100000'));
const LEASES = Number(arg('leases', '1000'));
/** The most time each half of the memory phase's objects may take to create. */
const MEMORY_POPULATE_SECONDS = Number(arg('memory-populate-seconds', '150'));
const selected = (p: Phase): boolean => only.has(p);

const started = Date.now();
const outDir = join(root, '.cache', 'bench', new Date().toISOString().replace(/[:.]/g, '-'));
mkdirSync(join(outDir, 'profiles'), { recursive: true });
const log = (line: string): void => console.error(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${line}`);

// ------------------------------------------------------------------------------------------------ load generator

interface LoadResult {
  op: string;
  clients: number;
  count: number;
  errors: number;
  firstError?: string;
  p50ms: number;
  p99ms: number;
  throughput: number;
  seconds: number;
}

let loadgenPath = '';

function run(command: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString('utf8');
      for (const line of d.toString('utf8').trimEnd().split('\n')) if (line !== '') log(`  ${line}`);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.slice(0, 2).join(' ')} exited ${code ?? signal ?? '?'}${signal === 'SIGKILL' ? ` (killed after ${timeoutMs / 1000}s)` : ''}: ${err.trim().split('\n').slice(-3).join(' / ')}`));
    });
  });
}

async function loadgen<T = LoadResult>(command: string, flags: Record<string, string | number>, timeoutMs = 300_000): Promise<T> {
  const args = [command, ...Object.entries(flags).map(([k, v]) => `--${k}=${v}`)];
  return JSON.parse(await run(loadgenPath, args, timeoutMs)) as T;
}

// ------------------------------------------------------------------------------------------------ configurations

interface Bench {
  cp: ControlPlane;
  client: ObjectClient;
  ids: Identities;
  governed: ObjectClient;
  suture?: SutureProcess;
}

let probes = 0;

/** Whether admission now refuses a governed create with the forbidden key (it is deleted when it got through). */
async function enforcing(b: Bench): Promise<boolean> {
  const name = `probe-${++probes}`;
  try {
    await b.governed.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: BENCH_NAMESPACE }, data: { [FORBIDDEN_KEY]: 'x' } });
  } catch {
    return true;
  }
  await b.client.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: BENCH_NAMESPACE, name });
  return false;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await sleep(250);
  }
}

async function startSuture(b: Bench, name: string, profile: boolean): Promise<SutureProcess> {
  const flags = ['--max-semi-space-size=64', ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${join(outDir, 'profiles')}`, `--cpu-prof-name=${name}.cpuprofile`] : [])];
  const t0 = Date.now();
  const suture = await startSutureProcess({ kubeconfigPath: b.ids.admin, logPath: join(outDir, `${name}.log`), namespace: SUTURE_NAMESPACE, node: compiledSuture(flags), args: ['--leader-elect=false', '--log-level=warn'], readyTimeoutMs: 120_000 });
  log(`Suture ${name} ready in ${((Date.now() - t0) / 1000).toFixed(1)}s (pid ${suture.pid})`);
  b.suture = suture;
  return suture;
}

async function stopSuture(b: Bench): Promise<void> {
  await b.suture?.stop();
  b.suture = undefined;
  await removeWebhookConfigurations(b.client);
}

async function published(b: Bench): Promise<boolean> {
  const configs = await Promise.all(WEBHOOK_CONFIGURATIONS.map((ref) => b.client.find<KubeObject & { webhooks?: { clientConfig?: { caBundle?: string } }[] }>(ref)));
  return configs.every((c) => (c?.webhooks?.length ?? 0) > 0 && (c?.webhooks?.every((w) => (w.clientConfig?.caBundle ?? '') !== '') ?? false));
}

async function enable(b: Bench, config: Config, round: number): Promise<void> {
  if (config === 'vap') await applyAll(b.client, equivalentVap);
  if (config === 'suture') {
    await startSuture(b, `suture-round${round}`, true);
    await until('Suture to publish its webhook configurations', () => published(b));
  }
  if (config !== 'none') await until(`${config} to enforce`, () => enforcing(b));
}

async function disable(b: Bench, config: Config): Promise<void> {
  if (config === 'vap') await deleteAll(b.client, equivalentVap);
  if (config === 'suture') await stopSuture(b);
  if (config !== 'none') await until(`${config} to stop enforcing`, async () => !(await enforcing(b)));
}

async function webhookCalls(b: Bench): Promise<number> {
  if (b.suture === undefined) return 0;
  const text = (await b.suture.get('/metrics')).body;
  return counterSum(text, 'suture_admission_http_requests_total', { route: '/validate' }) + counterSum(text, 'suture_admission_http_requests_total', { route: '/mutate' });
}

// ------------------------------------------------------------------------------------------------ latency

interface Measure {
  id: string;
  identity: 'governed' | 'admin';
  op: 'create' | 'update' | 'delete' | 'delete-namespace';
  clients: number;
  count: number;
  /** Objects to create (as admin, untimed) before: plain ConfigMaps, owners with 100 dependents, namespaces of 1,000. */
  fixture?: 'objects' | 'owners' | 'namespaces';
  /** Measured only for these configurations (the state targets compare Suture with no admission). */
  configs?: readonly Config[];
}

const MEASURES: Measure[] = [
  { id: 'governed-create-1c', identity: 'governed', op: 'create', clients: 1, count: REQUESTS },
  { id: 'governed-update-1c', identity: 'governed', op: 'update', clients: 1, count: REQUESTS, fixture: 'objects' },
  { id: 'governed-delete-1c', identity: 'governed', op: 'delete', clients: 1, count: REQUESTS, fixture: 'objects' },
  { id: 'governed-create-8c', identity: 'governed', op: 'create', clients: 8, count: 4 * REQUESTS },
  { id: 'governed-update-8c', identity: 'governed', op: 'update', clients: 8, count: 4 * REQUESTS, fixture: 'objects' },
  { id: 'governed-delete-8c', identity: 'governed', op: 'delete', clients: 8, count: 4 * REQUESTS, fixture: 'objects' },
  { id: 'admin-create-1c', identity: 'admin', op: 'create', clients: 1, count: REQUESTS },
  { id: 'admin-create-8c', identity: 'admin', op: 'create', clients: 8, count: 8 * REQUESTS },
  { id: 'admin-update-8c', identity: 'admin', op: 'update', clients: 8, count: 4 * REQUESTS, fixture: 'objects' },
  { id: 'governed-delete-owner100-1c', identity: 'governed', op: 'delete', clients: 1, count: Math.max(5, Math.round(REQUESTS / 20)), fixture: 'owners', configs: ['none', 'suture'] },
  { id: 'governed-delete-ns1000-1c', identity: 'governed', op: 'delete-namespace', clients: 1, count: 2, fixture: 'namespaces', configs: ['none', 'suture'] },
];

type Results = Record<string, Partial<Record<Config, LoadResult[]>>>;
const results: Results = {};
const ungovernedCalls: number[] = [];
const webhookResults: (LoadResult & { allowed: number; denied: number })[] = [];

async function fixture(b: Bench, m: Measure, prefix: string): Promise<void> {
  const flags = { kubeconfig: b.ids.admin, namespace: BENCH_NAMESPACE, prefix, clients: 8 };
  if (m.fixture === 'objects') await loadgen('populate', { ...flags, count: m.count });
  if (m.fixture === 'owners') await loadgen('owners', { ...flags, count: m.count, dependents: 100 });
  if (m.fixture === 'namespaces') await loadgen('namespaces', { ...flags, count: m.count, objects: 1000 });
}

async function measure(b: Bench, m: Measure, config: Config, round: number): Promise<void> {
  const prefix = `r${round}-${config}-${m.id}`;
  if (m.fixture !== undefined) {
    await fixture(b, m, prefix);
    // Let the caches (Suture's and the API server's watchers) take in the fixture before the first timed request.
    await sleep(m.fixture === 'objects' ? 500 : 3000);
  }
  const calls = m.identity === 'admin' ? await webhookCalls(b) : 0;
  const before = b.suture === undefined || m.identity === 'admin' ? undefined : (await b.suture.get('/metrics')).body;
  const r = await loadgen('requests', { kubeconfig: m.identity === 'admin' ? b.ids.admin : b.ids.governed, namespace: BENCH_NAMESPACE, op: m.op, clients: m.clients, count: m.count, prefix });
  if (m.identity === 'admin' && config === 'suture') ungovernedCalls.push((await webhookCalls(b)) - calls);
  if (r.errors > 0) log(`  ${m.id} ${config}: ${r.errors} errors, first: ${r.firstError ?? ''}`);
  log(`  ${m.id.padEnd(28)} ${config.padEnd(6)} p50 ${r.p50ms.toFixed(2).padStart(7)} ms  p99 ${r.p99ms.toFixed(2).padStart(7)} ms  ${r.throughput.toFixed(0).padStart(5)}/s  (${r.count} ok, ${r.errors} errors)`);
  if (before !== undefined && b.suture !== undefined) {
    // Where Suture's part of it went (means over the measure): the whole answer, then its stages.
    const after = (await b.suture.get('/metrics')).body;
    const stage = (s: string): string => meanMsBetween(before, after, 'suture_admission_stage_duration_seconds', { stage: s });
    log(`  ${''.padEnd(28)} Suture: answered ${meanMsBetween(before, after, 'suture_admission_duration_seconds')}, decide ${stage('decide')}, freshness ${stage('freshness')}, respond ${stage('respond')}`);
  }
  ((results[m.id] ??= {})[config] ??= []).push(r);
}

async function webhookAlone(b: Bench): Promise<void> {
  if (b.suture === undefined) return;
  const review = join(outDir, 'review.json');
  writeFileSync(review, JSON.stringify(matchingReview()));
  const r = await loadgen<LoadResult & { allowed: number; denied: number }>('webhook', { url: `${b.suture.url}/validate`, review, connections: 8, duration: '8s', warmup: '2s' }, 60_000);
  log(`  webhook alone: ${r.throughput.toFixed(0)} reviews/s, p50 ${r.p50ms.toFixed(2)} ms, p99 ${r.p99ms.toFixed(2)} ms (${r.allowed} allowed, ${r.denied} denied, ${r.errors} errors)`);
  webhookResults.push(r);
}

async function measureRound(b: Bench, config: Config, round: number): Promise<void> {
  await loadgen('requests', { kubeconfig: b.ids.governed, namespace: BENCH_NAMESPACE, op: 'create', clients: 8, count: 100, prefix: `r${round}-${config}-warmup` });
  const measures = selected('latency') ? MEASURES.filter((m) => m.configs === undefined || m.configs.includes(config)) : [];
  for (const m of measures) await measure(b, m, config, round);
  if (selected('webhook') && config === 'suture') await webhookAlone(b);
}

async function latencyRounds(b: Bench): Promise<void> {
  for (let round = 1; round <= ROUNDS; round++) {
    // Rotate the order so that no configuration always runs first (on a fresh API server) or last.
    const order = CONFIGS.map((_, i) => CONFIGS[(i + round - 1) % CONFIGS.length] as Config);
    for (const config of order) {
      log(`round ${round}/${ROUNDS}: ${config} (load average ${loadavg()[0]?.toFixed(1) ?? '?'})`);
      await enable(b, config, round);
      try {
        await measureRound(b, config, round);
      } finally {
        await disable(b, config);
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------ reconcile

interface ReconcileResult {
  leases: number;
  /** How long creating the leases took (through the API server and Suture's webhooks). */
  createSeconds: number;
  reconciles: number;
  meanReconcileMs: number;
  stableSeconds: number;
  stable: boolean;
  phases: Record<string, number>;
  statusWrites: number;
  rbacWrites: number;
}

function apiWrites(metrics: string, resource: string, verbs: readonly string[], subresource = ''): number {
  return verbs.reduce((sum, verb) => sum + counterSum(metrics, 'apiserver_request_total', { resource, subresource, verb }), 0);
}

async function reconcilePhase(b: Bench): Promise<ReconcileResult> {
  await startSuture(b, 'suture-reconcile', true);
  try {
    await until('Suture to publish its webhook configurations', () => published(b));
    const before = await apiServerText(b.cp.kubeConfig, '/metrics');
    const r = await loadgen<{ created: number; createSeconds: number; stableSeconds: number; stable: boolean; phases: Record<string, number> }>('leases', { kubeconfig: b.ids.admin, namespace: LEASE_NAMESPACE, count: LEASES, conflicting: Math.round(LEASES / 10), clients: 8, timeout: '90s' }, 180_000);
    await sleep(5000); // writes after "stable" count too
    const after = await apiServerText(b.cp.kubeConfig, '/metrics');
    const writes = (m: string): { status: number; rbac: number } => ({
      status: apiWrites(m, 'sutureleases', ['PATCH', 'PUT'], 'status'),
      rbac: ['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings'].reduce((s, res) => s + apiWrites(m, res, ['POST', 'PUT', 'PATCH', 'DELETE']), 0),
    });
    const w0 = writes(before);
    const w1 = writes(after);
    // Suture's own count of lease reconciles and the time they took (each waits on API round trips).
    const own = (await b.suture?.get('/metrics'))?.body ?? '';
    const reconciles = counterSum(own, 'suture_reconcile_total', { controller: 'suturelease' });
    const reconcileSeconds = counterSum(own, 'suture_reconcile_duration_seconds_sum', { controller: 'suturelease' });
    const result = { leases: r.created, createSeconds: r.createSeconds, stableSeconds: r.stableSeconds, stable: r.stable, phases: r.phases, statusWrites: w1.status - w0.status, rbacWrites: w1.rbac - w0.rbac, reconciles, meanReconcileMs: reconciles === 0 ? 0 : (1000 * reconcileSeconds) / reconciles };
    log(`  reconcile: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await stopSuture(b);
    await b.client.delete({ apiVersion: 'v1', kind: 'Namespace', name: LEASE_NAMESPACE });
  }
}

// ------------------------------------------------------------------------------------------------ memory

interface MemoryResult {
  objects: number;
  baseRssMiB: number;
  rssMiB: number;
  perObjectKB: number;
  readySeconds: number;
  populateSeconds: number;
}

function rssMiB(pid: number): number {
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kib) / 1024;
}

async function settledRss(b: Bench): Promise<number> {
  await sleep(5000);
  return rssMiB(b.suture?.pid ?? -1);
}

async function memoryPhase(b: Bench): Promise<MemoryResult> {
  await startSuture(b, 'suture-memory-base', false);
  const baseRssMiB = await settledRss(b);
  await stopSuture(b);
  await applyAll(b.client, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: MEMORY_NAMESPACE } }]);
  const t0 = Date.now();
  const half = Math.round(MEMORY_OBJECTS / 2);
  // Half a kind the policies match (full objects cached), half one they do not (metadata at most).
  // Bounded: on a machine too busy to create them all in time, the figures say how many there were.
  const bounded = { kubeconfig: b.ids.admin, namespace: MEMORY_NAMESPACE, prefix: 'mem', clients: 8, 'max-time': `${MEMORY_POPULATE_SECONDS}s` };
  const cms = await loadgen('populate', { ...bounded, kind: 'configmap', count: half }, 600_000);
  const secrets = await loadgen('populate', { ...bounded, kind: 'secret', count: MEMORY_OBJECTS - half }, 600_000);
  const populateSeconds = (Date.now() - t0) / 1000;
  log(`  created ${cms.count} ConfigMaps (${cms.throughput.toFixed(0)}/s) and ${secrets.count} Secrets (${secrets.throughput.toFixed(0)}/s) in ${populateSeconds.toFixed(0)}s`);
  const t1 = Date.now();
  await startSuture(b, 'suture-memory', true);
  const readySeconds = (Date.now() - t1) / 1000;
  try {
    const rss = await settledRss(b);
    const objects = cms.count + secrets.count;
    const result = { objects, baseRssMiB, rssMiB: rss, perObjectKB: ((rss - baseRssMiB) * 1024) / objects, readySeconds, populateSeconds };
    log(`  memory: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await stopSuture(b);
  }
}

// ------------------------------------------------------------------------------------------------ decide()

async function corePhase(): Promise<Map<string, { p50ms: number; p99ms: number }>> {
  const out = await run(process.execPath, ['--max-semi-space-size=64', '--import', 'tsx', join(root, 'test', 'bench', 'core.bench.ts'), '--iterations', '1000'], 600_000);
  console.log(out.trimEnd());
  return parseCoreTable(out);
}

// ------------------------------------------------------------------------------------------------ report

function series(id: string, config: Config, field: 'p50ms' | 'p99ms' | 'throughput'): number[] {
  return (results[id]?.[config] ?? []).map((r) => r[field]);
}

function fmtSeries(values: readonly number[], digits: number): string {
  return values.map((v) => v.toFixed(digits)).join(', ');
}

function printLatencyTable(): void {
  console.log('\n| measure | config | p50 ms (per round) | p99 ms (per round) | req/s (per round) | errors |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const m of MEASURES) {
    for (const config of CONFIGS) {
      const rs = results[m.id]?.[config];
      if (rs === undefined) continue;
      console.log(`| ${m.id} | ${config} | ${fmtSeries(series(m.id, config, 'p50ms'), 2)} | ${fmtSeries(series(m.id, config, 'p99ms'), 2)} | ${fmtSeries(series(m.id, config, 'throughput'), 0)} | ${rs.reduce((s, r) => s + r.errors, 0)} |`);
    }
  }
}

function ratio(id: string, config: Config, baseline: Config, field: 'p50ms' | 'p99ms'): number {
  return medianRatio(series(id, config, field), series(id, baseline, field));
}

function latencyTargets(): Target[] {
  if (!selected('latency')) return [notMeasured('latency', 'see-issue-8', 'BENCH excluded latency')];
  const t: Target[] = [];
  for (const id of ['governed-create-1c', 'governed-update-1c', 'governed-create-8c', 'governed-update-8c']) {
    t.push(ratioAtMost(`${id}-p50-vs-vap`, ratio(id, 'suture', 'vap', 'p50ms'), 1.25));
    t.push(ratioAtMost(`${id}-p99-vs-vap`, ratio(id, 'suture', 'vap', 'p99ms'), 1.5));
  }
  t.push(ratioAtMost('governed-delete-unprotected-1c-p50-vs-none', ratio('governed-delete-1c', 'suture', 'none', 'p50ms'), 1.5));
  t.push(ratioAtMost('governed-delete-unprotected-8c-p50-vs-none', ratio('governed-delete-8c', 'suture', 'none', 'p50ms'), 1.5));
  t.push(ratioAtMost('state-delete-owner-100-dependents-p50-vs-none', ratio('governed-delete-owner100-1c', 'suture', 'none', 'p50ms'), 2));
  t.push(ratioAtMost('state-delete-namespace-1000-objects-p50-vs-none', ratio('governed-delete-ns1000-1c', 'suture', 'none', 'p50ms'), 2));
  t.push(ratioAtMost('ungoverned-create-1c-p50-vs-none', ratio('admin-create-1c', 'suture', 'none', 'p50ms'), 1.05));
  t.push(ratioAtMost('ungoverned-create-8c-p50-vs-none', ratio('admin-create-8c', 'suture', 'none', 'p50ms'), 1.05));
  t.push(ratioAtMost('ungoverned-update-8c-p50-vs-none', ratio('admin-update-8c', 'suture', 'none', 'p50ms'), 1.05));
  t.push(atMost('ungoverned-webhook-calls', ungovernedCalls.length === 0 ? Number.NaN : ungovernedCalls.reduce((a, c) => a + c, 0), { limit: 0, unit: '', digits: 0 }));
  const capacity = Math.max(median(series('admin-create-8c', 'none', 'throughput')), median(series('governed-create-8c', 'none', 'throughput')));
  t.push(atLeast('loadgen-8c-throughput-no-admission', capacity, { limit: 1000, unit: '/s' }));
  return t;
}

function webhookTargets(): Target[] {
  if (webhookResults.length === 0) return [notMeasured('webhook-alone', '>=3000/s', selected('webhook') ? 'no Suture round ran' : 'BENCH excluded webhook')];
  return [
    atLeast('webhook-alone-8conn-throughput', median(webhookResults.map((r) => r.throughput)), { limit: 3000, unit: '/s' }),
    atMost('webhook-alone-8conn-p99', median(webhookResults.map((r) => r.p99ms)), { limit: 10, unit: 'ms' }),
  ];
}

function printProfiles(): void {
  const dir = join(outDir, 'profiles');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    console.log(`\nCPU profile of Suture, ${file}: busy ${(busyMs(profile) / 1000).toFixed(1)} s of ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s; self time, top 12:`);
    console.log(formatHotFunctions(hotFunctions(profile, 12, root)));
  }
}

// ------------------------------------------------------------------------------------------------ main

async function main(): Promise<void> {
  log(`make bench: phases ${[...only].join(',')}, ${ROUNDS} rounds, ${REQUESTS} requests per 1-client measure; output in ${outDir}`);
  loadgenPath = (await run(join(root, 'test', 'bench', 'build.sh'), [], 600_000)).trim().split('\n').pop() ?? '';
  const cp = await startControlPlane({ log, controllers: statusPreservingControllers });
  const targets: Target[] = [];
  let reconcile: ReconcileResult | undefined;
  let memory: MemoryResult | undefined;
  let core: Map<string, { p50ms: number; p99ms: number }> | undefined;
  const failures: string[] = [];
  const attempt = async (what: string, body: () => Promise<void>): Promise<void> => {
    try {
      await body();
    } catch (error) {
      failures.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      log(`${what} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  };
  try {
    const client = createObjectClient(cp.kubeConfig);
    await ensureCrds(client);
    const ids = await createIdentities(client, cp, outDir);
    const b: Bench = { cp, client, ids, governed: createObjectClient(ids.governedKubeConfig) };
    await applyAll(client, suturePolicies);
    if (selected('latency') || selected('webhook')) await attempt('latency rounds', () => latencyRounds(b));
    if (selected('reconcile')) await attempt('reconcile', async () => void (reconcile = await reconcilePhase(b)));
    if (selected('memory')) await attempt('memory', async () => void (memory = await memoryPhase(b)));
    if (b.suture !== undefined) await stopSuture(b);
  } finally {
    await cp.stop();
  }
  if (selected('core')) await attempt('decide() (make bench-core)', async () => void (core = await corePhase()));

  if (selected('latency')) printLatencyTable();
  printProfiles();
  writeFileSync(join(outDir, 'results.json'), JSON.stringify({ results, ungovernedCalls, webhookResults, reconcile, memory, core: core === undefined ? undefined : Object.fromEntries(core) }, null, 2));
  targets.push(...latencyTargets(), ...webhookTargets());
  if (memory !== undefined) {
    targets.push(atMost(`memory-per-object-${memory.objects}-objects`, memory.perObjectKB, { limit: 1.5, unit: 'KB', digits: 2 }));
    targets.push(atMost(`ready-with-${memory.objects}-objects`, memory.readySeconds, { limit: 30, unit: 's' }));
  } else targets.push(notMeasured('memory', '<=1.5KB', selected('memory') ? 'phase failed' : 'BENCH excluded memory'));
  if (reconcile !== undefined) {
    targets.push(atMost(`reconcile-${reconcile.leases}-leases-stable`, reconcile.stable ? reconcile.stableSeconds : Number.NaN, { limit: 30, unit: 's' }));
    targets.push(atMost('reconcile-status-writes-per-lease', reconcile.statusWrites / reconcile.leases, { limit: 1, unit: '', digits: 2 }));
  } else targets.push(notMeasured('reconcile', '<=30s', selected('reconcile') ? 'phase failed' : 'BENCH excluded reconcile'));
  if (core !== undefined) {
    const row = (name: string): { p50ms: number; p99ms: number } => core?.get(name) ?? { p50ms: Number.NaN, p99ms: Number.NaN };
    targets.push(atMost('decide-create-p99', row('create').p99ms, { limit: 1, unit: 'ms', digits: 3 }));
    targets.push(atMost('decide-update-p99', row('update').p99ms, { limit: 1, unit: 'ms', digits: 3 }));
    const nsRow = [...core.keys()].find((k) => k.startsWith('namespace')) ?? 'namespace delete';
    targets.push(atMost('decide-namespace-delete-p99', row(nsRow).p99ms, { limit: 20, unit: 'ms', digits: 1 }));
  } else if (selected('core')) targets.push(notMeasured('decide', '<=1ms', 'phase failed'));

  console.log(`\nmake bench: ${((Date.now() - started) / 1000).toFixed(0)} s, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; results in ${outDir}`);
  for (const f of failures) console.log(`FAILED ${f}`);
  for (const t of targets) console.log(formatTarget(t));
}

await main();
