// An index of policies (or leases) by the group, kind and namespace their selectors can match, so that a request
// consults only the candidates for what it affects instead of every policy. Built once per list of policies and
// kept while the list is the same array (the stores hand out one array until something changes).
import type { KubeObject, ObjectSelector } from '../api/types.js';
import { namespaceForMatching } from './selectors.js';
import { groupOf } from './snapshot.js';
import type { Affected } from './types.js';

const ANY = '*';

function named(list: readonly string[] | undefined): readonly string[] {
  return list === undefined || list.length === 0 || list.includes(ANY) ? [ANY] : list;
}

/** The (group, kind, namespace) slots one selector can match, with '*' where any fits. */
function slotsOf(sel: ObjectSelector): string[] {
  // A namespaceSelector is judged on labels: index it under any namespace.
  const namespaces = sel.namespaceSelector === undefined ? named(sel.namespaces) : [ANY];
  const out: string[] = [];
  for (const g of named(sel.apiGroups)) for (const k of named(sel.kinds)) for (const n of namespaces) out.push(`${g}\u0000${k}\u0000${n}`);
  return out;
}

/** The slots an object fills, wildcards included: 8 keys. */
function lookupKeys(obj: KubeObject): string[] {
  const g = groupOf(obj.apiVersion);
  const n = namespaceForMatching(obj);
  const keys: string[] = [];
  for (const gg of [g, ANY]) for (const kk of [obj.kind, ANY]) for (const nn of [n, ANY]) keys.push(`${gg}\u0000${kk}\u0000${nn}`);
  return keys;
}

export class SelectorIndex<T> {
  private readonly bySlot = new Map<string, T[]>();
  private readonly order = new Map<T, number>();

  constructor(items: readonly T[], selectorsOf: (item: T) => readonly ObjectSelector[]) {
    items.forEach((item, i) => {
      this.order.set(item, i);
      for (const slot of new Set(selectorsOf(item).flatMap(slotsOf))) {
        const list = this.bySlot.get(slot);
        if (list === undefined) this.bySlot.set(slot, [item]);
        else list.push(item);
      }
    });
  }

  /**
   * The items whose selectors may match some affected entry, in their original order. Namespaces are looked up one
   * by one (a Namespace matches by its own name); other groups of entries by their first entry.
   */
  candidates(groups: readonly (readonly Affected[])[]): T[] {
    const found = new Set<T>();
    for (const group of groups) {
      const first = group[0];
      if (first === undefined) continue;
      const objects = (first.before ?? first.object).kind === 'Namespace' ? group.map((a) => a.before ?? a.object) : [first.before ?? first.object];
      for (const obj of objects) for (const key of lookupKeys(obj)) for (const item of this.bySlot.get(key) ?? []) found.add(item);
    }
    return [...found].sort((a, b) => (this.order.get(a) ?? 0) - (this.order.get(b) ?? 0));
  }
}

/** One index per list, for as long as the list lives. */
export function indexFor<T>(cache: WeakMap<readonly T[], SelectorIndex<T>>, items: readonly T[], selectorsOf: (item: T) => readonly ObjectSelector[]): SelectorIndex<T> {
  let index = cache.get(items);
  if (index === undefined) {
    index = new SelectorIndex(items, selectorsOf);
    cache.set(items, index);
  }
  return index;
}
