// Kinds to resources: Suture's selectors name kinds, RBAC rules and webhook rules name resources. The catalog is
// built from discovery by the caller (or from BUILTIN_KINDS in tests); this module only looks things up.
import type { KindInfo } from '../types.js';

export interface KindCatalog {
  /** Every known kind of that name, in `group` when given (one entry per group, whatever the versions). */
  find(kind: string, group?: string): readonly KindInfo[];
}

/** A catalog over a list of kinds; several versions of one group/kind collapse into the first listed. */
export function kindCatalog(kinds: readonly KindInfo[]): KindCatalog {
  const byKind = new Map<string, KindInfo[]>();
  for (const info of kinds) {
    const list = byKind.get(info.kind) ?? [];
    if (!list.some((k) => k.group === info.group)) list.push(info);
    byKind.set(info.kind, list);
  }
  return {
    find: (kind, group) => (byKind.get(kind) ?? []).filter((k) => group === undefined || k.group === group),
  };
}

/** A resource a selector reaches: `resource` is "*" when the selector names no kinds. */
export interface ResolvedResource {
  group: string;
  resource: string;
  /** undefined for "*" (both scopes). */
  namespaced?: boolean;
}

export interface Resolution {
  resources: ResolvedResource[];
  /** Kinds the catalog does not know (a CRD not installed yet), as `group/Kind` or `Kind` when no group was named. */
  unknown: string[];
}

function isAny(list: readonly string[] | undefined): boolean {
  return list === undefined || list.length === 0 || list.includes('*');
}

function resolveKind(kind: string, groups: readonly string[] | undefined, catalog: KindCatalog): ResolvedResource[] {
  const found = isAny(groups) ? catalog.find(kind) : (groups ?? []).flatMap((g) => catalog.find(kind, g));
  return found.map((k) => ({ group: k.group, resource: k.resource, namespaced: k.namespaced }));
}

/**
 * The resources an object selector's apiGroups and kinds reach. No kinds: every resource of the named groups (or of
 * every group). Kinds without groups: that kind in every group the catalog knows it in.
 */
export function resolveResources(sel: { apiGroups?: string[] | undefined; kinds?: string[] | undefined }, catalog: KindCatalog): Resolution {
  if (isAny(sel.kinds)) {
    const groups = isAny(sel.apiGroups) ? ['*'] : [...new Set(sel.apiGroups)];
    return { resources: groups.map((group) => ({ group, resource: '*' })), unknown: [] };
  }
  const resources: ResolvedResource[] = [];
  const unknown: string[] = [];
  for (const kind of new Set(sel.kinds)) {
    const found = resolveKind(kind, sel.apiGroups, catalog);
    if (found.length === 0) unknown.push(isAny(sel.apiGroups) ? kind : (sel.apiGroups ?? []).map((g) => (g === '' ? kind : `${g}/${kind}`)).join(', '));
    resources.push(...found);
  }
  return { resources, unknown };
}
