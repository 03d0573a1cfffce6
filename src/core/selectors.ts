// Matching objects and identities: label selectors (structured and kubectl's string form), Suture's object
// selectors, and RBAC-shaped subjects. Each check is a small named function that says why it did not match.
import type { KubeObject, LabelSelector, ObjectSelector, Subject } from '../api/types.js';
import { groupOf } from './snapshot.js';
import type { Snapshot, UserInfo } from './types.js';

type Labels = Readonly<Record<string, string>>;
type Requirement = NonNullable<LabelSelector['matchExpressions']>[number];

/** A reason when the check fails, undefined when it passes. */
export type Mismatch = string | undefined;

// ------------------------------------------------------------------------------------------------ label selectors

function valueIn(req: Requirement, labels: Labels): boolean {
  const value = labels[req.key];
  return value !== undefined && Object.hasOwn(labels, req.key) && (req.values ?? []).includes(value);
}

/** Each operator: whether the labels satisfy it, and why not. */
const OPERATORS: Record<Requirement['operator'], { holds: (req: Requirement, labels: Labels) => boolean; why: (req: Requirement, labels: Labels) => string }> = {
  In: { holds: valueIn, why: (req) => `label ${req.key} not in (${(req.values ?? []).join(',')})` },
  NotIn: { holds: (req, labels) => !valueIn(req, labels), why: (req, labels) => `label ${req.key}=${labels[req.key] ?? ''} is excluded` },
  Exists: { holds: (req, labels) => Object.hasOwn(labels, req.key), why: (req) => `label ${req.key} missing` },
  DoesNotExist: { holds: (req, labels) => !Object.hasOwn(labels, req.key), why: (req) => `label ${req.key} present` },
};

function requirementHolds(req: Requirement, labels: Labels): boolean {
  return Object.hasOwn(OPERATORS, req.operator) && OPERATORS[req.operator].holds(req, labels);
}

function requirementMismatch(req: Requirement, labels: Labels): Mismatch {
  if (!Object.hasOwn(OPERATORS, req.operator)) return `unknown operator ${String(req.operator)}`;
  const op = OPERATORS[req.operator];
  return op.holds(req, labels) ? undefined : op.why(req, labels);
}

const NO_LABELS: Labels = Object.freeze({});

/**
 * Whether the labels satisfy the selector (Kubernetes semantics: matchLabels and every matchExpression must hold;
 * NotIn also matches an absent label; an empty or absent selector matches everything).
 */
export function matchesLabelSelector(selector: LabelSelector | undefined, labels: Labels | undefined): boolean {
  if (selector === undefined) return true;
  const have = labels ?? NO_LABELS;
  if (selector.matchLabels !== undefined) {
    for (const key in selector.matchLabels) if (have[key] !== selector.matchLabels[key]) return false;
  }
  return (selector.matchExpressions ?? []).every((req) => requirementHolds(req, have));
}

/** Why the labels do not satisfy the selector; undefined when they do (see matchesLabelSelector). */
export function labelSelectorMismatch(selector: LabelSelector | undefined, labels: Labels | undefined): Mismatch {
  if (selector === undefined) return undefined;
  const have = labels ?? NO_LABELS;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (have[key] !== value) return `label ${key} is not ${value}`;
  }
  for (const req of selector.matchExpressions ?? []) {
    const why = requirementMismatch(req, have);
    if (why !== undefined) return why;
  }
  return undefined;
}

// -------------------------------------------------------------------------------------- kubectl string selectors

/** A selector string that does not parse; the message names the offending term and the expected forms. */
export class SelectorSyntaxError extends Error {
  override readonly name = 'SelectorSyntaxError';
}

