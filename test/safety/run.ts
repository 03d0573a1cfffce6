// The randomised safety test (issue 9): seeded simulated operators — governed service accounts bound to
// cluster-admin — send random creates, updates, scales (spec and /scale), status writes, evictions, deletes (cascades
// Background/Foreground/Orphan, deletecollection), ownerReference changes, HPAs and concurrent pairs at protected
// objects, availability floors and leases, on the real control plane with Suture's replicas; at checkpoints nothing
// protected is missing or changed, no floor was crossed, no lease was violated. See docs/security.md.
//
//   npx tsx test/safety/run.ts [--seed N] [--duration 40] [--operators 3] [--replicas 2] [--checkpoint-every 15] [--long]
//   npx tsx test/safety/run.ts --no-suture   # the oracle's own check: without Suture it must report violations
//
// The seed determines what each operator sends (their interleaving is the machine's); a failure prints the command
// that replays it. Ends with "1 passed, 0 failed" or "0 passed, 1 failed" (the line .ci/run counts).
import { randomInt } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startControlPlane, statusPreservingControllers } from '../controlplane/harness.js';
import type { ControlPlane } from '../controlplane/harness.js';
import { serviceAccountKubeConfig } from '../controlplane/service-account.js';
import { getFromSuture } from '../controlplane/suture-process.js';
import { SutureReplicaPool } from '../scenarios/suture.js';
import { ensureCrds, WEBHOOK_CONFIGURATIONS } from '../integration/suture-process.js';
import { createObjectClient } from '../../src/kube/client.js';
import { CONTENT_TYPES, type ExchangeRequest, RawObjectApi, shareDispatchers } from '../../src/kube/client.js';
import { classify } from '../../src/scenario/classify.js';
import { OUTCOMES } from '../../src/scenario/classify.js';
import { generator } from './generate.js';
import { Monitor } from './monitor.js';
import type { Obj, Violation } from './monitor.js';
import { Mutex, Operator, Tally } from './operators.js';
import type { Counted } from './operators.js';
import type { Manifest } from './world.js';
import { FLOORS, HOLDERS, OWNED_BY, PROTECTED, WORKLOADS, objectPath, operatorName, sutureManifests, worldManifests } from './world.js';
import type { Kind } from './world.js';

interface Options {
  seed: number;
  durationS: number;
  operators: number;
  replicas: number;
  checkpointEveryS: number;
  long: boolean;
  /** The oracle's own check: no Suture at all; the run must find violations. */
  noSuture: boolean;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string' },
      duration: { type: 'string', default: '40' },
      operators: { type: 'string', default: '3' },
      replicas: { type: 'string', default: '2' },
      'checkpoint-every': { type: 'string', default: '15' },
      long: { type: 'boolean', default: false },
      'no-suture': { type: 'boolean', default: false },
    },
  });
  const num = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number ≥ ${min}, not ${v ?? ''}`);
    return n;
  };
  return {
    seed: values.seed === undefined ? randomInt(1, 2 ** 31 - 1) : num('seed', values.seed, 0),
    durationS: num('duration', values.duration, 1),
    operators: num('operators', values.operators, 2),
    replicas: num('replicas', values.replicas, 1),
    checkpointEveryS: num('checkpoint-every', values['checkpoint-every'], 1),
    long: values.long ?? false,
    noSuture: values['no-suture'] ?? false,
  };
}

const log = (line: string): void => void process.stdout.write(`[safety] ${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
}

async function must(admin: RawObjectApi, req: ExchangeRequest): Promise<Obj> {
  const res = await admin.exchange(req);
  if (res.status >= 300) throw new Error(`${req.method} ${req.path}: ${res.status} ${JSON.stringify(res.body).slice(0, 400)}`);
  return res.body as Obj;
}

async function createAll(admin: RawObjectApi, manifests: readonly Manifest[]): Promise<void> {
  for (const m of manifests) {
    const kind = m.kind;
    const path = kind === 'ServiceAccount' ? `/api/v1/namespaces/${m.metadata.namespace ?? ''}/serviceaccounts`
      : kind === 'ClusterRoleBinding' ? '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings'
      : kind === 'SuturePolicy' ? '/apis/suture.dev/v1alpha1/suturepolicies'
      : kind === 'SutureLease' ? `/apis/suture.dev/v1alpha1/namespaces/${m.metadata.namespace ?? ''}/sutureleases`
      : objectPath({ kind: kind as Kind, namespace: m.metadata.namespace });
    await must(admin, { method: 'POST', path, body: m });
  }
}

