// Lease grants for a reconciler that judges every lease on every reconcile: the same result as grantLeases
// (leases.ts, which defines it), at a cost that does not grow with the square of the number of leases.
//
// grantLeases compares each lease with every lease granted before it, and each comparison may scan the snapshot for
// an object both cover. LeaseGrants keeps two things between calls:
//  - a ConflictGraph: which pairs of leases can conflict at all, and the verdict of each pair compared. Lease
//    resources are indexed by kind, group, namespace and name ('*' where any fits), so that two leases whose
//    resources name different kinds, namespaces or names are never compared; objects carrying a lease's stamp label
//    link that lease with the leases whose resources can match the object. Rebuilt when a lease is added or removed
//    or changes its spec, or when a snapshot list it read changed (compared by identity: a LiveSnapshot hands out
//    one array per list until an object in it changes).
//  - the phases: recomputed when any lease object changes (status, the order of granting and grant times), or when
//    `now` crosses a time at which a lease expires. Grants are built from them on demand, at the caller's `now`.
// Pure: time is a parameter.
import { LEASE_LABEL } from '../api/constants.js';
import type { KubeObject, LeaseResource, SutureLease } from '../api/types.js';
import {
  compareGrantOrderKeys,
  conflicted,
  type EnumerableSlot,
  enumerableSlots,
  granted,
  grantOrderKey,
  type GrantOrderKey,
  invalidReason,
  type LeaseConflict,
  type LeaseGrant,
  leaseName,
  leasesConflict,
  parseTime,
  stampValue,
} from './leases.js';
import { namespaceForMatching } from './selectors.js';
import { groupOf } from './snapshot.js';
import type { Snapshot } from './types.js';
import { parseDurationSeconds } from './units.js';

// ------------------------------------------------------------------------------------------------ index

/** The objects of a list that carry a stamp label, per list array. */
const stampedCache = new WeakMap<readonly KubeObject[], readonly KubeObject[]>();

function stamped(items: readonly KubeObject[]): readonly KubeObject[] {
  let found = stampedCache.get(items);
  if (found === undefined) {
    found = items.filter((o) => o.metadata.labels?.[LEASE_LABEL] !== undefined);
    stampedCache.set(items, found);
  }
  return found;
}

/** Separates the two fingerprints of a pair (fingerprints hold names and JSON, never this character). */
const PAIR = '\u0001';
const NONE: ReadonlySet<string> = new Set();

function hasShape(lease: SutureLease): boolean {
  return lease.spec !== undefined && Array.isArray(lease.spec.resources);
}

/** One dimension of a resource: the values it names, or undefined when any value fits. */
type Dimension = readonly string[] | undefined;

/** The most index entries one resource may expand to; wider resources are indexed with '*' on their widest lists. */
const MAX_EXPANSION = 4096;

function named(list: readonly string[] | undefined): Dimension {
  return list === undefined || list.length === 0 || list.includes('*') ? undefined : list;
}

/**
 * Kind, group, namespace and name of a resource, as conflicts compare them (resourcesDisjoint: an empty list or '*'
 * is any value; namePrefixes and selectors only narrow, so they are left out).
 */
function dimensionsOf(r: LeaseResource): Dimension[] {
  let dims = dimensionsCache.get(r);
  if (dims === undefined) {
    dims = computeDimensions(r);
    dimensionsCache.set(r, dims);
  }
  return dims;
}

const dimensionsCache = new WeakMap<LeaseResource, Dimension[]>();

function computeDimensions(r: LeaseResource): Dimension[] {
  const dims = [named(r.kinds), named(r.apiGroups), named(r.namespaces), named(r.names)];
  const size = (): number => dims.reduce((n, d) => n * (d?.length ?? 1), 1);
  while (size() > MAX_EXPANSION) {
    let widest = 0;
    dims.forEach((d, i) => {
      if ((d?.length ?? 0) > (dims[widest]?.length ?? 0)) widest = i;
    });
    dims[widest] = undefined;
  }
  return dims;
}

/** The dimensions of one object, as a resource that matches it must allow (matchesObjectSelector). */
function pointOf(obj: KubeObject): Dimension[] {
  return [[obj.kind], [groupOf(obj.apiVersion)], [namespaceForMatching(obj)], [obj.metadata.name ?? '']];
}

interface TrieNode {
  children: Map<string, TrieNode>;
  any?: TrieNode;
  items?: number[];
}