/** Splits on commas outside parentheses: "a in (x,y),b" → ["a in (x,y)", "b"]. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms.map((t) => t.trim());
}

const KEY = String.raw`[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?`;
const VALUE = String.raw`([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;
const SET_TERM = new RegExp(String.raw`^(${KEY})\s+(in|notin)\s*\(([^()]*)\)$`);
const EQUALITY_TERM = new RegExp(String.raw`^(${KEY})\s*(==|=|!=)\s*(${VALUE})$`);
const EXISTS_TERM = new RegExp(String.raw`^(!?)\s*(${KEY})$`);

function parseValues(list: string, term: string): string[] {
  const values = list.split(',').map((v) => v.trim());
  const valueRe = new RegExp(`^${VALUE}$`);
  const bad = values.find((v) => !valueRe.test(v));
  if (bad !== undefined) throw new SelectorSyntaxError(`invalid label value "${bad}" in selector term "${term}"`);
  return values;
}

function parseTerm(term: string): Requirement {
  const set = SET_TERM.exec(term);
  if (set !== null) {
    return { key: set[1] ?? '', operator: set[3] === 'in' ? 'In' : 'NotIn', values: parseValues(set[4] ?? '', term) };
  }
  const eq = EQUALITY_TERM.exec(term);
  if (eq !== null) return { key: eq[1] ?? '', operator: eq[3] === '!=' ? 'NotIn' : 'In', values: [eq[4] ?? ''] };
  const exists = EXISTS_TERM.exec(term);
  if (exists !== null) return { key: exists[2] ?? '', operator: exists[1] === '!' ? 'DoesNotExist' : 'Exists' };
  throw new SelectorSyntaxError(
    `invalid selector term "${term}": expected key=value, key==value, key!=value, key in (a,b), key notin (a,b), key or !key`,
  );
}

/**
 * Parses kubectl's selector syntax (`app=pg,tier in (a,b),!x,y`) into a LabelSelector of matchExpressions.
 * "" (or only spaces) selects everything. Throws SelectorSyntaxError.
 */
export function parseLabelSelector(text: string): LabelSelector {
  if (text.trim() === '') return {};
  return { matchExpressions: splitTerms(text).map(parseTerm) };
}

// --------------------------------------------------------------------------------------------- object selectors

function inList(allowed: readonly string[] | undefined, value: string): boolean {
  return allowed === undefined || allowed.length === 0 || allowed.includes(value) || allowed.includes('*');
}

function notInList(what: string, allowed: readonly string[], value: string): string {
  const show = (v: string): string => (v === '' ? '""' : v);
  return `${what} ${show(value)} not in [${allowed.map(show).join(', ')}]`;
}

function isNamespaceObject(obj: KubeObject): boolean {
  return obj.kind === 'Namespace' && groupOf(obj.apiVersion) === '';
}

/**
 * The namespace an object belongs to for `namespaces` and `namespaceSelector`: its own name for a Namespace (as
 * Gatekeeper and Kyverno do), "" for any other cluster-scoped object.
 */
export function namespaceForMatching(obj: KubeObject): string {
  if (isNamespaceObject(obj)) return obj.metadata.name ?? '';
  return obj.metadata.namespace ?? '';
}

/**
 * The labels a namespaceSelector is judged on: a namespaced object's namespace's (none known: no labels), a
 * Namespace's own; null for any other cluster-scoped object, which never matches a namespaceSelector.
 */
function namespaceLabelsFor(obj: KubeObject, snapshot: Snapshot): Labels | undefined | null {
  if (isNamespaceObject(obj)) return obj.metadata.labels;
  const namespace = obj.metadata.namespace ?? '';
  return namespace === '' ? null : snapshot.namespaceLabels(namespace);
}

/** The name used for prefixes: the name, or for a CREATE with generateName only, the generateName. */
function nameForPrefix(obj: KubeObject): string {
  const name = obj.metadata.name ?? '';
  return name === '' ? (obj.metadata.generateName ?? '') : name;
}

/** One field of an object selector: whether the object passes it (fast), and why not (for explanations). */
interface SelectorCheck {
  passes(sel: ObjectSelector, obj: KubeObject, snapshot: Snapshot): boolean;
  why(sel: ObjectSelector, obj: KubeObject, snapshot: Snapshot): string;
}

