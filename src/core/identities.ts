// No identity laundering (docs/concepts.md, Identities): a governed identity may not create or empower an ungoverned one.
// Service accounts of exempt namespaces (kube-system, Suture's own) are not governed, so a governed identity may not
// create them, request their tokens, run anything as them (every pod in a namespace runs as one of its service
// accounts), change RBAC inside those namespaces, or bind any role to an exempt subject anywhere. Built in: it holds
// whether or not the guardrail pack is installed. Pure.
import type { KubeObject } from '../api/types.js';
import type { AdmissionRequest, IdentityConfig } from './types.js';

/** The name an exception's `policies` uses to lift these checks (a platform team's own GitOps into kube-system). */
export const IDENTITIES_POLICY = 'suture-identities';

const SA_PREFIX = 'system:serviceaccount:';
const SA_GROUP_PREFIX = 'system:serviceaccounts:';
/** Groups every service account belongs to, exempt ones included. */
const EVERYONE_GROUPS = new Set(['system:serviceaccounts', 'system:authenticated', 'system:unauthenticated']);

/** Resources whose objects run pods (directly or through a controller) as a service account of their namespace. */
const RUNS_PODS: ReadonlySet<string> = new Set([
  '/pods',
  '/podtemplates',
  '/replicationcontrollers',
  'apps/daemonsets',
  'apps/deployments',
  'apps/replicasets',
  'apps/statefulsets',
  'batch/cronjobs',
  'batch/jobs',
]);

interface RbacSubject {
  kind?: string;
  name?: string;
  namespace?: string;
}

function subjectsOf(o: KubeObject | null | undefined): RbacSubject[] {
  const subjects = o?.['subjects'];
  return Array.isArray(subjects) ? (subjects as RbacSubject[]) : [];
}

function exemptUser(name: string, ids: IdentityConfig): string | undefined {
  if (ids.exemptUsers.includes(name)) return `exempt user ${name}`;
  if (!name.startsWith(SA_PREFIX)) return undefined;
  const ns = name.slice(SA_PREFIX.length).split(':')[0] ?? '';
  return ids.exemptNamespaces.includes(ns) ? `user ${name}` : undefined;
}

function exemptGroup(name: string, ids: IdentityConfig): string | undefined {
  if (ids.exemptGroups.includes(name)) return `exempt group ${name}`;
  if (EVERYONE_GROUPS.has(name)) return `group ${name} (it includes the exempt service accounts)`;
  const exemptSas = name.startsWith(SA_GROUP_PREFIX) && ids.exemptNamespaces.includes(name.slice(SA_GROUP_PREFIX.length));
  return exemptSas ? `group ${name}` : undefined;
}

/** Why an RBAC subject is (or includes) an ungoverned identity, or undefined. */
function exemptSubject(s: RbacSubject, ids: IdentityConfig, bindingNamespace: string | undefined): string | undefined {
  const name = s.name ?? '';
  if (s.kind === 'User') return exemptUser(name, ids);
  if (s.kind === 'Group') return exemptGroup(name, ids);
  if (s.kind !== 'ServiceAccount') return undefined;
  const ns = s.namespace ?? bindingNamespace ?? '';
  return ids.exemptNamespaces.includes(ns) ? `service account ${ns}/${name}` : undefined;
}

function serviceAccountOfPodSpec(o: KubeObject | null | undefined): string {
  const find = (v: unknown, depth: number): string | undefined => {
    if (v === null || typeof v !== 'object' || depth > 6) return undefined;
    const rec = v as Record<string, unknown>;
    if (Array.isArray(rec['containers'])) return typeof rec['serviceAccountName'] === 'string' ? rec['serviceAccountName'] : 'default';
    for (const key of ['spec', 'template', 'jobTemplate']) {
      const found = find(rec[key], depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return find(o, 0) ?? 'default';
}

interface Write {
  request: AdmissionRequest;
  /** "group/resource" */
  resource: string;
  sub: string;
  ns: string;
  name: string;
}

/** The writes into an exempt namespace that create or empower its identities, each with what it would do. */
const INTO_EXEMPT: readonly { applies: (w: Write) => boolean; what: (w: Write) => string }[] = [
  { applies: (w) => w.resource === '/serviceaccounts' && w.sub === 'token', what: (w) => `request a token of service account ${w.ns}/${w.name}` },
  { applies: (w) => w.resource === '/serviceaccounts' && w.sub === '' && w.request.operation === 'CREATE', what: (w) => `create service account ${w.ns}/${w.name}` },
  {
    applies: (w) => w.resource === '/secrets' && w.request.operation === 'CREATE' && w.request.object?.['type'] === 'kubernetes.io/service-account-token',
    what: (w) => `create a token Secret ${w.ns}/${w.name} for a service account there`,
  },
  {
    applies: (w) => RUNS_PODS.has(w.resource) && (w.sub === '' || w.sub === 'ephemeralcontainers'),
    what: (w) => `run pods as service account ${w.ns}/${serviceAccountOfPodSpec(w.request.object)} (${w.request.kind.kind} ${w.ns}/${w.name})`,
  },
  {
    applies: (w) => w.resource === 'rbac.authorization.k8s.io/roles' || w.resource === 'rbac.authorization.k8s.io/rolebindings',
    what: (w) => `change the rights of service accounts of ${w.ns} (${w.request.kind.kind} ${w.ns}/${w.name})`,
  },
];

const BINDINGS = new Set(['rbac.authorization.k8s.io/rolebindings', 'rbac.authorization.k8s.io/clusterrolebindings']);

function writeOf(request: AdmissionRequest): Write {
  const meta = request.object?.metadata;
  return {
    request,
    resource: `${request.resource.group}/${request.resource.resource}`,
    sub: request.subResource ?? '',
    ns: request.namespace ?? '',
    name: request.name ?? meta?.name ?? meta?.generateName ?? '',
  };
}

function bindingViolation(w: Write, ids: IdentityConfig): string | undefined {
  if (!BINDINGS.has(w.resource) || w.sub !== '') return undefined;
  const bound = subjectsOf(w.request.object)
    .map((s) => exemptSubject(s, ids, w.request.namespace))
    .filter((x): x is string => x !== undefined);
  return bound.length === 0 ? undefined : `would bind ${bound.join(', ')}, which ${bound.length === 1 ? 'is' : 'are'} not governed`;
}

/**
 * What a governed requester's write would do to create or empower an ungoverned identity: one line each, empty when
 * nothing. Only CREATE and UPDATE can; the caller has established that the requester is governed.
 */
export function launderingViolations(request: AdmissionRequest, ids: IdentityConfig): string[] {
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return [];
  const w = writeOf(request);
  const out: string[] = [];
  const into = ids.exemptNamespaces.includes(w.ns) ? INTO_EXEMPT.find((c) => c.applies(w)) : undefined;
  if (into !== undefined) out.push(`would ${into.what(w)}; identities of namespace ${w.ns} are not governed, so a governed identity may not create or empower them`);
  const binding = bindingViolation(w, ids);
  if (binding !== undefined) out.push(binding);
  return out;
}
