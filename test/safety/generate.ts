// What the simulated operators do: each draws its actions from its own stream of the seeded PRNG, so that one seed
// gives every operator the same sequence of actions on every run. Actions name their targets abstractly (a pod is
// "the i-th pod of app X", resolved against the cluster when it is sent), so generation needs no cluster at all; the
// interleaving of the operators and what the controllers do in between are what a run adds.
import { Prng } from './prng.js';
import type { Kind, Manifest, ObjectRef, Workload } from './world.js';
import { FIELD_LEASE, FLOORS, HOLDERS, LABEL_PROTECTED, LEASED_CONFIGMAPS, NAMESPACES, OWNED_BY, PROTECTED, PROTECTED_PODS, WORKLOADS } from './world.js';

/** The `index`-th pod (modulo their number, by name) of the pods labelled `app` in `namespace`, when the action is sent. */
export interface PodPick {
  readonly namespace: string;
  readonly app: string;
  readonly index: number;
}

export type Target = { readonly ref: ObjectRef } | { readonly pod: PodPick };
export type Propagation = 'Background' | 'Foreground' | 'Orphan';

export type Action =
  | { readonly type: 'create'; readonly object: Manifest }
  | { readonly type: 'stamp'; readonly target: Target; readonly value: string }
  | { readonly type: 'unprotect'; readonly target: ObjectRef }
  | { readonly type: 'scale'; readonly target: Workload; readonly replicas: number; readonly via: 'spec' | 'scale' }
  | { readonly type: 'status'; readonly target: Target; readonly ready: number }
  | { readonly type: 'evict'; readonly pod: PodPick }
  | { readonly type: 'delete'; readonly target: Target; readonly propagation?: Propagation }
  | { readonly type: 'deletecollection'; readonly kind: Kind; readonly namespace: string; readonly selector?: string }
  | { readonly type: 'rollout'; readonly target: Workload; readonly value: string }
  /** Create an HPA on `target` (`update`: change the bounds of an HPA that may exist, perhaps another operator's). */
  | { readonly type: 'hpa'; readonly target: Workload; readonly name: string; readonly min: number; readonly max: number; readonly update: boolean }
  /** Create a ConfigMap `owner` next to the target, then at once: point the target's ownerReferences at it and delete it. */
  | { readonly type: 'owner'; readonly target: Target; readonly owner: string; readonly dangling: boolean }
  /** Two actions sent at the same moment. */
  | { readonly type: 'pair'; readonly name: string; readonly actions: readonly [Action, Action] };

export interface GeneratorOptions {
  readonly seed: number;
  readonly operator: number;
  readonly operators: number;
  /**
   * Send two evictions of the same floored workload at once (a drain). Off in the short run until floor decisions
   * are serialized across replicas (issue 9, item 6: another change is building it); on in `make test-long`.
   */
  readonly drainPairs: boolean;
}

export type Generator = () => Action;

const WEIGHTS = {
  create: 14,
  stamp: 10,
  unprotect: 3,
  scale: 10,
  status: 5,
  evict: 8,
  delete: 16,
  deletecollection: 3,
  rollout: 3,
  hpa: 6,
  hpaRetarget: 2,
  owner: 5,
  pair: 6,
} as const;

const POD_APPS: readonly { namespace: string; app: string }[] = [
  ...FLOORS.map((f) => ({ namespace: f.namespace, app: f.app })),
  PROTECTED_PODS,
  { namespace: 'shop', app: 'web' },
];

const LEASED: readonly ObjectRef[] = Object.values(LEASED_CONFIGMAPS).flatMap((names) => names.map((name): ObjectRef => ({ kind: 'ConfigMap', namespace: 'leased', name })));
const FLOORED: readonly Workload[] = FLOORS.flatMap((f) => (f.workload === undefined ? [] : [f.workload]));