/** The world, Suture's policies and leases, and the proof that Suture enforces them before the operators start. */
async function setUp(cp: ControlPlane, admin: RawObjectApi, opts: Options): Promise<void> {
  await createAll(admin, worldManifests(opts.operators));
  // Protected objects owned by unprotected holders: a cascade from the holder reaches them.
  for (const [dependent, holder] of Object.entries(OWNED_BY)) {
    const owner = HOLDERS.find((h) => h.name === holder);
    const ref = PROTECTED.find((p) => p.name === dependent);
    if (owner === undefined || ref === undefined) continue;
    const uid = (await must(admin, { method: 'GET', path: objectPath(owner) })).metadata.uid;
    await must(admin, { method: 'PATCH', path: objectPath(ref), contentType: CONTENT_TYPES.merge, body: { metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: holder, uid }] } } });
  }
  if (opts.noSuture) return;
  await createAll(admin, sutureManifests(opts.operators));
  const client = createObjectClient(cp.kubeConfig);
  for (const m of sutureManifests(opts.operators)) {
    await waitFor(`${m.kind} ${m.metadata.name} ready`, async () => {
      const o = (await client.get({ apiVersion: m.apiVersion, kind: m.kind, namespace: m.metadata.namespace, name: m.metadata.name })) as { status?: { phase?: string; conditions?: { type: string; status: string }[] } };
      return m.kind === 'SutureLease' ? o.status?.phase === 'Granted' : (o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false);
    }, 60_000);
  }
}

/** Dry runs a governed operator must be refused by Suture: the policies and leases are in force. */
async function probeEnforcement(http: RawObjectApi): Promise<void> {
  const probes: { what: string; method: 'DELETE' | 'PATCH'; path: string; body?: unknown }[] = [
    { what: 'delete a protected ConfigMap', method: 'DELETE', path: objectPath({ kind: 'ConfigMap', namespace: 'data', name: 'keep-cm-1' }) },
    { what: "write op-0's leased ConfigMap", method: 'PATCH', path: objectPath({ kind: 'ConfigMap', namespace: 'leased', name: 'lease0-cm-0' }), body: { data: { writer: 'probe' } } },
    { what: "write op-0's leased /spec/replicas", method: 'PATCH', path: objectPath({ kind: 'Deployment', namespace: 'shop', name: 'web' }, 'scale'), body: { spec: { replicas: 5 } } },
    { what: 'scale rabbit below its floor', method: 'PATCH', path: objectPath({ kind: 'StatefulSet', namespace: 'mq', name: 'rabbit' }), body: { spec: { replicas: 1 } } },
  ];
  for (const p of probes) {
    await waitFor(`Suture to refuse op-1's dry run: ${p.what}`, async () => {
      const res = await http.exchange({ method: p.method, path: p.path, query: { dryRun: 'All' }, ...(p.body === undefined ? {} : { body: p.body, contentType: CONTENT_TYPES.merge }) });
      return classify(res, []).outcome === 'denied';
    }, 60_000);
  }
}

/**
 * The decision records (GET /decisions/<id> of the replica that decided) of the requests Suture allowed in the 6 s
 * before each violation, read while the replicas still run: what Suture saw when it let the harm through.
 */
async function saveDecisions(pool: SutureReplicaPool, violations: readonly Violation[], path: string): Promise<number> {
  const windows = violations.map((v) => Date.parse(v.at));
  let saved = 0;
  for (const [index, name] of pool.names.entries()) {
    let text: string;
    try {
      text = readFileSync(join(pool.logs, `${name}.log`), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line.includes('"verdict":"allow"') || !line.includes('"decisionId"')) continue;
      let entry: { decisionId?: string; timestamp?: string };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue;
      }
      const at = Date.parse(entry.timestamp ?? '');
      if (entry.decisionId === undefined || !windows.some((w) => at <= w && at >= w - 6000)) continue;
      const res = await getFromSuture(pool.portOf(index), `/decisions/${entry.decisionId}`);
      let record: unknown = res.body;
      try {
        record = JSON.parse(res.body) as unknown;
      } catch {
        // not JSON: kept as text
      }
      appendFileSync(path, `${JSON.stringify({ replica: name, log: entry, status: res.status, record })}\n`);
      saved++;
    }
  }
  return saved;
}