const apiGroupsCheck: SelectorCheck = {
  passes: (sel, obj) => inList(sel.apiGroups, groupOf(obj.apiVersion)),
  why: (sel, obj) => notInList('apiGroup', sel.apiGroups ?? [], groupOf(obj.apiVersion)),
};

const kindsCheck: SelectorCheck = {
  passes: (sel, obj) => inList(sel.kinds, obj.kind),
  why: (sel, obj) => notInList('kind', sel.kinds ?? [], obj.kind),
};

const namespacesCheck: SelectorCheck = {
  passes: (sel, obj) => sel.namespaces === undefined || sel.namespaces.length === 0 || (namespaceForMatching(obj) !== '' && inList(sel.namespaces, namespaceForMatching(obj))),
  why: (sel, obj) =>
    namespaceForMatching(obj) === '' ? 'cluster-scoped object, selector names namespaces' : notInList('namespace', sel.namespaces ?? [], namespaceForMatching(obj)),
};

const namesCheck: SelectorCheck = {
  passes: (sel, obj) => inList(sel.names, obj.metadata.name ?? ''),
  why: (sel, obj) => notInList('name', sel.names ?? [], obj.metadata.name ?? ''),
};

const namePrefixesCheck: SelectorCheck = {
  passes: (sel, obj) => sel.namePrefixes === undefined || sel.namePrefixes.length === 0 || sel.namePrefixes.some((p) => nameForPrefix(obj).startsWith(p)),
  why: (sel, obj) => `name ${nameForPrefix(obj)} has none of the prefixes [${(sel.namePrefixes ?? []).join(', ')}]`,
};

const labelsCheck: SelectorCheck = {
  passes: (sel, obj) => matchesLabelSelector(sel.selector, obj.metadata.labels),
  why: (sel, obj) => `selector: ${labelSelectorMismatch(sel.selector, obj.metadata.labels) ?? ''}`,
};

const namespaceSelectorCheck: SelectorCheck = {
  passes: (sel, obj, snapshot) => {
    if (sel.namespaceSelector === undefined) return true;
    const labels = namespaceLabelsFor(obj, snapshot);
    return labels !== null && matchesLabelSelector(sel.namespaceSelector, labels);
  },
  why: (sel, obj, snapshot) => {
    const labels = namespaceLabelsFor(obj, snapshot);
    if (labels === null) return 'cluster-scoped object, selector has a namespaceSelector';
    return `namespace ${namespaceForMatching(obj)}: ${labelSelectorMismatch(sel.namespaceSelector, labels) ?? ''}`;
  },
};

/** In order: cheap checks first, the namespace lookup last. */
const OBJECT_CHECKS: readonly SelectorCheck[] = [apiGroupsCheck, kindsCheck, namespacesCheck, namesCheck, namePrefixesCheck, labelsCheck, namespaceSelectorCheck];

/**
 * Whether an object matches an object selector. Every field must hold; an empty field matches any. apiGroups: "" =
 * core, "*" = any; kinds, namespaces and names: "*" = any; namePrefixes also match a generateName. `namespaces` and
 * `namespaceSelector` judge a Namespace by its own name and labels (as Gatekeeper and Kyverno do) and never match
 * other cluster-scoped objects; a namespace the snapshot does not hold has no labels.
 */
export function matchesObjectSelector(sel: ObjectSelector, obj: KubeObject, snapshot: Snapshot): boolean {
  for (const check of OBJECT_CHECKS) if (!check.passes(sel, obj, snapshot)) return false;
  return true;
}

/** The fields judged on an object's group, kind and namespace alone (for objects other than Namespaces). */
const GROUP_CHECKS: readonly SelectorCheck[] = [apiGroupsCheck, kindsCheck, namespacesCheck, namespaceSelectorCheck];

function hasEntries(list: readonly string[] | undefined): boolean {
  return list !== undefined && list.length > 0 && !list.includes('*');
}

function selectsByLabels(sel: LabelSelector | undefined): boolean {
  return sel !== undefined && (Object.keys(sel.matchLabels ?? {}).length > 0 || (sel.matchExpressions ?? []).length > 0);
}