const newNode = (): TrieNode => ({ children: new Map() });

/** Resources by their dimensions: a query finds every resource whose dimensions all intersect the query's. */
class ResourceTrie {
  private readonly root = newNode();

  insert(dims: readonly Dimension[], item: number): void {
    const walk = (node: TrieNode, level: number): void => {
      if (level === dims.length) {
        (node.items ??= []).push(item);
        return;
      }
      const values = dims[level];
      if (values === undefined) {
        walk((node.any ??= newNode()), level + 1);
        return;
      }
      for (const v of new Set(values)) {
        let child = node.children.get(v);
        if (child === undefined) {
          child = newNode();
          node.children.set(v, child);
        }
        walk(child, level + 1);
      }
    };
    walk(this.root, 0);
  }

  query(dims: readonly Dimension[], visit: (item: number) => void): void {
    const walk = (node: TrieNode, level: number): void => {
      if (level === dims.length) {
        node.items?.forEach(visit);
        return;
      }
      if (node.any !== undefined) walk(node.any, level + 1);
      const values = dims[level];
      if (values === undefined) for (const child of node.children.values()) walk(child, level + 1);
      else
        for (const v of new Set(values)) {
          const child = node.children.get(v);
          if (child !== undefined) walk(child, level + 1);
        }
    };
    walk(this.root, 0);
  }
}

function intersects(a: Dimension, b: Dimension): boolean {
  return a === undefined || b === undefined || a.some((v) => b.includes(v));
}

/** Whether two resources can name a common object (their dimensions all intersect). */
function resourcesMayMeet(a: LeaseResource, b: LeaseResource): boolean {
  const da = dimensionsOf(a);
  const db = dimensionsOf(b);
  return da.every((d, i) => intersects(d, db[i]));
}

/** Whether a resource can match the object (by kind, group, namespace and name). */
function resourceMayMatch(r: LeaseResource, obj: KubeObject): boolean {
  const dims = dimensionsOf(r);
  return pointOf(obj).every((d, i) => intersects(dims[i], d));
}

/** The stamped objects of a list by stamp value, per list array. */
const byStampCache = new WeakMap<readonly KubeObject[], Map<string, KubeObject[]>>();

function stampedByValue(items: readonly KubeObject[]): Map<string, KubeObject[]> {
  let map = byStampCache.get(items);
  if (map === undefined) {
    map = new Map();
    for (const o of stamped(items)) {
      const s = o.metadata.labels?.[LEASE_LABEL] ?? '';
      map.set(s, [...(map.get(s) ?? []), o]);
    }
    byStampCache.set(items, map);
  }
  return map;
}

const slotsCache = new WeakMap<object, EnumerableSlot[]>();

/** enumerableSlots, once per spec object. */
function slotsOf(lease: SutureLease): EnumerableSlot[] {
  let slots = slotsCache.get(lease.spec);
  if (slots === undefined) {
    slots = enumerableSlots(lease);
    slotsCache.set(lease.spec, slots);
  }
  return slots;
}

/** Whether an object that one lease's stamp covers, in a list either lease enumerates, may be covered by the other. */
function stampLinked(a: SutureLease, b: SutureLease, snapshot: Snapshot): boolean {
  const sa = stampValue(a);
  const sb = stampValue(b);
  if (sa === sb) return true;
  const matchedBy = (lease: SutureLease) => (o: KubeObject) => lease.spec.resources.some((r) => resourceMayMatch(r, o));
  for (const lease of [a, b]) {
    for (const slot of slotsOf(lease)) {
      const items = snapshot.list(slot.group, slot.kind, slot.namespace);
      const stamps = items.length === 0 ? undefined : stampedByValue(items);
      if (stamps === undefined || stamps.size === 0) continue;
      if ((stamps.get(sa) ?? []).some(matchedBy(b)) || (stamps.get(sb) ?? []).some(matchedBy(a))) return true;
    }
  }
  return false;
}

/**
 * Whether two leases may conflict: false only when leasesConflict(a, b) and leasesConflict(b, a) are false for
 * sure (no two of their resources can name a common object, and no object either enumerates carries a stamp of one
 * that the other can cover). Cheap: for the reconciler's predicates, which lease a change of another concerns.
 */
