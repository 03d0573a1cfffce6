// A small misbehaving operator: the postgres operator of examples/leases/postgres-operator.yaml, running as its own
// service account (a TokenRequest token, exactly what a pod of the operator would present) with the broad RBAC real
// operators ship with (cluster-admin). It does its normal work, which Suture must allow, and then the harmful things
// of the incidents test/scenarios replays, which Suture must deny with an explanation. `make demo` runs it after applying
// examples/; on its own:
//
//   npx tsx examples/misbehaving-operator.ts --kubeconfig <admin kubeconfig of a cluster prepared by the demo>
//
// Each action prints one line: what it tried, ALLOWED or DENIED, and for a denial Suture's own message. The exit
// code (and runMisbehavingOperator's result) says whether every outcome was the expected one.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { RawObjectApi } from '../src/kube/client.js';
import { serviceAccountKubeConfig, serviceAccountUser } from '../test/controlplane/service-account.js';

/** Who the operator is. */
export const OPERATOR = { namespace: 'db-system', name: 'postgres-operator' } as const;
export const OPERATOR_USER = serviceAccountUser(OPERATOR);
/** The label Suture stamps on objects the holder creates inside its lease (`<namespace>.<name>` of the lease). */
const LEASE_STAMP = 'suture.dev/lease';

type Method = 'POST' | 'PATCH' | 'DELETE';
type Verdict = 'ALLOWED' | 'DENIED';

interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
}

/** One request the operator makes, and what Suture is expected to do with it. */
interface Action {
  /** What the operator tries, in words, e.g. `delete PersistentVolumeClaim prod/pg-data-0`. */
  readonly tried: string;
  /** Why it matters, shown after an allowed action. */
  readonly why: string;
  readonly expect: Verdict;
  readonly method: Method;
  readonly path: string;
  readonly body?: unknown;
  readonly contentType?: string;
  /** For allowed actions: a further expectation on the response (e.g. the lease stamp); a problem in words, or undefined. */
  readonly check?: (body: unknown) => string | undefined;
}

export interface ActionResult {
  readonly tried: string;
  readonly expected: Verdict;
  readonly got: Verdict | 'ERROR';
  /** Suture's message for a denial; the error for anything else that failed. */
  readonly message: string;
  readonly ok: boolean;
}

const MERGE = 'application/merge-patch+json';

function labelsOf(body: unknown): Record<string, string> {
  return (body as { metadata?: { labels?: Record<string, string> } } | undefined)?.metadata?.labels ?? {};
}

function stamped(expected: string): (body: unknown) => string | undefined {
  return (body) => {
    const value = labelsOf(body)[LEASE_STAMP];
    return value === expected ? undefined : `expected the label ${LEASE_STAMP}=${expected}, got ${value ?? 'none'}`;
  };
}

/** The operator's day: normal work first, then the harmful requests of real incidents. */
export const actions: readonly Action[] = [
  {
    tried: 'create ConfigMap prod/pg-config (inside its lease)',
    why: `Suture stamped it ${LEASE_STAMP}=db-system.postgres, so it stays the operator's`,
    expect: 'ALLOWED',
    method: 'POST',
    path: '/api/v1/namespaces/prod/configmaps',
    body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'pg-config' }, data: { 'postgresql.conf': 'max_connections = 200\n' } },
    check: stamped('db-system.postgres'),
  },
  {
    tried: 'create Secret prod/pg-replication (inside its lease)',
    why: `stamped ${LEASE_STAMP}=db-system.postgres as well`,
    expect: 'ALLOWED',
    method: 'POST',
    path: '/api/v1/namespaces/prod/secrets',
    body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pg-replication' }, stringData: { password: 'demo-only' } },
    check: stamped('db-system.postgres'),
  },
  {
    tried: 'scale StatefulSet prod/pg from 3 to 4 replicas',
    why: 'scaling up keeps the quorum',
    expect: 'ALLOWED',
    method: 'PATCH',
    path: '/apis/apps/v1/namespaces/prod/statefulsets/pg/scale',
    body: { spec: { replicas: 4 } },
    contentType: MERGE,
  },
  {
    tried: 'annotate Deployment web/nginx (a field nobody leases)',
    why: 'the autoscaler leases only /spec/replicas of it',
    expect: 'ALLOWED',
    method: 'PATCH',
    path: '/apis/apps/v1/namespaces/web/deployments/nginx',
    body: { metadata: { annotations: { 'example.com/synced-by': 'postgres-operator' } } },
    contentType: MERGE,
  },
  {
    tried: 'delete PersistentVolumeClaim prod/pg-data-0 (stale cache: "the cluster is being deleted")',
    why: '',
    expect: 'DENIED',
    method: 'DELETE',
    path: '/api/v1/namespaces/prod/persistentvolumeclaims/pg-data-0',
  },
  {
    tried: 'scale StatefulSet prod/pg to 1 replica',
    why: '',
    expect: 'DENIED',
    method: 'PATCH',
    path: '/apis/apps/v1/namespaces/prod/statefulsets/pg/scale',
    body: { spec: { replicas: 1 } },
    contentType: MERGE,
  },
  {
    tried: 'delete Namespace prod (where the database lives)',
    why: '',
    expect: 'DENIED',
    method: 'DELETE',
    path: '/api/v1/namespaces/prod',
  },
  {
    tried: 'create ClusterRoleBinding binding itself to cluster-admin',
    why: '',
    expect: 'DENIED',
    method: 'POST',
    path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'postgres-operator-root' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: OPERATOR.name, namespace: OPERATOR.namespace }],
    },
  },
  {
    tried: 'create a privileged Pod prod/pg-debug',
    why: '',
    expect: 'DENIED',
    method: 'POST',
    path: '/api/v1/namespaces/prod/pods',
    body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pg-debug' }, spec: { containers: [{ name: 'debug', image: 'busybox:1.36', securityContext: { privileged: true } }] } },
  },
  {
    tried: "set spec.replicas of Deployment web/nginx to 1 (the autoscaler's leased field)",
    why: '',
    expect: 'DENIED',
    method: 'PATCH',
    path: '/apis/apps/v1/namespaces/web/deployments/nginx',
    body: { spec: { replicas: 1 } },
    contentType: MERGE,
  },
];

