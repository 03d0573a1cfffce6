// Issue 9, item 6b on the real control plane: floors serialized across requests and replicas. `kubectl drain` sends
// the evictions of a node's pods at once; each is judged alone on the state it read, so without serialization three
// evictions of a StatefulSet's three ready pods under `minAvailable: 2` are all allowed. The removals a floor allowed
// are reserved in a ConfigMap per policy with a resourceVersion precondition (src/admission/floors.ts), shared by
// every replica. And item 4: a ReplicaSet scaled through its /scale subresource is judged by the pods its
// controller then deletes. Finding 6 of the randomised safety test: a pod evicted while it was still starting can
// be ready by the time the eviction removes it; its removal is reserved too, and read again when reserved.
import type { KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import type { KubeObject } from '../../src/api/types.js';
import { BudgetStore } from '../../src/admission/budgets.js';
import { floorConfigMapName, FloorStore } from '../../src/admission/floors.js';
import { createDecisionHandler } from '../../src/admission/handler.js';
import { Phases, type Phase } from '../../src/admission/review.js';
import { compilePolicy, type CompiledPolicy } from '../../src/core/policy.js';
import { createSnapshot } from '../../src/core/snapshot.js';
import type { AdmissionRequest, Decision, FloorUse } from '../../src/core/types.js';
import { CONTENT_TYPES, createObjectClient, type ExchangeRequest, type Impersonation } from '../../src/kube/client.js';
import { cluster } from './cluster.js';
import { SUTURE_NAMESPACE, WEBHOOK_CONFIGURATIONS, startSutureReplicas, type SutureReplicas } from './suture-process.js';
import { createNamespace, deleteNamespace, eventually, rawRequest, uniqueName } from './support.js';
import { createRequest, labelled, metricReader, owned, pod, policyObject, saUser, sts } from '../unit/core/fixtures.js';

type Webhooks = KubeObject & { webhooks?: { name: string; rules?: { operations?: string[]; resources?: string[] }[] }[] };
type Policy = KubeObject & { status?: { conditions?: { type: string; status: string }[] } };

const POLICY = { apiVersion: 'suture.dev/v1alpha1', kind: 'SuturePolicy' } as const;
const SUTURE_DENIAL = 'admission webhook "validate.suture.dev" denied the request';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Answer {
  status: number;
  message: string;
}

async function call(kc: KubeConfig, method: ExchangeRequest['method'], path: string, options: { body?: unknown; impersonate?: Impersonation; contentType?: string } = {}): Promise<Answer> {
  const { body, impersonate, contentType } = options;
  const r = await rawRequest(kc, { method, path, ...(body === undefined ? {} : { body }), ...(contentType === undefined ? {} : { contentType }), impersonate });
  const raw = (r.body as { message?: unknown } | null)?.message;
  return { status: r.status, message: typeof raw === 'string' ? raw : '' };
}

function ready(policy: Policy | undefined): boolean {
  return policy?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/**
 * A decision handler on frozen state: its cache and its fresh reads are `objects` (a decision reads state that has
 * seen nothing since), with `policies`, its budgets and floors in `namespace` on the real API server.
 */
function frozenHandler(options: { namespace: string; objects: readonly KubeObject[]; policies: readonly CompiledPolicy[]; floors?: FloorStore; readPod?: boolean }): (request: AdmissionRequest, phase?: Phase) => Promise<Decision> {
  const { namespace } = options;
  const client = createObjectClient(cluster().kubeConfig, { fieldManager: 'suture-it' });
  const snapshot = createSnapshot([...options.objects]);
  const handler = createDecisionHandler({
    sources: {
      snapshot: () => snapshot,
      readFresh: (base) => Promise.resolve({ snapshot: base, changed: false }),
      policies: () => options.policies,
      leases: () => [],
      exceptions: () => [],
      metrics: metricReader({}),
      identities: { exemptNamespaces: ['kube-system'], exemptUsers: [], exemptGroups: [] },
    },
    budgets: new BudgetStore({ client, namespace, now: () => Date.now() }),
    floors: options.floors ?? new FloorStore({ client, namespace, now: () => Date.now() }),
    now: () => new Date(),
    freshnessTimeoutMs: 5000,
    record: () => undefined,
    ...(options.readPod === true ? { readPod: (ns: string, name: string) => client.find({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name }) } : {}),
  });
  return (request, phase = Phases.Validate) => handler(request, phase);
}

describe('FloorStore (real API server): removals a floor allowed, reserved across replicas', () => {
  let namespace: string;
  before(async () => {
    namespace = await createNamespace(cluster().kubeConfig, 'it-floors');
  });
  after(async () => {
    await deleteNamespace(cluster().kubeConfig, namespace);
  });

  /** One pod of p0, p1, p2 (and more) removed; `after` counts the others the decision saw available. */
  const use = (uid: string, over: Partial<FloorUse> = {}): FloorUse => ({ policy: 'rabbit-quorum', invariant: 'keep-quorum', scope: 'apps/StatefulSet/mq/rabbit', what: 'ready replicas of apps/StatefulSet mq/rabbit', removes: [uid], leaving: [], counted: ['p0', 'p1', 'p2', 'p3', 'p4', 'v', 'w', 'x', 'y', 'z'].filter((u) => u !== uid), count: 1, before: 3, after: 2, required: 2, ...over });

  it('two stores (two replicas), three removals at once judged on 3 available: exactly one reserved', async () => {
    const client = createObjectClient(cluster().kubeConfig, { fieldManager: 'suture-it' });
    const t = Date.now();
    const stores = [0, 1].map(() => new FloorStore({ client, namespace, now: () => t }));
    // Every decision read all three pods ready: each counts the other two in `after`.
    const results = await Promise.all(['p0', 'p1', 'p2'].map((uid, i) => (stores[i % 2] as FloorStore).reserve(`req-${uid}`, [use(uid)])));
    expect(results.filter((r) => r.ok)).to.have.length(1);
    for (const r of results.filter((x) => !x.ok)) expect(r).to.deep.include({ ok: false, pending: 1, left: 1 });
    // A decision that still counted the winner's pod has it taken out; one whose state saw the removal does not.
    const winner = ['p0', 'p1', 'p2'][results.findIndex((r) => r.ok)] ?? '';
    const next = use('p8', { after: 1, required: 1 });
    expect((await (stores[0] as FloorStore).reserve('req-next', [next])).ok, 'the winner still counted').to.equal(false);
    expect(await (stores[1] as FloorStore).reserve('req-next', [{ ...next, counted: next.counted.filter((u) => u !== winner) }])).to.deep.equal({ ok: true });
    const cm = await client.get<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name: floorConfigMapName('rabbit-quorum') });
    expect(cm.metadata.labels?.['suture.dev/floor']).to.equal('true');
  });

  it('is all-or-nothing: a request refused on its second floor keeps no reservation on its first; a reservation expires', async () => {
    const client = createObjectClient(cluster().kubeConfig, { fieldManager: 'suture-it' });
    let t = Date.now();
    const store = new FloorStore({ client, namespace, now: () => t, reservationMs: 30_000 });
    const first = (uid: string): FloorUse => use(uid, { policy: 'first', scope: 'pods', before: 5, after: 4, required: 3 });
    const second = (uid: string): FloorUse => use(uid, { policy: 'second', before: 3, after: 2, required: 2 });
    expect(await store.reserve('a', [second('x')])).to.deep.equal({ ok: true });
    const refused = await store.reserve('b', [first('y'), second('y')]);
    expect(refused.ok).to.equal(false);
    if (!refused.ok) expect(refused.use.policy).to.equal('second');
    // Its reservation on `first` was released: two more removals there still fit (4 − 1 = 3 ≥ 3), a third does not.
    expect(await store.reserve('c', [first('z')])).to.deep.equal({ ok: true });
    expect(await store.reserve('d', [first('w')])).to.deep.equal({ ok: true });
    const full = await store.reserve('e', [first('v')]);
    expect(full).to.deep.include({ ok: false, pending: 2, left: 2 });
    t += 31_000;
    expect(await store.reserve('f', [first('v')])).to.deep.equal({ ok: true });
  });

  it('a capped count (a Deployment with more ready pods than replicas, mid-rollout): pending removals come off the pods it was capped from', async () => {
    const client = createObjectClient(cluster().kubeConfig, { fieldManager: 'suture-it' });
    const store = new FloorStore({ client, namespace, now: () => Date.now() });
    // 8 ready pods, replicas 3: every removal leaves after = 3 (the controller keeps 3), uncapped 7.
    const pods = ['d0', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7'];
    const capped = (uid: string): FloorUse => ({ policy: 'api-floor', invariant: 'floor', scope: 'apps/Deployment/shop/api', what: 'ready replicas of apps/Deployment shop/api', removes: [uid], leaving: [], counted: pods.filter((u) => u !== uid), count: 5, before: 8, after: 3, uncapped: 7, required: 2 });
    // Five removals of old pods pending (the ReplicaSet controller's scale-down); one more leaves 8 − 6 = 2: allowed.
    for (const uid of ['d0', 'd1', 'd2', 'd3', 'd4']) expect(await store.reserve(`rs-${uid}`, [capped(uid)]), uid).to.deep.equal({ ok: true });
    expect(await store.reserve('evict-d5', [capped('d5')])).to.deep.equal({ ok: true });
    // The next would leave 1.
    expect(await store.reserve('evict-d6', [capped('d6')])).to.deep.include({ ok: false, pending: 6, left: 1 });
  });
});

describe('FloorStore (real API server): a pod removed before it was ready, that turns ready before it goes (finding 6)', () => {
  let namespace: string;
  before(async () => {
    namespace = await createNamespace(cluster().kubeConfig, 'it-floors-leaving');
  });
  after(async () => {
    await deleteNamespace(cluster().kubeConfig, namespace);
  });

  /** A real pod, not ready (no kubelet runs here); `ready` sets its Ready condition as a kubelet would. */
  const starting = async (name: string): Promise<{ uid: string; namespace: string; name: string; ready: () => Promise<void> }> => {
    const client = createObjectClient(cluster().kubeConfig, { fieldManager: 'suture-it' });
    const made = await client.create<KubeObject>({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: { app: 'cache' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    const ref = { apiVersion: 'v1', kind: 'Pod', namespace, name };
    const ready = async (): Promise<void> => {
      await client.patchStatus(ref, { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] });
    };
    return { uid: made.metadata.uid ?? '', namespace, name, ready };
  };
  /** Pods a, b ready (by uid), the starting pod `p` removed: count 0, `after` the two. */
  const evictStarting = (p: { uid: string; namespace: string; name: string }, policy: string): FloorUse => ({ policy, invariant: 'two-ready', scope: 'pods', what: 'ready Pods the policy matches', removes: [], leaving: [{ uid: p.uid, namespace: p.namespace, name: p.name }], counted: ['a', 'b'], count: 0, before: 2, after: 2, required: 2 });
  /** A removal of ready pod `a` by a decision that read `p` ready: it counts b and p. */
  const removeA = (p: { uid: string }, policy: string): FloorUse => ({ policy, invariant: 'two-ready', scope: 'pods', what: 'ready Pods the policy matches', removes: ['a'], leaving: [], counted: ['b', p.uid], count: 1, before: 3, after: 2, required: 2 });

  it('the starting pod\'s removal is reserved first: a decision that then counts it ready (its kubelet was quicker) is refused', async () => {
    const client = createObjectClient(cluster().kubeConfig, { fieldManager: 'suture-it' });
    const p = await starting('p-first');
    const [one, two] = [0, 1].map(() => new FloorStore({ client, namespace, now: () => Date.now() })) as [FloorStore, FloorStore];
    expect(await one.reserve('evict-p', [evictStarting(p, 'cache-first')])).to.deep.equal({ ok: true });
    await p.ready();
    expect(await two.reserve('remove-a', [removeA(p, 'cache-first')])).to.deep.include({ ok: false, pending: 1, left: 1 });
    // Once that removal is taken back (the eviction was refused elsewhere), a is free to go.
    await one.release('evict-p', [evictStarting(p, 'cache-first')]);
    expect(await two.reserve('remove-a', [removeA(p, 'cache-first')])).to.deep.equal({ ok: true });
  });

  it('the other order: a removal that counted the pod ready was reserved first; the starting pod\'s removal, read ready now, is held to the floor', async () => {
    const client = createObjectClient(cluster().kubeConfig, { fieldManager: 'suture-it' });
    const p = await starting('p-second');
    const store = new FloorStore({ client, namespace, now: () => Date.now() });
    // Not ready when reserved: it lowers nothing, so it goes even with the floor spoken for by a's removal.
    const q = await starting('q-second');
    expect(await store.reserve('remove-a-q', [removeA(q, 'cache-second-q')])).to.deep.equal({ ok: true });
    expect(await store.reserve('evict-q', [evictStarting(q, 'cache-second-q')])).to.deep.equal({ ok: true });
    // Ready by the time it is reserved: the decision read it starting, but its removal lowers the floor after all.
    expect(await store.reserve('remove-a', [removeA(p, 'cache-second')])).to.deep.equal({ ok: true });
    await p.ready();
    expect(await store.reserve('evict-p', [evictStarting(p, 'cache-second')])).to.deep.equal({ ok: false, use: evictStarting(p, 'cache-second'), pending: 1, left: 1, turnedReady: [`${namespace}/p-second`] });
  });

  it('a removal of several starting pods: one of them ready holds the request to the floor', async () => {
    const client = createObjectClient(cluster().kubeConfig, { fieldManager: 'suture-it' });
    const store = new FloorStore({ client, namespace, now: () => Date.now() });
    const pods = await Promise.all([0, 1, 2, 3, 4].map((i) => starting(`many-${i}`)));
    const removeAll = (policy: string): FloorUse => ({ ...evictStarting(pods[0] as { uid: string; namespace: string; name: string }, policy), leaving: pods.map((p) => ({ uid: p.uid, namespace: p.namespace, name: p.name })) });
    expect(await store.reserve('remove-a', [removeA(pods[3] as { uid: string }, 'cache-many')])).to.deep.equal({ ok: true });
    expect(await store.reserve('delete-all', [removeAll('cache-many')])).to.deep.equal({ ok: true });
    await store.release('delete-all', [removeAll('cache-many')]);
    await (pods[3] as { ready: () => Promise<void> }).ready();
    expect(await store.reserve('delete-all', [removeAll('cache-many')])).to.deep.include({ ok: false, pending: 1, left: 1, turnedReady: [`${namespace}/many-3`] });
  });
});

describe('The decision handler, the harmful ordering forced: three evictions each decided on state without the others (issue 9, item 6b)', () => {
  let namespace: string;
  before(async () => {
    namespace = await createNamespace(cluster().kubeConfig, 'it-floors-forced');
  });
  after(async () => {
    await deleteNamespace(cluster().kubeConfig, namespace);
  });

  const rabbit = { ...sts('mq', 'rabbit', { replicas: 3, labels: { app: 'rabbit' } }), status: { readyReplicas: 3 } };
  const pods = [0, 1, 2].map((i) => owned(labelled(pod('mq', `rabbit-${i}`), { app: 'rabbit' }), rabbit));
  const compiled = compilePolicy(policyObject(uniqueName('rabbit-quorum'), { match: [{ apiGroups: ['apps'], kinds: ['StatefulSet'], selector: { matchLabels: { app: 'rabbit' } } }], invariants: [{ name: 'keep-quorum', minAvailable: { count: 2 } }] }));
  const eviction = (p: KubeObject, round: number): AdmissionRequest => ({
    ...createRequest(p, saUser('ops', 'operator')),
    uid: `forced-${round}-${p.metadata.name ?? ''}`,
    kind: { group: 'policy', version: 'v1', kind: 'Eviction' },
    subResource: 'eviction',
    object: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: p.metadata.name, namespace: 'mq' } },
  });

  /** Two handlers (two replicas) on the same frozen state: the cache of neither sees a removal before all are decided. */
  function replicas(floors: (i: number) => FloorStore): ((request: AdmissionRequest) => Promise<Decision>)[] {
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
    const policy = compiled.policy;
    return [0, 1].map((i) => {
      const handler = frozenHandler({ namespace, objects: [rabbit, ...pods], policies: [policy], floors: floors(i) });
      return (request: AdmissionRequest) => handler(request);
    });
  }

  it('with floor reservations (ConfigMap on the real API server): exactly 1 of 3 allowed, in each of 3 rounds', async () => {
    const client = createObjectClient(cluster().kubeConfig, { fieldManager: 'suture-it' });
    // The rounds share the policy's ConfigMap; each runs a minute after the last on the stores' clock, so the last
    // round's reservations (30 s) have lapsed, as they do once the evictions are observed.
    const rounds: number[] = [];
    for (let round = 0; round < 3; round++) {
      const t = Date.now() + round * 60_000;
      const stores = [0, 1].map(() => new FloorStore({ client, namespace, now: () => t }));
      const judge = replicas((i) => stores[i] as FloorStore);
      const decisions = await Promise.all(pods.map((p, i) => (judge[i % 2] as (r: AdmissionRequest) => Promise<Decision>)(eviction(p, round))));
      const allowed = decisions.filter((d) => d.allowed);
      rounds.push(allowed.length);
      expect(allowed, JSON.stringify(decisions.map((d) => d.message))).to.have.length(1);
      for (const d of decisions.filter((x) => !x.allowed)) expect(d.message).to.include('keep-quorum').and.include('other removal(s) already admitted and not yet observed').and.include('at 1 (3 now); at least 2 required');
    }
    process.stderr.write(`      forced ordering, allowed per round with reservations: ${JSON.stringify(rounds)}\n`);
  });

  it('without them (a store that grants every reservation) all 3 are allowed: the hole the reservations close', async () => {
    const client = createObjectClient(cluster().kubeConfig, { fieldManager: 'suture-it' });
    const grantsAll = new (class extends FloorStore {
      override reserve(): Promise<{ ok: true }> {
        return Promise.resolve({ ok: true });
      }
    })({ client, namespace, now: () => Date.now() });
    const judge = replicas(() => grantsAll);
    const decisions = await Promise.all(pods.map((p, i) => (judge[i % 2] as (r: AdmissionRequest) => Promise<Decision>)(eviction(p, 9))));
    expect(decisions.filter((d) => d.allowed)).to.have.length(3);
  });
});

describe('The decision handler, finding 6 forced: an eviction that reached no evictions.suture.dev, decided while its pod starts, the pod ready before it goes', () => {
  let namespace: string;
  before(async () => {
    namespace = await createNamespace(cluster().kubeConfig, 'it-floors-starting');
  });
  after(async () => {
    await deleteNamespace(cluster().kubeConfig, namespace);
  });

  /** A pods floor `app=cache`, minAvailable 2, judged by a handler whose state is `pods` (its cache and fresh read). */
  function handlerOn(policyName: string, pods: readonly KubeObject[]): (request: AdmissionRequest) => Promise<Decision> {
    const compiled = compilePolicy(policyObject(policyName, { match: [{ apiGroups: [''], kinds: ['Pod'], selector: { matchLabels: { app: 'cache' } } }], operations: ['DELETE'], invariants: [{ name: 'two-ready', minAvailable: { count: 2 } }] }));
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
    const handler = frozenHandler({ namespace, objects: pods, policies: [compiled.policy] });
    return (request) => handler(request);
  }

  const eviction = (p: KubeObject): AdmissionRequest => ({
    ...createRequest(p, saUser('ops', 'operator')),
    uid: uniqueName(`evict-${p.metadata.name ?? ''}`),
    kind: { group: 'policy', version: 'v1', kind: 'Eviction' },
    subResource: 'eviction',
    object: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: p.metadata.name, namespace } },
  });

  /** Ready pods a and b (as the handlers' state holds them) and a real pod `p` on the API server, not ready yet. */
  async function world(p: string): Promise<{ a: KubeObject; b: KubeObject; starting: KubeObject; ready: KubeObject; makeReady: () => Promise<void> }> {
    const client = createObjectClient(cluster().kubeConfig, { fieldManager: 'suture-it' });
    const made = await client.create<KubeObject>({ apiVersion: 'v1', kind: 'Pod', metadata: { name: p, namespace, labels: { app: 'cache' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    const as = (ready: boolean): KubeObject => ({ ...pod(namespace, p, { app: 'cache' }, ready), metadata: { ...made.metadata } });
    const makeReady = async (): Promise<void> => {
      await client.patchStatus({ apiVersion: 'v1', kind: 'Pod', namespace, name: p }, { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] });
    };
    return { a: pod(namespace, `${p}-a`, { app: 'cache' }), b: pod(namespace, `${p}-b`, { app: 'cache' }), starting: as(false), ready: as(true), makeReady };
  }

  it('the eviction of the starting pod first: the removal judged on state with it ready is denied', async () => {
    const { a, b, starting, ready, makeReady } = await world('first');
    const policy = uniqueName('cache-first');
    const evictStarting = await handlerOn(policy, [a, b, starting])(eviction(starting));
    expect(evictStarting.allowed, evictStarting.message).to.equal(true);
    await makeReady(); // the kubelet's write lands before the eviction removes the pod
    const removeA = await handlerOn(policy, [a, b, ready])(eviction(a));
    expect(removeA.allowed).to.equal(false);
    expect(removeA.message).to.include('1 other removal(s) already admitted and not yet observed would leave ready Pods the policy matches at 1 (3 now); at least 2 required');
  });

  it('the other removal first, on state with the pod ready: the starting pod\'s eviction, decided on older state, is denied', async () => {
    const { a, b, starting, ready, makeReady } = await world('second');
    const policy = uniqueName('cache-second');
    await makeReady();
    const removeA = await handlerOn(policy, [a, b, ready])(eviction(a));
    expect(removeA.allowed, removeA.message).to.equal(true);
    const evictStarting = await handlerOn(policy, [a, b, starting])(eviction(starting));
    expect(evictStarting.allowed).to.equal(false);
    expect(evictStarting.message).to.include(`${namespace}/second turned ready after the state this decision read`);
  });
});

describe('evictions.suture.dev on the real API server: the pod removed is the pod judged (finding 6)', () => {
  let namespace: string;
  before(async () => {
    namespace = await createNamespace(cluster().kubeConfig, 'it-floors-precondition');
  });
  after(async () => {
    await deleteNamespace(cluster().kubeConfig, namespace);
  });

  /** The mutating phase of the decision handler, reading pods from the real API server. */
  function mutator(): (request: AdmissionRequest) => Promise<Decision> {
    const handler = frozenHandler({ namespace, objects: [], policies: [], readPod: true });
    return (request) => handler(request, Phases.Mutate);
  }

  /** The eviction as the API server sends it to the webhook, and the body the client sent, the patch applied. */
  async function stamped(name: string): Promise<{ body: Record<string, unknown>; patch: Decision['patch'] }> {
    const body: Record<string, unknown> = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } };
    const target = pod(namespace, name);
    const decision = await mutator()({ ...createRequest(target, saUser('ops', 'operator')), uid: uniqueName('mutate'), namespace, name, kind: { group: 'policy', version: 'v1', kind: 'Eviction' }, subResource: 'eviction', object: body as KubeObject });
    expect(decision.allowed).to.equal(true);
    const [op] = decision.patch;
    return { body: op?.path === '/deleteOptions' ? { ...body, deleteOptions: op.value } : body, patch: decision.patch };
  }

  it('a pod changed after the mutating webhook read it is not evicted (409); an unchanged one is', async () => {
    const kc = cluster().kubeConfig;
    const client = createObjectClient(kc, { fieldManager: 'suture-it' });
    for (const name of ['raced', 'calm']) await client.create<KubeObject>({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: { app: 'cache' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    const raced = await stamped('raced');
    const rv = (await client.get({ apiVersion: 'v1', kind: 'Pod', namespace, name: 'raced' })).metadata.resourceVersion;
    expect(raced.patch).to.deep.equal([{ op: 'add', path: '/deleteOptions', value: { preconditions: { resourceVersion: rv } } }]);
    // The kubelet's Ready write lands between admission and the removal.
    await client.patchStatus({ apiVersion: 'v1', kind: 'Pod', namespace, name: 'raced' }, { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] });
    const refused = await call(kc, 'POST', `/api/v1/namespaces/${namespace}/pods/raced/eviction`, { body: raced.body });
    expect(refused.status, refused.message).to.equal(409);
    expect(await client.find({ apiVersion: 'v1', kind: 'Pod', namespace, name: 'raced' })).to.not.equal(undefined);
    const calm = await stamped('calm');
    const evicted = await call(kc, 'POST', `/api/v1/namespaces/${namespace}/pods/calm/eviction`, { body: calm.body });
    expect(evicted.status, evicted.message).to.equal(201);
    // A pod that is gone gets no precondition: the eviction then fails with 404 as it would anyway.
    expect((await stamped('never-was')).patch).to.deep.equal([]);
  });
});

describe('Floors serialized across requests and two Suture replicas (issue 9, item 6b; real control plane)', function () {
  this.timeout(300_000);
  let suture: SutureReplicas;
  let ns: string;
  let admin: KubeConfig;
  const cleanup: (() => Promise<unknown>)[] = [];
  const operator = (): Impersonation => ({ user: `system:serviceaccount:${ns}:operator`, groups: [] });

  before(async function () {
    this.timeout(200_000);
    admin = cluster().kubeConfig;
    suture = await startSutureReplicas(2);
    ns = await createNamespace(admin, 'floors');
    const crb = uniqueName('floors-operator-admin');
    await suture.client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { namespace: ns, name: 'operator' } });
    await suture.client.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: crb },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', namespace: ns, name: 'operator' }],
    });
    cleanup.push(() => suture.client.delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: crb }));
  });

  after(async function () {
    this.timeout(120_000);
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
    await suture?.stop();
    if (ns !== undefined) await deleteNamespace(admin, ns);
  });

  async function applyPolicy(name: string, spec: Record<string, unknown>, resource: string, operation: string): Promise<void> {
    await suture.client.create({ ...POLICY, metadata: { name }, spec });
    cleanup.push(() => suture.client.delete({ ...POLICY, name }));
    await eventually(`SuturePolicy ${name} Ready`, async () => ready(await suture.client.find<Policy>({ ...POLICY, name })), 30_000);
    await eventually(`validate.suture.dev intercepts ${operation} ${resource}`, async () => {
      const vwc = await suture.client.find<Webhooks>(WEBHOOK_CONFIGURATIONS[0]);
      const hook = vwc?.webhooks?.find((w) => w.name === 'validate.suture.dev');
      const covers = (values: string[] | undefined, value: string): boolean => [value, '*', '*/*'].some((v) => values?.includes(v) === true);
      return hook?.rules?.some((r) => covers(r.resources, resource) && covers(r.operations, operation)) ?? false;
    }, 30_000);
    await sleep(1500); // the API server loads the changed webhook configuration from its informer
  }

  const podsOf = async (app: string): Promise<KubeObject[]> => (await suture.client.list('v1', 'Pod', { namespace: ns, labelSelector: `app=${app}` })).items.filter((p) => p.metadata.deletionTimestamp === undefined);
  const isReady = (p: KubeObject): boolean => ((p['status'] as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

  /** There is no kubelet: the pods the StatefulSet controller makes are made Running and Ready by the admin. */
  async function threeReady(app: string): Promise<KubeObject[]> {
    let pods: KubeObject[] = [];
    await eventually(`3 pods of ${app} Ready`, async () => {
      pods = await podsOf(app);
      for (const p of pods.filter((x) => !isReady(x))) {
        const now = new Date().toISOString();
        await suture.client.patchStatus({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: p.metadata.name ?? '' }, { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }] }).catch(() => undefined);
      }
      pods = await podsOf(app);
      return pods.length === 3 && pods.every(isReady);
    }, 60_000);
    return pods;
  }

  const evict = (name: string, dryRun = false): Promise<Answer> =>
    call(admin, 'POST', `/api/v1/namespaces/${ns}/pods/${name}/eviction${dryRun ? '?dryRun=All' : ''}`, { impersonate: operator(), body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { namespace: ns, name } } });

  it('three evictions of a StatefulSet\'s three ready pods sent at once under minAvailable 2: exactly 1 allowed, 2 denied, in each of 3 rounds', async () => {
    const policy = uniqueName('floors-quorum');
    await suture.client.create({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { namespace: ns, name: 'rabbit', labels: { app: 'rabbit' } },
      spec: { replicas: 3, serviceName: 'rabbit', podManagementPolicy: 'Parallel', selector: { matchLabels: { app: 'rabbit' } }, template: { metadata: { labels: { app: 'rabbit' } }, spec: { containers: [{ name: 'rabbitmq', image: 'rabbitmq:4' }] } } },
    });
    await applyPolicy(policy, { match: [{ apiGroups: ['apps'], kinds: ['StatefulSet'], namespaces: [ns], selector: { matchLabels: { app: 'rabbit' } } }], invariants: [{ name: 'keep-quorum', minAvailable: { count: 2 } }] }, 'pods/eviction', 'CREATE');

    const rounds: { allowed: number; denied: number }[] = [];
    for (let round = 0; round < 3; round++) {
      const pods = await threeReady('rabbit');
      const names = pods.map((p) => p.metadata.name ?? '');
      // Both replicas must count three ready pods before the burst (their caches follow the admin's status writes):
      // a dry-run eviction is decided but reserves nothing.
      await eventually('a dry-run eviction is allowed (Suture counts 3 ready pods)', async () => (await evict(names[0] ?? '', true)).status === 201, 30_000);
      await eventually('again, on whichever replica answers', async () => (await evict(names[1] ?? '', true)).status === 201, 30_000);
      // Three connections opened and idle before the burst, so no TLS handshake spreads the evictions apart.
      await Promise.all(names.map(() => rawRequest(admin, { method: 'GET', path: '/version' })));
      const answers = await Promise.all(names.map((name) => evict(name)));
      const allowed = answers.filter((a) => a.status === 201);
      const denied = answers.filter((a) => a.status === 403 && a.message.includes(SUTURE_DENIAL));
      rounds.push({ allowed: allowed.length, denied: denied.length });
      expect(answers.filter((a) => a.status !== 201 && !(a.status === 403 && a.message.includes(SUTURE_DENIAL))), 'every eviction decided by Suture').to.deep.equal([]);
      for (const d of denied) expect(d.message).to.include(`SuturePolicy ${policy}`).and.include('keep-quorum');
      expect(allowed, `round ${round}: ${JSON.stringify(answers)}`).to.have.length(1);
      expect(denied).to.have.length(2);
      // Two of the three pods are still there and ready.
      expect((await podsOf('rabbit')).filter((p) => names.includes(p.metadata.name ?? '') && isReady(p) && p.metadata.uid === pods.find((q) => q.metadata.name === p.metadata.name)?.metadata.uid)).to.have.length(2);
    }
    process.stderr.write(`      drain bursts: ${JSON.stringify(rounds)}\n`);
    // The reservations live in Suture's namespace, in a ConfigMap of the policy.
    const cm = await suture.client.find<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: SUTURE_NAMESPACE, name: floorConfigMapName(policy) });
    expect(cm?.metadata.labels?.['suture.dev/floor']).to.equal('true');
    cleanup.push(() => suture.client.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: SUTURE_NAMESPACE, name: floorConfigMapName(policy) }));
  });

  it('item 4: a ReplicaSet scaled down through /scale is judged by the protected pods its controller would delete', async () => {
    const policy = uniqueName('floors-ledger');
    await suture.client.create({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { namespace: ns, name: 'ledger', labels: { app: 'ledger' } },
      spec: { replicas: 2, selector: { matchLabels: { app: 'ledger' } }, template: { metadata: { labels: { app: 'ledger' } }, spec: { containers: [{ name: 'ledger', image: 'registry.example/ledger:2' }] } } },
    });
    await applyPolicy(policy, { match: [{ apiGroups: [''], kinds: ['Pod'], namespaces: [ns], selector: { matchLabels: { app: 'ledger' } } }], operations: ['DELETE'], invariants: [{ name: 'pods-survive', protect: {} }] }, 'replicasets/scale', 'UPDATE');
    await eventually('2 ledger pods', async () => (await podsOf('ledger')).length === 2, 30_000);
    await sleep(1500); // Suture's informers see the pods
    const scalePath = `/apis/apps/v1/namespaces/${ns}/replicasets/ledger/scale`;
    const patch = { impersonate: operator(), contentType: CONTENT_TYPES.merge };
    for (const replicas of [0, 1]) {
      const r = await call(admin, 'PATCH', scalePath, { ...patch, body: { spec: { replicas } } });
      expect(r.status, r.message).to.equal(403);
      expect(r.message).to.include(SUTURE_DENIAL).and.include(policy).and.include(`Pod ${ns}/ledger-`);
    }
    // kubectl scale --replicas=0 sends a PUT of the Scale it read too.
    const scale = await rawRequest(admin, { method: 'GET', path: scalePath });
    const put = await call(admin, 'PUT', scalePath, { impersonate: operator(), body: { ...(scale.body as Record<string, unknown>), spec: { replicas: 0 } } });
    expect(put.status, put.message).to.equal(403);
    expect(put.message).to.include(policy);
    // Scaling up harms nothing.
    const up = await call(admin, 'PATCH', scalePath, { ...patch, body: { spec: { replicas: 3 } } });
    expect(up.status, up.message).to.equal(200);
    const rs = await suture.client.get<KubeObject & { spec: { replicas: number } }>({ apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: ns, name: 'ledger' });
    expect(rs.spec.replicas).to.equal(3);
  });
});