export function leasesMayConflict(a: SutureLease, b: SutureLease, snapshot: Snapshot): boolean {
  if (!hasShape(a) || !hasShape(b)) return false;
  if (a.spec.resources.some((ra) => b.spec.resources.some((rb) => resourcesMayMeet(ra, rb)))) return true;
  return stampLinked(a, b, snapshot);
}

// ------------------------------------------------------------------------------------------------ conflict graph

/** A snapshot list the graph read, and the array it got (compared by identity to tell whether it changed). */
interface Read {
  group: string;
  kind: string;
  namespace: string | undefined;
  items: readonly KubeObject[];
}

interface GraphInputs {
  fingerprints: ReadonlySet<string>;
  snapshot: Snapshot;
  /** Verdicts by `judged PAIR holder` fingerprints; kept across graphs while the snapshot lists read are unchanged. */
  verdicts: Map<string, LeaseConflict>;
  stats: LeaseGrantStats;
}

type Entry = { fp: string; lease: SutureLease };

/**
 * Which live leases may conflict (a superset of the pairs leasesConflict finds in conflict) and the verdicts of the
 * pairs compared so far, for one set of leases (by spec) and the snapshot lists they read.
 */
class ConflictGraph {
  /** The fingerprints of the leases it was last asked for, in the order given. */
  order: readonly string[] = [];
  readonly fingerprints: ReadonlySet<string>;
  readonly verdicts: Map<string, LeaseConflict>;
  private readonly snapshot: Snapshot;
  private readonly stats: LeaseGrantStats;
  /** Per lease (by fingerprint): the fingerprints of the leases it may conflict with. */
  private readonly links = new Map<string, Set<string>>();
  private readonly reads = new Map<string, Read>();

  constructor(inputs: GraphInputs, leases: readonly Entry[]) {
    ({ fingerprints: this.fingerprints, snapshot: this.snapshot, verdicts: this.verdicts, stats: this.stats } = inputs);
    this.stats.graphs++;
    const valid = leases.filter((l) => hasShape(l.lease));
    const trie = new ResourceTrie();
    valid.forEach(({ lease }, i) => {
      for (const r of lease.spec.resources) trie.insert(dimensionsOf(r), i);
    });
    const link = (i: number, j: number): void => this.link(valid[i]?.fp, valid[j]?.fp);
    // Resources that can name a common object.
    valid.forEach(({ lease }, i) => {
      for (const r of lease.spec.resources) trie.query(dimensionsOf(r), (j) => link(i, j));
    });
    this.linkStamps(valid, trie);
    // Coverage through a namespaceSelector reads namespaces' labels.
    if (valid.some(({ lease }) => lease.spec.resources.some((r) => r.namespaceSelector !== undefined))) this.read('', 'Namespace', undefined);
  }

  /**
   * Objects carrying a lease's stamp (covered by that lease) in a list some lease enumerates: the stamp's lease and
   * every lease whose resources can match the object; and leases sharing one stamp value.
   */
  private linkStamps(valid: readonly Entry[], trie: ResourceTrie): void {
    const byStamp = new Map<string, number[]>();
    valid.forEach(({ lease }, i) => {
      const s = stampValue(lease);
      byStamp.set(s, [...(byStamp.get(s) ?? []), i]);
    });
    const link = (i: number, j: number): void => this.link(valid[i]?.fp, valid[j]?.fp);
    for (const owners of byStamp.values()) for (const a of owners) for (const b of owners) link(a, b);
    const seen = new Set<readonly KubeObject[]>();
    for (const { lease } of valid) {
      for (const slot of slotsOf(lease)) {
        const items = this.read(slot.group, slot.kind, slot.namespace);
        if (seen.has(items)) continue;
        seen.add(items);
        for (const obj of stamped(items)) {
          const owners = byStamp.get(obj.metadata.labels?.[LEASE_LABEL] ?? '') ?? [];
          if (owners.length > 0) trie.query(pointOf(obj), (j) => owners.forEach((m) => link(m, j)));
        }
      }
    }
  }

  private link(a: string | undefined, b: string | undefined): void {
    if (a === undefined || b === undefined || a === b) return;
    this.linksOf(a).add(b);
    this.linksOf(b).add(a);
  }

  private linksOf(fp: string): Set<string> {
    let set = this.links.get(fp);
    if (set === undefined) {
      set = new Set();
      this.links.set(fp, set);
    }
    return set;
  }

