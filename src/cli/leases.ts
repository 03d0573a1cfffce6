// `kubectl suture leases`: who owns what. From the SutureLeases as the API server has them (status written by
// Suture's lease reconciler), one view per lease — holder, scope, fields, phase, the leases it conflicts with and the
// queue: the Conflicted leases waiting behind a Granted one, in the order they will be granted (the older lease wins,
// then the name; docs/concepts.md, Leases). Printed as a kubectl-style table, as data (-o json|yaml), or as a graph
// (Graphviz DOT or Mermaid) of holders, leases, scopes and who waits for whom. Pure: leases and the time come in.
import type { LabelSelector, LeaseResource, SutureLease } from '../api/types.js';
import { age, renderTable } from './output.js';

export interface QueuePlace {
  /** The Granted lease waited for, `namespace/name`. */
  readonly behind: string;
  /** 1 = granted next when `behind` goes away. */
  readonly position: number;
}

export interface LeaseView {
  readonly namespace: string;
  readonly name: string;
  /** The holder as Kubernetes names it: system:serviceaccount:<ns>:<name>, a user or group name. */
  readonly holder: string;
  readonly access: string;
  readonly enforce: string;
  readonly phase: string;
  /** One line per entry of spec.resources: `<Kind>[.<group>] <namespaces>/<names>`. */
  readonly scopes: readonly string[];
  /** Leased JSON pointers; empty = whole objects. */
  readonly fields: readonly string[];
  /** `namespace/name` of the leases status.conflictsWith names. */
  readonly conflictsWith: readonly string[];
  /** For a Granted lease: the leases waiting behind it, next first. */
  readonly waiting: readonly string[];
  /** For a waiting lease: where it stands behind each lease it conflicts with that is Granted. */
  readonly queue: readonly QueuePlace[];
  readonly createdAt?: string;
  readonly grantedAt?: string;
  readonly expiresAt?: string;
  readonly rbac: string;
  /** The LeastPrivilege condition's reason (Audited rights) when Suture wrote one. */
  readonly leastPrivilege?: string;
  /** Entries of status.excessPermissions. */
  readonly excessPermissions: number;
}

function key(lease: SutureLease): string {
  return `${lease.metadata.namespace ?? ''}/${lease.metadata.name ?? ''}`;
}

/** The holder as Kubernetes names the identity (what `--as` takes). */
export function holderName(holder: SutureLease['spec']['holder']): string {
  if (holder.kind === 'ServiceAccount') return `system:serviceaccount:${holder.namespace ?? ''}:${holder.name}`;
  return holder.kind === 'Group' ? `group:${holder.name}` : holder.name;
}

/** A label selector as kubectl prints one: `app=pg,tier in (a,b),!legacy`. */
export function selectorText(selector: LabelSelector): string {
  const labels = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  const expressions = (selector.matchExpressions ?? []).map((e) => {
    if (e.operator === 'Exists') return e.key;
    if (e.operator === 'DoesNotExist') return `!${e.key}`;
    return `${e.key} ${e.operator === 'In' ? 'in' : 'notin'} (${(e.values ?? []).join(',')})`;
  });
  return [...labels, ...expressions].join(',');
}

function any(list: readonly string[] | undefined): boolean {
  return list === undefined || list.length === 0 || list.includes('*');
}

function kindsText(r: LeaseResource): string {
  const groups = any(r.apiGroups) ? '' : (r.apiGroups ?? []).filter((g) => g !== '').join('|');
  const kinds = any(r.kinds) ? '*' : (r.kinds ?? []).join(',');
  return groups === '' ? kinds : `${kinds}.${groups}`;
}

function namespacesText(r: LeaseResource): string {
  if (r.namespaceSelector !== undefined) return `{ns: ${selectorText(r.namespaceSelector)}}`;
  return any(r.namespaces) ? '*' : (r.namespaces ?? []).join(',');
}

function objectsText(r: LeaseResource): string {
  const names = [...(r.names ?? []), ...(r.namePrefixes ?? []).map((p) => `${p}*`)].join(',');
  const selector = r.selector === undefined ? '' : `{${selectorText(r.selector)}}`;
  const which = [names, selector].filter((s) => s !== '').join(' ');
  return which === '' ? '*' : which;
}

/** One entry of spec.resources in a line: `StatefulSet.apps prod/{app=pg}`, `PersistentVolumeClaim prod/pg-*`. */
export function scopeText(r: LeaseResource): string {
  return `${kindsText(r)} ${namespacesText(r)}/${objectsText(r)}`;
}

function created(lease: SutureLease): string {
  return lease.metadata.creationTimestamp ?? '';
}

/** The grant order: the older lease first, then by namespace/name (as Suture grants them). */
function grantOrder(a: SutureLease, b: SutureLease): number {
  return created(a).localeCompare(created(b)) || key(a).localeCompare(key(b));
}

function conflictKeys(lease: SutureLease): string[] {
  return (lease.status?.conflictsWith ?? []).map((c) => `${c.namespace}/${c.name}`);
}