export function generator({ seed, operator, operators, drainPairs }: GeneratorOptions): Generator {
  const rng = new Prng(seed, operator);
  const me = `op-${operator}`;
  let seq = 0;
  const junk: ObjectRef[] = [];
  const scratch: string[] = [];
  const hpas: { target: Workload; name: string }[] = [];
  const name = (prefix: string): string => `${prefix}-${operator}-${seq}`;

  const podPick = (): PodPick => ({ ...rng.pick(POD_APPS), index: rng.int(0, 7) });
  const namespaceForCreate = (): string => (scratch.length > 0 && rng.chance(0.3) ? rng.pick(scratch) : rng.pick(NAMESPACES));
  /** A junk object of another operator, by a name it may have used (it may not exist: a 404 is fine). */
  const othersJunk = (): ObjectRef => {
    const other = rng.int(0, operators - 1);
    return { kind: rng.pick(['ConfigMap', 'Secret', 'PersistentVolumeClaim', 'Pod'] as const), namespace: rng.pick(NAMESPACES), name: `j-${other}-${rng.int(0, Math.max(0, seq))}` };
  };
  const anyTarget = (): Target => {
    const from = rng.weighted({ protected: 3, holder: 2, workload: 2, leased: 3, pod: 4, namespace: 1, junk: 4, others: 1 });
    switch (from) {
      case 'protected':
        return { ref: rng.pick(PROTECTED) };
      case 'holder':
        return { ref: rng.pick(HOLDERS) };
      case 'workload':
        return { ref: rng.pick(WORKLOADS) };
      case 'leased':
        return { ref: rng.pick(LEASED) };
      case 'pod':
        return { pod: podPick() };
      case 'namespace':
        return { ref: { kind: 'Namespace', name: scratch.length > 0 && rng.chance(0.5) ? rng.pick(scratch) : rng.pick(NAMESPACES) } };
      case 'junk':
        return junk.length > 0 ? { ref: rng.pick(junk) } : { ref: othersJunk() };
      case 'others':
        return { ref: othersJunk() };
    }
  };
  const replicasFor = (w: Workload): number => {
    if (w.name === FIELD_LEASE.name && w.namespace === FIELD_LEASE.namespace) return rng.pick(operator === FIELD_LEASE.holder ? FIELD_LEASE.holderValues : FIELD_LEASE.otherValues);
    return rng.int(0, 5);
  };

  const create = (): Action => {
    const what = rng.weighted({ ConfigMap: 5, Secret: 2, PersistentVolumeClaim: 2, Pod: 4, Namespace: 1, Leased: 1 });
    if (what === 'Namespace') {
      const ns = name('scratch');
      scratch.push(ns);
      return { type: 'create', object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } };
    }
    if (what === 'Leased') {
      // Re-create a leased name (it exists unless its holder deleted it: then only the holder may).
      const ref = rng.pick(LEASED);
      return { type: 'create', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ref.name, namespace: 'leased' }, data: { writer: me } } };
    }
    const protectedLabel = rng.chance(0.2);
    const labels: Record<string, string> = protectedLabel ? { [LABEL_PROTECTED]: 'true' } : {};
    if (what === 'Pod') {
      const app = rng.pick([...POD_APPS, { namespace: namespaceForCreate(), app: 'junk' }]);
      const ref: ObjectRef = { kind: 'Pod', namespace: app.namespace, name: name('j') };
      junk.push(ref);
      return { type: 'create', object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: ref.name, namespace: app.namespace, labels: { app: app.app } }, spec: { containers: [{ name: 'c', image: 'registry.example/junk:1' }], terminationGracePeriodSeconds: 0 } } };
    }
    const ref: ObjectRef = { kind: what, namespace: namespaceForCreate(), name: name('j') };
    junk.push(ref);
    const metadata = { name: ref.name, namespace: ref.namespace as string, labels };
    if (what === 'ConfigMap') return { type: 'create', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata, data: { writer: me } } };
    if (what === 'Secret') return { type: 'create', object: { apiVersion: 'v1', kind: 'Secret', metadata, stringData: { writer: me } } };
    return { type: 'create', object: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } };
  };

  const evictionOf = (w: Workload | undefined, index: number): PodPick => {
    const floor = w === undefined ? rng.pick(FLOORS) : FLOORS.find((f) => f.workload === w);
    return { namespace: floor?.namespace ?? 'mq', app: floor?.app ?? 'rabbit', index };
  };

  const pair = (): Action => {
    const kinds: Record<string, number> = drainPairs ? { drain: 3, scaleEvict: 2, unprotectDelete: 2, deleteBoth: 1 } : { scaleEvict: 2, unprotectDelete: 2, deleteBoth: 1 };
    const which = rng.weighted<string>(kinds);
    if (which === 'drain') {
      const first = rng.int(0, 5);
      const floor = rng.pick(FLOORS);
      return { type: 'pair', name: 'drain', actions: [{ type: 'evict', pod: { namespace: floor.namespace, app: floor.app, index: first } }, { type: 'evict', pod: { namespace: floor.namespace, app: floor.app, index: first + 1 } }] };
    }
    if (which === 'scaleEvict') {
      const w = rng.pick(FLOORED);
      return { type: 'pair', name: 'scale+evict', actions: [{ type: 'scale', target: w, replicas: rng.int(1, 2), via: rng.pick(['spec', 'scale'] as const) }, { type: 'evict', pod: evictionOf(w, rng.int(0, 5)) }] };
    }
    if (which === 'unprotectDelete') {
      const ref = rng.pick(PROTECTED);
      return { type: 'pair', name: 'unprotect+delete', actions: [{ type: 'unprotect', target: ref }, { type: 'delete', target: { ref } }] };
    }
    const [dependentName, ownerName] = rng.pick(Object.entries(OWNED_BY));
    const owner: ObjectRef = HOLDERS.find((h) => h.name === ownerName) ?? rng.pick(HOLDERS);
    const dependent: ObjectRef = PROTECTED.find((p) => p.name === dependentName) ?? rng.pick(PROTECTED);
    return { type: 'pair', name: 'delete owner+dependent', actions: [{ type: 'delete', target: { ref: owner }, propagation: 'Foreground' }, { type: 'delete', target: { ref: dependent }, propagation: 'Background' }] };
  };

  const next = (): Action => {
    const kind = rng.weighted(WEIGHTS);
    switch (kind) {
      case 'create':
        return create();
      case 'stamp':
        return { type: 'stamp', target: anyTarget(), value: `${me}.${seq}` };
      case 'unprotect':
        return { type: 'unprotect', target: rng.pick(PROTECTED) };
      case 'scale': {
        const w = rng.pick(WORKLOADS);
        return { type: 'scale', target: w, replicas: replicasFor(w), via: rng.pick(['spec', 'scale'] as const) };
      }
      case 'status':
        if (rng.chance(0.5)) return { type: 'status', target: { ref: rng.pick(FLOORED) }, ready: rng.pick([0, 1, 9]) };
        return { type: 'status', target: { pod: podPick() }, ready: rng.pick([0, 1]) };
      case 'evict':
        return { type: 'evict', pod: podPick() };
      case 'delete':
        return { type: 'delete', target: anyTarget(), ...(rng.chance(0.75) ? { propagation: rng.pick(['Background', 'Foreground', 'Orphan'] as const) } : {}) };
      case 'deletecollection': {
        const c = rng.pick([
          { kind: 'Pod' as const, namespace: 'mq', selector: 'app=rabbit' },
          { kind: 'Pod' as const, namespace: 'mq', selector: 'app=cache' },
          { kind: 'Pod' as const, namespace: 'shop', selector: 'app=ledger' },
          { kind: 'Pod' as const, namespace: 'shop', selector: 'app=api' },
          { kind: 'ConfigMap' as const, namespace: 'data', selector: `${LABEL_PROTECTED}=true` },
          { kind: 'ConfigMap' as const, namespace: 'leased' },
          { kind: 'PersistentVolumeClaim' as const, namespace: 'data' },
        ]);
        return { type: 'deletecollection', ...c };
      }
      case 'rollout':
        return { type: 'rollout', target: rng.pick(WORKLOADS), value: `${me}.${seq}` };
      case 'hpa':
      case 'hpaRetarget': {
        // Change one of its own HPAs, or one another operator may have made (the name says its target; it may not
        // exist), or make one.
        const own = kind === 'hpaRetarget' && hpas.length > 0 && rng.chance(0.7) ? rng.pick(hpas) : undefined;
        const w = own?.target ?? rng.pick(WORKLOADS);
        const leased = w.name === FIELD_LEASE.name && w.namespace === FIELD_LEASE.namespace;
        const values = leased ? (operator === FIELD_LEASE.holder ? FIELD_LEASE.holderValues : FIELD_LEASE.otherValues) : [1, 2, 3, 4, 5];
        const min = rng.pick(values);
        const max = rng.pick(values.filter((v) => v >= min));
        if (kind === 'hpa') {
          const name = `${w.kind.toLowerCase()}.${w.name}.${operator}.${seq}`;
          hpas.push({ target: w, name });
          return { type: 'hpa', target: w, name, min, max, update: false };
        }
        return { type: 'hpa', target: w, name: own?.name ?? `${w.kind.toLowerCase()}.${w.name}.${rng.int(0, operators - 1)}.${rng.int(0, seq)}`, min, max, update: true };
      }
      case 'owner': {
        const target: Target = rng.weighted({ protected: 3, ledger: 2, floored: 2, leased: 2 }) === 'protected' ? { ref: rng.pick(PROTECTED) } : rng.chance(0.5) ? { pod: podPick() } : { ref: rng.pick(LEASED) };
        return { type: 'owner', target, owner: name('o'), dangling: rng.chance(0.3) };
      }
      case 'pair':
        return pair();
    }
  };

  return () => {
    seq++;
    return next();
  };
}