/** Whether a selector matches none, all, or only some of the objects sharing one group, kind and namespace. */
export type GroupVerdict = 'none' | 'all' | 'some';

/**
 * Judges a selector once for every object of the same group, kind and namespace as `representative`: 'none' when
 * the group, kind or namespace fields exclude them, 'all' when no name or label field is left to tell them apart,
 * 'some' otherwise (then test each object). A Namespace is judged by its own name and labels: 'some' unless its
 * group or kind is excluded.
 */
export function selectorGroupVerdict(sel: ObjectSelector, representative: KubeObject, snapshot: Snapshot): GroupVerdict {
  if (isNamespaceObject(representative)) return apiGroupsCheck.passes(sel, representative, snapshot) && kindsCheck.passes(sel, representative, snapshot) ? 'some' : 'none';
  for (const check of GROUP_CHECKS) if (!check.passes(sel, representative, snapshot)) return 'none';
  return hasEntries(sel.names) || (sel.namePrefixes ?? []).length > 0 || selectsByLabels(sel.selector) ? 'some' : 'all';
}

/** Why an object does not match an object selector (the first failing field), or undefined when it does. */
export function objectSelectorMismatch(sel: ObjectSelector, obj: KubeObject, snapshot: Snapshot): Mismatch {
  const failing = OBJECT_CHECKS.find((check) => !check.passes(sel, obj, snapshot));
  return failing?.why(sel, obj, snapshot);
}

// ---------------------------------------------------------------------------------------------------- subjects

const SA_PREFIX = 'system:serviceaccount:';

/** The service account behind a username `system:serviceaccount:<namespace>:<name>`, if it is one. */
export function serviceAccountOf(user: UserInfo): { namespace: string; name: string } | undefined {
  if (!user.username.startsWith(SA_PREFIX)) return undefined;
  const rest = user.username.slice(SA_PREFIX.length);
  const colon = rest.indexOf(':');
  if (colon <= 0 || colon === rest.length - 1) return undefined;
  return { namespace: rest.slice(0, colon), name: rest.slice(colon + 1) };
}

function serviceAccountMismatch(subject: Subject, user: UserInfo): Mismatch {
  const sa = serviceAccountOf(user);
  if (sa === undefined) return `${user.username} is not a service account`;
  if (sa.namespace !== subject.namespace) return `service account ${user.username} is not in namespace ${subject.namespace ?? '(none)'}`;
  return subject.name === '*' || subject.name === sa.name ? undefined : `${user.username} is not ${subjectName(subject)}`;
}

function userMismatch(subject: Subject, user: UserInfo): Mismatch {
  return subject.name === '*' || subject.name === user.username ? undefined : `${user.username} is not user ${subject.name}`;
}

function groupMismatch(subject: Subject, user: UserInfo): Mismatch {
  return subject.name === '*' || (user.groups ?? []).includes(subject.name) ? undefined : `${user.username} is not in group ${subject.name}`;
}

/** Why the user is not the subject, or undefined when it is. */
export function subjectMismatch(subject: Subject, user: UserInfo): Mismatch {
  if (subject.kind === 'ServiceAccount') return serviceAccountMismatch(subject, user);
  if (subject.kind === 'User') return userMismatch(subject, user);
  if (subject.kind === 'Group') return groupMismatch(subject, user);
  return `unknown subject kind ${String(subject.kind)}`;
}

/**
 * Whether the user is the subject: a ServiceAccount by its username `system:serviceaccount:<ns>:<name>` (name "*" =
 * any service account of the namespace), a User by name, a Group by membership ("*" = any user / any group).
 */
export function subjectMatches(subject: Subject, user: UserInfo): boolean {
  return subjectMismatch(subject, user) === undefined;
}

/** A subject as a user would read it: `system:serviceaccount:ns:name`, `user alice`, `group ops`. */
export function subjectName(subject: Subject): string {
  if (subject.kind === 'ServiceAccount') return `${SA_PREFIX}${subject.namespace ?? ''}:${subject.name}`;
  return `${subject.kind === 'User' ? 'user' : 'group'} ${subject.name}`;
}