/** For each Granted lease, the Conflicted leases that name it, in grant order. */
export function queues(leases: readonly SutureLease[]): Map<string, string[]> {
  const granted = new Set(leases.filter((l) => l.status?.phase === 'Granted').map(key));
  const out = new Map<string, string[]>();
  for (const lease of [...leases].sort(grantOrder)) {
    if (lease.status?.phase !== 'Conflicted') continue;
    for (const rival of conflictKeys(lease).filter((k) => granted.has(k))) out.set(rival, [...(out.get(rival) ?? []), key(lease)]);
  }
  return out;
}

/** The optional parts of a view: timestamps and the LeastPrivilege condition. */
function times(lease: SutureLease): Pick<LeaseView, 'createdAt' | 'grantedAt' | 'expiresAt' | 'leastPrivilege'> {
  const condition = lease.status?.conditions?.find((c) => c.type === 'LeastPrivilege');
  const created = lease.metadata.creationTimestamp;
  const status = lease.status ?? {};
  return {
    ...(created === undefined ? {} : { createdAt: created }),
    ...(status.grantedAt === undefined ? {} : { grantedAt: status.grantedAt }),
    ...(status.expiresAt === undefined ? {} : { expiresAt: status.expiresAt }),
    ...(condition === undefined ? {} : { leastPrivilege: `${condition.status === 'True' ? '' : '!'}${condition.reason}` }),
  };
}

function queuePlaces(lease: SutureLease, waitingBehind: ReadonlyMap<string, string[]>): QueuePlace[] {
  return conflictKeys(lease).flatMap((behind) => {
    const position = (waitingBehind.get(behind) ?? []).indexOf(key(lease)) + 1;
    return position > 0 ? [{ behind, position }] : [];
  });
}

function view(lease: SutureLease, waitingBehind: ReadonlyMap<string, string[]>): LeaseView {
  const spec = lease.spec;
  return {
    namespace: lease.metadata.namespace ?? '',
    name: lease.metadata.name ?? '',
    holder: holderName(spec.holder),
    access: spec.access ?? 'Exclusive',
    enforce: spec.enforce ?? 'ServiceAccounts',
    phase: lease.status?.phase ?? 'Pending',
    scopes: spec.resources.map(scopeText),
    fields: [...new Set(spec.resources.flatMap((r) => r.fields ?? []))],
    conflictsWith: conflictKeys(lease),
    waiting: waitingBehind.get(key(lease)) ?? [],
    queue: queuePlaces(lease, waitingBehind),
    ...times(lease),
    rbac: spec.rbac ?? 'Generate',
    excessPermissions: lease.status?.excessPermissions?.length ?? 0,
  };
}

/** Views of `leases`, sorted by namespace and name; queues are computed over every lease given. */
export function leaseViews(leases: readonly SutureLease[], namespace?: string): LeaseView[] {
  const waiting = queues(leases);
  return leases
    .filter((l) => namespace === undefined || l.metadata.namespace === namespace)
    .map((l) => view(l, waiting))
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}

/** The QUEUE cell: "2 waiting" for a Granted lease, "#1 behind db/pg" for a waiting one. */
export function queueText(v: LeaseView): string {
  if (v.waiting.length > 0) return `${v.waiting.length} waiting`;
  return v.queue.map((q) => `#${q.position} behind ${q.behind}`).join(', ');
}

export interface TableOptions {
  readonly wide: boolean;
  /** Add the NAMESPACE column (-A). */
  readonly allNamespaces: boolean;
  readonly now: number;
}

/** The table: NAME HOLDER ACCESS PHASE RESOURCES FIELDS CONFLICTS QUEUE AGE (+ ENFORCE RBAC LEAST-PRIVILEGE WAITING EXPIRES wide). */
export function leasesTable(views: readonly LeaseView[], options: TableOptions): string[] {
  const headers = ['NAME', 'HOLDER', 'ACCESS', 'PHASE', 'RESOURCES', 'FIELDS', 'CONFLICTS', 'QUEUE', 'AGE'];
  const wide = ['ENFORCE', 'RBAC', 'LEAST-PRIVILEGE', 'WAITING', 'EXPIRES'];
  const rows = views.map((v) => {
    const row = [v.name, v.holder, v.access, v.phase, v.scopes.join('; '), v.fields.length === 0 ? '*' : v.fields.join(','), v.conflictsWith.join(','), queueText(v), age(v.createdAt, options.now)];
    const more = [v.enforce, v.rbac, v.leastPrivilege ?? '', v.waiting.join(','), v.expiresAt ?? ''];
    const all = options.wide ? [...row, ...more] : row;
    return options.allNamespaces ? [v.namespace, ...all] : all;
  });
  const head = options.wide ? [...headers, ...wide] : headers;
  return renderTable(options.allNamespaces ? ['NAMESPACE', ...head] : head, rows);
}

// ------------------------------------------------------------------------------------------------ graph

export const GRAPH_FORMATS = ['dot', 'mermaid'] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