function report(tally: Tally): string {
  const columns: Counted[] = ['allowed', 'warned', 'denied', 'undecided', ...OUTCOMES.filter((o) => !['allowed', 'warned', 'denied'].includes(o)), 'skipped'];
  const used = columns.filter((c) => tally.total(c) > 0);
  const lines = [`| request | tried | ${used.join(' | ')} |`, `| --- | ---: | ${used.map(() => '---:').join(' | ')} |`];
  for (const [label, row] of [...tally.byLabel].sort(([a], [b]) => a.localeCompare(b))) {
    const tried = [...row].filter(([o]) => o !== 'skipped').reduce((s, [, n]) => s + n, 0);
    lines.push(`| ${label} | ${tried} | ${used.map((c) => String(row.get(c) ?? 0)).join(' | ')} |`);
  }
  lines.push(`| **total** | ${tally.total()} | ${used.map((c) => String(tally.total(c))).join(' | ')} |`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<boolean> {
  const opts = options(argv);
  const replay = `npx tsx test/safety/run.ts --seed ${opts.seed} --duration ${opts.durationS} --operators ${opts.operators} --replicas ${opts.replicas} --checkpoint-every ${opts.checkpointEveryS}${opts.long ? ' --long' : ''}${opts.noSuture ? ' --no-suture' : ''}`;
  log(`seed ${opts.seed}: ${opts.operators} operators for ${opts.durationS}s against ${opts.noSuture ? 'no Suture (--no-suture: the oracle must see violations)' : `${opts.replicas} Suture replica(s)`}${opts.long ? ', concurrent evictions (drains) included' : ', pod removals of floored workloads one at a time'}`);
  log(`replay: ${replay}`);
  const dir = mkdtempSync(join(tmpdir(), 'suture-safety-'));
  const requestLog = join(dir, 'requests.jsonl');
  writeFileSync(requestLog, '');
  const started = Date.now();
  const cp = await startControlPlane({
    audit: true,
    keepDir: true, // removed below when the run passes; kept (logs, audit log) when it fails
    // The workload controllers and the HPA controller carry out what operators configure; the fake kubelet in
    // monitor.ts makes their pods ready.
    controllers: [...statusPreservingControllers, 'deployment-controller', 'replicaset-controller', 'statefulset-controller', 'horizontal-pod-autoscaler-controller'],
    log: (line) => log(`[controlplane] ${line}`),
  });
  const admin = RawObjectApi.fromKubeConfig(shareDispatchers(cp.kubeConfig));
  const pool = new SutureReplicaPool({ kubeconfigPath: cp.kubeconfigPath, replicas: opts.replicas });
  const monitor = new Monitor(admin, cp.auditLogPath ?? '', opts.operators);
  let ok = false;
  try {
    await ensureCrds(createObjectClient(cp.kubeConfig));
    if (!opts.noSuture) await pool.start();
    if (!opts.noSuture) await waitFor('a Suture leader and its webhook configurations', async () => {
      if ((await pool.leaderIndex()) === undefined) return false;
      const configs = await Promise.all(WEBHOOK_CONFIGURATIONS.map((ref) => admin.exchange({ method: 'GET', path: `/apis/admissionregistration.k8s.io/v1/${ref.kind === 'ValidatingWebhookConfiguration' ? 'validating' : 'mutating'}webhookconfigurations/${ref.name}` })));
      return configs.every((c) => c.status === 200);
    }, 60_000);
    log(`control plane and Suture up in ${((Date.now() - started) / 1000).toFixed(1)}s (logs: ${cp.dir}, ${pool.logs})`);
    await setUp(cp, admin, opts);
    monitor.start();
    await waitFor('every workload ready', () => Promise.resolve(WORKLOADS.every((w) => monitor.readyPods(w.namespace, w.app) >= w.replicas)), 90_000);
    const https = await Promise.all(Array.from({ length: opts.operators }, async (_, i) => RawObjectApi.fromKubeConfig(shareDispatchers(await serviceAccountKubeConfig(cp.kubeConfig, { namespace: 'ops', name: operatorName(i) }, 3600)))));
    if (!opts.noSuture) await probeEnforcement(https[1] as RawObjectApi);
    await monitor.arm();
    log(`world set up and enforced in ${((Date.now() - started) / 1000).toFixed(1)}s; ${monitor.guardedCount} protected objects guarded; request log ${requestLog}`);

    const tally = new Tally();
    const floorLock = opts.long ? undefined : new Mutex();
    const operators = https.map((http, index) => new Operator({ index, http, monitor, tally, logPath: requestLog, ...(floorLock === undefined ? {} : { floorLock }) }));
    const gens = operators.map((_, index) => generator({ seed: opts.seed, operator: index, operators: opts.operators, drainPairs: opts.long }));
    let paused = false;
    let stop = false;
    const loops = operators.map(async (op, i) => {
      const next = gens[i];
      while (!stop && next !== undefined) {
        if (paused) {
          await sleep(50);
          continue;
        }
        await op.run(next());
      }
    });
    // The loops check `paused` between actions; a checkpoint waits for the actions in flight to finish.
    const quiesce = async (): Promise<void> => {
      paused = true;
      const before = operators.map((o) => o.actions);
      await sleep(200);
      await waitFor('operators paused', () => Promise.resolve(operators.every((o, i) => o.actions === before[i])), 60_000).catch(() => undefined);
    };
    const runEnd = Date.now() + opts.durationS * 1000;
    let checkpoints = 0;
    const checkpoint = async (settleMs: number): Promise<void> => {
      await quiesce();
      await sleep(settleMs); // the garbage collector and the namespace controller act on what was allowed
      const r = await monitor.checkpoint();
      checkpoints++;
      log(`checkpoint ${checkpoints} at ${((Date.now() - started) / 1000).toFixed(0)}s: ${tally.total()} requests so far (${tally.total('allowed')} allowed, ${tally.total('denied')} denied by Suture); ${r.protectedChecked} protected objects checked; ${r.auditEntries} audit events read; lowest ready per floor ${[...monitor.floorMin].map(([p, n]) => `${p}=${n}`).join(', ')}; violations so far ${monitor.violations.length}`);
      paused = false;
    };
    while (Date.now() < runEnd) {
      await sleep(Math.min(opts.checkpointEveryS * 1000, Math.max(0, runEnd - Date.now())));
      if (Date.now() < runEnd) await checkpoint(3000);
    }
    stop = true;
    await Promise.all(loops);
    await checkpoint(5000);
    await monitor.stop();

    const seconds = (Date.now() - started) / 1000;
    log(`requests by kind and outcome (denied = by Suture; rbac/forbidden/invalid/not-found/conflict = by the API server):\n${report(tally)}`);
    log(`${tally.total()} requests tried by ${opts.operators} operators (${operators.map((o) => `${o.name}: ${o.actions} actions`).join(', ')}); ${tally.total('allowed') + tally.total('warned')} allowed, ${tally.total('denied')} denied by Suture, ${tally.total('undecided')} refused by Suture undecided (fresh state not had in time), ${tally.total() - tally.total('allowed') - tally.total('warned') - tally.total('denied') - tally.total('undecided')} refused by the API server or failed; ${monitor.kubeletWrites} kubelet status writes; ${checkpoints} checkpoints; ${monitor.guardedCount} protected objects guarded; lowest ready per floor ${[...monitor.floorMin].map(([p, n]) => `${p}=${n} (min ${FLOORS.find((f) => f.policy === p)?.min ?? '?'})`).join(', ')}; ${seconds.toFixed(0)}s in all`);
    if (opts.noSuture) {
      // The oracle's self-check: without Suture the same operators must break what Suture guards.
      const kinds = new Set(monitor.violations.map((v) => v.what));
      log(`without Suture: ${monitor.violations.length} violations (${['protect', 'floor', 'lease'].map((k) => `${k}: ${monitor.violations.filter((v) => v.what === k).length}`).join(', ')})`);
      for (const v of monitor.violations.slice(0, 15)) log(`  [${v.what}] ${v.message}`);
      ok = kinds.has('protect') && kinds.has('floor') && kinds.has('lease');
      log(ok ? 'the oracle sees each kind of violation when nothing enforces' : 'the oracle missed a kind of violation with nothing enforcing');
    } else if (monitor.violations.length === 0) {
      log(`seed ${opts.seed}: no violation — nothing protected missing or changed, no floor crossed, no lease violated`);
      ok = true;
    } else {
      log(`seed ${opts.seed}: ${monitor.violations.length} VIOLATION(S):`);
      for (const v of monitor.violations) log(`  [${v.what}] ${v.at} ${v.message}`);
      const records = await saveDecisions(pool, monitor.violations, join(dir, 'decisions.jsonl'));
      log(`requests: ${requestLog}; control plane logs and audit log: ${cp.dir}; Suture logs: ${pool.logs}; ${records} decision records of allowed requests in the 6 s before each violation: ${join(dir, 'decisions.jsonl')}`);
      log(`replay: ${replay}`);
    }
    const errors = tally.total('error') + tally.total('webhook-error');
    if (errors > tally.total() / 10) {
      log(`${errors} of ${tally.total()} requests failed without an answer or with a webhook error: the run says little`);
      ok = false;
    }
  } finally {
    await monitor.stop();
    await pool.close().catch(() => undefined);
    await cp.stop();
    if (ok) rmSync(cp.dir, { recursive: true, force: true });
  }
  return ok;
}

main(process.argv.slice(2)).then(
  (ok) => {
    console.log(ok ? '1 passed, 0 failed' : '0 passed, 1 failed');
    process.exit(ok ? 0 : 1);
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