/** A short name for counting: what the request does to which kind. */
export function actionLabel(action: Action): string {
  switch (action.type) {
    case 'create':
      return `create ${action.object.kind}${action.object.metadata.labels !== undefined && (action.object.metadata.labels as Record<string, string>)[LABEL_PROTECTED] === 'true' ? ' (protected)' : ''}`;
    case 'stamp':
    case 'delete':
    case 'status': {
      const kind = 'pod' in action.target ? 'Pod' : action.target.ref.kind;
      const suffix = action.type === 'delete' && action.propagation !== undefined ? ` ${action.propagation}` : action.type === 'status' ? ' /status' : '';
      return `${action.type === 'stamp' ? 'update' : action.type} ${kind}${suffix}`;
    }
    case 'unprotect':
      return `remove protect label ${action.target.kind}`;
    case 'scale':
      return `scale ${action.target.kind} ${action.via === 'scale' ? '/scale' : 'spec'}`;
    case 'evict':
      return 'evict Pod';
    case 'deletecollection':
      return `deletecollection ${action.kind}`;
    case 'rollout':
      return `rollout ${action.target.kind}`;
    case 'hpa':
      return `${action.update ? 'update' : 'create'} HPA on ${action.target.kind}`;
    case 'owner':
      return `ownerReference ${action.dangling ? 'dangling ' : ''}+ delete owner`;
    case 'pair':
      return `pair ${action.name}`;
  }
}