interface Graph {
  holders: string[];
  leases: LeaseView[];
  scopes: string[];
  holds: [string, string][];
  covers: [string, string][];
  waits: { from: string; to: string; position: number }[];
}

function graphOf(views: readonly LeaseView[]): Graph {
  const graph: Graph = { holders: [], leases: [...views], scopes: [], holds: [], covers: [], waits: [] };
  for (const v of views) {
    const k = `${v.namespace}/${v.name}`;
    if (!graph.holders.includes(v.holder)) graph.holders.push(v.holder);
    graph.holds.push([v.holder, k]);
    for (const s of v.scopes) {
      if (!graph.scopes.includes(s)) graph.scopes.push(s);
      graph.covers.push([k, s]);
    }
    for (const q of v.queue) graph.waits.push({ from: k, to: q.behind, position: q.position });
  }
  return graph;
}

function dotString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

function leaseLabel(v: LeaseView): string {
  const fields = v.fields.length === 0 ? '' : `\n${v.fields.join(', ')}`;
  return `${v.namespace}/${v.name}\n${v.access} · ${v.phase}${fields}`;
}

const PHASE_COLOR: Record<string, string> = { Granted: 'darkgreen', Conflicted: 'orange', Pending: 'gray', Expired: 'gray', Invalid: 'red' };

/** Graphviz DOT: holders (boxes) hold leases (ellipses, coloured by phase) that cover scopes (notes); waits dashed. */
export function leasesDot(views: readonly LeaseView[]): string[] {
  const g = graphOf(views);
  const lines = ['digraph suture_leases {', '  rankdir=LR;', '  node [fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=9];'];
  for (const h of g.holders) lines.push(`  ${dotString(`holder:${h}`)} [shape=box, label=${dotString(h)}];`);
  for (const v of g.leases) {
    const color = PHASE_COLOR[v.phase] ?? 'black';
    lines.push(`  ${dotString(`lease:${v.namespace}/${v.name}`)} [shape=ellipse, color=${color}, label=${dotString(leaseLabel(v))}];`);
  }
  for (const s of g.scopes) lines.push(`  ${dotString(`scope:${s}`)} [shape=note, label=${dotString(s)}];`);
  for (const [h, l] of g.holds) lines.push(`  ${dotString(`holder:${h}`)} -> ${dotString(`lease:${l}`)} [label="holds"];`);
  for (const [l, s] of g.covers) lines.push(`  ${dotString(`lease:${l}`)} -> ${dotString(`scope:${s}`)} [label="covers"];`);
  const shown = new Set(g.leases.map((v) => `${v.namespace}/${v.name}`));
  for (const w of g.waits.filter((x) => shown.has(x.to))) lines.push(`  ${dotString(`lease:${w.from}`)} -> ${dotString(`lease:${w.to}`)} [label=${dotString(`waits #${w.position}`)}, style=dashed, color=orange];`);
  lines.push('}');
  return lines;
}

function mermaidText(s: string): string {
  return `"${s.replace(/"/g, '#quot;').replace(/\n/g, '<br/>')}"`;
}

/** Mermaid flowchart of the same graph (renders in GitHub and GitLab Markdown). */
export function leasesMermaid(views: readonly LeaseView[]): string[] {
  const g = graphOf(views);
  const ids = new Map<string, string>();
  g.holders.forEach((h, i) => ids.set(`holder:${h}`, `h${i}`));
  g.leases.forEach((v, i) => ids.set(`lease:${v.namespace}/${v.name}`, `l${i}`));
  g.scopes.forEach((s, i) => ids.set(`scope:${s}`, `s${i}`));
  const id = (k: string): string => ids.get(k) ?? k;
  const lines = ['flowchart LR'];
  for (const h of g.holders) lines.push(`  ${id(`holder:${h}`)}[${mermaidText(h)}]`);
  for (const v of g.leases) lines.push(`  ${id(`lease:${v.namespace}/${v.name}`)}([${mermaidText(leaseLabel(v))}]):::${v.phase.toLowerCase()}`);
  for (const s of g.scopes) lines.push(`  ${id(`scope:${s}`)}[/${mermaidText(s)}/]`);
  for (const [h, l] of g.holds) lines.push(`  ${id(`holder:${h}`)} -->|holds| ${id(`lease:${l}`)}`);
  for (const [l, s] of g.covers) lines.push(`  ${id(`lease:${l}`)} --> ${id(`scope:${s}`)}`);
  // A waited-for lease outside the views (another namespace with -n) is left out rather than drawn unnamed.
  for (const w of g.waits.filter((x) => ids.has(`lease:${x.to}`))) lines.push(`  ${id(`lease:${w.from}`)} -.->|waits #${w.position}| ${id(`lease:${w.to}`)}`);
  lines.push('  classDef granted stroke:#2e7d32,stroke-width:2px;', '  classDef conflicted stroke:#ef6c00,stroke-dasharray:4;', '  classDef invalid stroke:#c62828;');
  return lines;
}

export function leasesGraph(views: readonly LeaseView[], format: GraphFormat): string[] {
  return format === 'dot' ? leasesDot(views) : leasesMermaid(views);
}