  private read(group: string, kind: string, namespace: string | undefined): readonly KubeObject[] {
    const key = `${group}\u0000${kind}\u0000${namespace ?? '\u0001'}`;
    const known = this.reads.get(key);
    if (known !== undefined) return known.items;
    const items = this.snapshot.list(group, kind, namespace);
    this.reads.set(key, { group, kind, namespace, items });
    return items;
  }

  /** Whether every snapshot list this graph read is unchanged in `snapshot`. */
  readsUnchanged(snapshot: Snapshot): boolean {
    if (snapshot !== this.snapshot) return false;
    for (const r of this.reads.values()) if (snapshot.list(r.group, r.kind, r.namespace) !== r.items) return false;
    return true;
  }

  /** The fingerprints of the leases that may conflict with this one. */
  rivalsOf(fp: string): ReadonlySet<string> {
    return this.links.get(fp) ?? NONE;
  }

  /** leasesConflict(judged, holder), computed once per pair. */
  conflict(judged: Entry, holder: Entry): LeaseConflict {
    const key = `${judged.fp}${PAIR}${holder.fp}`;
    let verdict = this.verdicts.get(key);
    if (verdict === undefined) {
      verdict = leasesConflict(judged.lease, holder.lease, this.snapshot);
      this.stats.comparisons++;
      this.verdicts.set(key, verdict);
    }
    return verdict;
  }
}

// ------------------------------------------------------------------------------------------------ grants

/** What a LeaseGrants did: pairs of leases compared, conflict graphs built, times the phases were judged. */
export interface LeaseGrantStats {
  comparisons: number;
  graphs: number;
  judgements: number;
}

/** Grants looked up by `namespace/name`, as grantLeases' map would give them. */
export interface LeaseGrantLookup {
  get(key: string): LeaseGrant | undefined;
}

/** How a lease was judged: a grant that does not depend on the time (Invalid, Conflicted), or granted (at `now`). */
type Verdict = { grant: LeaseGrant } | { lease: SutureLease };

interface Judgement {
  inputs: readonly SutureLease[];
  graph: ConflictGraph;
  /** When it was judged, and the times at which some lease's phase may change (expiry). */
  at: number;
  thresholds: readonly number[];
  verdicts: Map<string, Verdict>;
}

/** Times at which a lease's phase may flip between Granted and Expired (grantLeases: granted()). */
function expiryThresholds(lease: SutureLease): number[] {
  const duration = lease.spec.duration === undefined ? undefined : parseDurationSeconds(lease.spec.duration);
  if (duration === undefined) return [];
  const ms = duration * 1000;
  const phase = lease.status?.phase;
  const previous = phase === 'Granted' || phase === 'Expired' ? parseTime(lease.status?.grantedAt) : undefined;
  const renew = parseTime(lease.spec.renewTime);
  const out: number[] = [];
  if (previous !== undefined) out.push(Math.max(previous, renew ?? previous) + ms);
  if (renew !== undefined) out.push(renew, renew + ms);
  return out;
}

function sameSide(thresholds: readonly number[], a: number, b: number): boolean {
  return thresholds.every((t) => a >= t === b >= t);
}

/** Whether the graph was built for these fingerprints: the same order (a status write: compared as pointers), or the same set. */
function sameSet(g: ConflictGraph, order: readonly string[]): boolean {
  if (sameElements(g.order, order)) return true;
  return order.length === g.fingerprints.size && new Set(order).size === order.length && order.every((fp) => g.fingerprints.has(fp));
}

function sameElements<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * grantLeases, memoised for repeated calls with mostly the same leases: `grants(leases, snapshot, now)` returns what
 * `grantLeases(leases, snapshot, now)` returns (for every key), recomputing only what changed since the last call.
 */
export class LeaseGrants {
  readonly stats: LeaseGrantStats = { comparisons: 0, graphs: 0, judgements: 0 };
  private graph: ConflictGraph | undefined;
  private last: Judgement | undefined;
  /** Spec fingerprints per spec object (a lease's status writes bring a new object with an equal spec). */
  private readonly specKeys = new WeakMap<object, string>();
  /** grantOrderKey per lease object. */
  private readonly orderKeys = new WeakMap<SutureLease, GrantOrderKey>();

