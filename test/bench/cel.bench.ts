// CEL library comparison: @marcbachmann/cel-js (what src/core/cel.ts uses) against @bufbuild/cel, on two of
// Suture's own expressions, side by side in one run. Run: npx tsx test/bench/cel.bench.ts
// Each case is compiled once and evaluated for a fixed time budget; the ratio is bufbuild time / marcbachmann time
// per evaluation (> 1: marcbachmann is faster). Keep the budget small: CI machines have two shared cores.
import { Environment } from '@marcbachmann/cel-js';
import { celEnv, celMethod, CelScalar, mapType, parse as bufParse, plan as bufPlan, isCelError } from '@bufbuild/cel';
import { celVariables, compileCel } from '../../src/core/cel.js';
import { createSnapshot } from '../../src/core/snapshot.js';
import type { KubeObject } from '../../src/api/types.js';

const BUDGET_MS = Number(process.argv[2] ?? 400);

interface Obj { apiVersion: string; kind: string; metadata: { name: string; namespace: string }; status?: { readyReplicas: number } }

const deleted: Obj[] = Array.from({ length: 100 }, (_, i) => ({
  apiVersion: 'v1',
  kind: i % 2 === 0 ? 'ConfigMap' : 'Pod',
  metadata: { name: `o-${i}`, namespace: 'prod' },
}));
const store = new Map<string, Obj>([
  ['apps/v1/Deployment/prod/x', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x', namespace: 'prod' }, status: { readyReplicas: 2 } }],
]);
const lookup = (a: string, k: string, ns: string, n: string): Obj | null => store.get(`${a}/${k}/${ns}/${n}`) ?? null;

const EXPRESSIONS = {
  'impact.deleted.all (100 objects)': "impact.deleted.all(o, o.kind != 'Secret')",
  'cluster.get(...).status.readyReplicas': "cluster.get('apps/v1','Deployment','prod','x').status.readyReplicas >= 1",
} as const;

/** Runs fn repeatedly for BUDGET_MS and returns nanoseconds per call. */
function time(fn: () => unknown): number {
  for (let i = 0; i < 200; i++) fn(); // warm-up
  let n = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(BUDGET_MS) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 50; i++) fn();
    n += 50;
    now = process.hrtime.bigint();
  }
  return Number(now - start) / n;
}

// ---- @marcbachmann/cel-js: a custom type with receiver functions
class ClusterView {}
const strings = [{ name: 'apiVersion', type: 'string' }, { name: 'kind', type: 'string' }, { name: 'namespace', type: 'string' }, { name: 'name', type: 'string' }];
const marcEnv = new Environment()
  .registerType('ClusterView', ClusterView)
  .registerVariable('cluster', 'ClusterView')
  .registerVariable('impact', 'map')
  .registerFunction({ name: 'get', receiverType: 'ClusterView', returnType: 'dyn', params: strings, handler: (_c: ClusterView, ...k: [string, string, string, string]) => lookup(...k) });
const marcCtx = { cluster: new ClusterView(), impact: { deleted, changed: [], created: [] } };

// ---- @bufbuild/cel: no custom JS types without protobuf descriptors, so `cluster` is a map and get() a method on it
const bufEnv = celEnv({
  variables: { cluster: mapType(CelScalar.STRING, CelScalar.DYN), impact: mapType(CelScalar.STRING, CelScalar.DYN) },
  funcs: [
    celMethod('get', mapType(CelScalar.STRING, CelScalar.DYN), [CelScalar.STRING, CelScalar.STRING, CelScalar.STRING, CelScalar.STRING], CelScalar.DYN, (a, k, ns, n) => lookup(a, k, ns, n) as never),
  ],
});
const bufCtx = { cluster: new Map<string, unknown>(), impact: new Map<string, unknown>([['deleted', deleted], ['changed', []], ['created', []]]) };

// ---- Suture's own layer (src/core/cel.ts): type-checked compile, JSON→CEL conversion of the variables per request
const snapshot = createSnapshot([...store.values()] as unknown as KubeObject[]);
const sutureInput = { impact: { deleted: deleted as unknown as KubeObject[] }, after: snapshot, before: snapshot, now: 0 };

const rows: string[] = [];
const sutureRows: string[] = [];
for (const [label, expr] of Object.entries(EXPRESSIONS)) {
  const marc = marcEnv.parse(expr);
  const buf = bufPlan(bufEnv, bufParse(expr));
  const mv = marc(marcCtx) as unknown;
  const bv = buf(bufCtx as never) as unknown;
  if (mv !== true || bv !== true) throw new Error(`${label}: marcbachmann=${String(mv)} bufbuild=${isCelError(bv) ? bv.message : String(bv)}`);
  const marcCompile = time(() => marcEnv.parse(expr));
  const bufCompile = time(() => bufPlan(bufEnv, bufParse(expr)));
  const marcEval = time(() => marc(marcCtx));
  const bufEval = time(() => buf(bufCtx as never));
  const program = compileCel(expr);
  if (!program.ok) throw new Error(program.error.message);
  const vars = celVariables(sutureInput);
  const sutureCompile = time(() => compileCel(expr));
  const sutureEval = time(() => program.program.evaluate(vars));
  const sutureEvalWithVars = time(() => program.program.evaluate(celVariables(sutureInput)));
  sutureRows.push(`| ${label} | ${(sutureEval / 1000).toFixed(2)} µs | ${(sutureEvalWithVars / 1000).toFixed(2)} µs | ${(sutureCompile / 1000).toFixed(1)} µs |`);
  rows.push(
    `| ${label} | ${(marcEval / 1000).toFixed(2)} µs | ${(bufEval / 1000).toFixed(2)} µs | ${(bufEval / marcEval).toFixed(1)}× | ` +
      `${(marcCompile / 1000).toFixed(1)} µs | ${(bufCompile / 1000).toFixed(1)} µs | ${(bufCompile / marcCompile).toFixed(1)}× |`,
  );
}
console.log(`node ${process.version}, ${BUDGET_MS} ms per measurement`);
console.log('| expression | marcbachmann eval | bufbuild eval | eval ratio (buf/marc) | marcbachmann compile | bufbuild compile | compile ratio |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
console.log('');
console.log('| expression (src/core/cel.ts) | evaluate | variables built + evaluate | compile (parse + type-check) |');
console.log('| --- | --- | --- | --- |');
for (const r of sutureRows) console.log(r);