/** The operator's request, through Suture's one Kubernetes client: any status is an answer. */
async function send(kc: KubeConfig, action: Action): Promise<ApiResponse> {
  const { method, path, body, contentType } = action;
  return RawObjectApi.fromKubeConfig(kc).exchange({ method, path, ...(body === undefined ? {} : { body }), ...(contentType === undefined ? {} : { contentType }) });
}

const DENIED_BY = /^admission webhook "([^"]+)" denied the request: /;

/** Classifies a response: allowed, denied by Suture (with its message), or some other failure. */
export function outcomeOf(response: ApiResponse): { got: Verdict | 'ERROR'; message: string } {
  if (response.status >= 200 && response.status < 300) return { got: 'ALLOWED', message: '' };
  const raw = (response.body as { message?: unknown } | undefined)?.message;
  const message = typeof raw === 'string' ? raw : JSON.stringify(response.body);
  const webhook = DENIED_BY.exec(message);
  if (webhook?.[1]?.endsWith('suture.dev') === true) return { got: 'DENIED', message: message.slice(webhook[0].length) };
  return { got: 'ERROR', message: `HTTP ${response.status}: ${message}` };
}

async function attempt(kc: KubeConfig, action: Action): Promise<ActionResult> {
  let outcome: { got: Verdict | 'ERROR'; message: string };
  let body: unknown;
  try {
    const response = await send(kc, action);
    body = response.body;
    outcome = outcomeOf(response);
  } catch (error) {
    outcome = { got: 'ERROR', message: error instanceof Error ? error.message : String(error) };
  }
  const problem = outcome.got === 'ALLOWED' ? action.check?.(body) : undefined;
  return {
    tried: action.tried,
    expected: action.expect,
    got: outcome.got,
    message: problem ?? outcome.message,
    ok: outcome.got === action.expect && problem === undefined,
  };
}

/** One line per action: a mark, the verdict, what was tried, and Suture's explanation or why it matters. */
export function formatResult(result: ActionResult, why: string): string {
  const mark = result.ok ? '✓' : '✗';
  const verdict = result.got.padEnd(7);
  const unexpected = result.ok ? '' : `  ← UNEXPECTED, expected ${result.expected}`;
  const detail = result.got === 'ALLOWED' && result.ok ? (why === '' ? '' : ` — ${why}`) : ` — ${result.message}`;
  return `  ${mark} ${verdict} ${result.tried}${detail}${unexpected}`;
}

/** Runs every action as the operator and prints one line each; resolves with the results. */
export async function runMisbehavingOperator(admin: KubeConfig, print: (line: string) => void = console.log): Promise<ActionResult[]> {
  const kc = await serviceAccountKubeConfig(admin, OPERATOR);
  print(`  acting as ${OPERATOR_USER} (TokenRequest token; bound to cluster-admin, like many real operators)`);
  const results: ActionResult[] = [];
  for (const action of actions) {
    const result = await attempt(kc, action);
    results.push(result);
    print(formatResult(result, action.why));
  }
  return results;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { kubeconfig: { type: 'string' } } });
  const admin = new KubeConfig();
  if (values.kubeconfig === undefined) admin.loadFromDefault();
  else admin.loadFromFile(values.kubeconfig);
  const results = await runMisbehavingOperator(admin);
  const failed = results.filter((r) => !r.ok);
  console.log(failed.length === 0 ? `all ${results.length} outcomes as expected` : `${failed.length} of ${results.length} outcomes unexpected`);
  return failed.length === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) process.exitCode = await main();