  grants(leases: readonly SutureLease[], snapshot: Snapshot, now: Date): LeaseGrantLookup {
    const at = now.getTime();
    const last = this.last;
    const judgement = last !== undefined && sameElements(last.inputs, leases) && sameSide(last.thresholds, last.at, at) && last.graph.readsUnchanged(snapshot) ? last : this.judge(leases, snapshot, at);
    this.last = judgement;
    const built = new Map<string, LeaseGrant>();
    return {
      get: (key) => {
        const verdict = judgement.verdicts.get(key);
        if (verdict === undefined) return undefined;
        if ('grant' in verdict) return verdict.grant;
        let grant = built.get(key);
        if (grant === undefined) {
          grant = granted(verdict.lease, now);
          built.set(key, grant);
        }
        return grant;
      },
    };
  }

  private orderKey(lease: SutureLease): GrantOrderKey {
    let key = this.orderKeys.get(lease);
    if (key === undefined) {
      key = grantOrderKey(lease);
      this.orderKeys.set(lease, key);
    }
    return key;
  }

  /** What conflicts read of a lease: its name and spec. */
  private fingerprint(lease: SutureLease): string {
    const spec = (lease.spec ?? lease) as object;
    let key = this.specKeys.get(spec);
    if (key === undefined) {
      key = `${leaseName(lease)}\u0000${JSON.stringify(lease.spec) ?? ''}`;
      this.specKeys.set(spec, key);
    }
    return key;
  }

  private graphFor(live: readonly Entry[], snapshot: Snapshot): ConflictGraph {
    const order = live.map((l) => l.fp);
    const g = this.graph;
    const readsOk = g !== undefined && g.readsUnchanged(snapshot);
    if (g !== undefined && readsOk && sameSet(g, order)) {
      g.order = order;
      return g;
    }
    const fps = new Set(order);
    const verdicts = new Map<string, LeaseConflict>();
    // Verdicts of pairs whose specs did not change stay true while the snapshot lists read are the same.
    if (g !== undefined && readsOk) {
      for (const [key, v] of g.verdicts) {
        const [a, b] = key.split(PAIR);
        if (fps.has(a ?? '') && fps.has(b ?? '')) verdicts.set(key, v);
      }
    }
    this.graph = new ConflictGraph({ fingerprints: fps, snapshot, verdicts, stats: this.stats }, live);
    this.graph.order = order;
    return this.graph;
  }

  private judge(leases: readonly SutureLease[], snapshot: Snapshot, at: number): Judgement {
    this.stats.judgements++;
    const live = leases.filter((l) => l.metadata.deletionTimestamp === undefined).map((lease) => ({ lease, fp: this.fingerprint(lease), key: this.orderKey(lease) }));
    const graph = this.graphFor(live, snapshot);
    live.sort((a, b) => compareGrantOrderKeys(a.key, b.key));
    const now = new Date(at);
    const verdicts = new Map<string, Verdict>();
    const holding: { fp: string; lease: SutureLease }[] = [];
    /** Positions in `holding` by fingerprint (the same lease given twice holds twice). */
    const holdingAt = new Map<string, number[]>();
    const thresholds: number[] = [];
    for (const entry of live) {
      const { lease, fp } = entry;
      const invalid = invalidReason(lease);
      if (invalid !== undefined) {
        verdicts.set(leaseName(lease), { grant: { phase: 'Invalid', conflictsWith: [], reason: 'InvalidSpec', message: invalid } });
        continue;
      }
      const rivals: SutureLease[] = [];
      const reasons: string[] = [];
      const candidates: number[] = [];
      for (const other of graph.rivalsOf(fp)) candidates.push(...(holdingAt.get(other) ?? []));
      candidates.sort((x, y) => x - y);
      for (const position of candidates) {
        const holder = holding[position] as { fp: string; lease: SutureLease };
        const c = graph.conflict(entry, holder);
        if (c.conflict) {
          rivals.push(holder.lease);
          reasons.push(c.reason);
        }
      }
      if (rivals.length > 0) {
        verdicts.set(leaseName(lease), { grant: conflicted(rivals, reasons) });
        continue;
      }
      thresholds.push(...expiryThresholds(lease));
      verdicts.set(leaseName(lease), { lease });
      // Without a duration a lease not in conflict is Granted (granted() builds its messages only when asked).
      if (lease.spec.duration === undefined || granted(lease, now).phase === 'Granted') {
        holdingAt.set(fp, [...(holdingAt.get(fp) ?? []), holding.length]);
        holding.push(entry);
      }
    }
    return { inputs: [...leases], graph, at, thresholds, verdicts };
  }
}
