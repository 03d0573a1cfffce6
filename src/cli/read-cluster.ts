// What `kubectl suture leases` and `audit` read from the API server with the caller's kubeconfig: SutureLeases (with
// the status Suture's reconcilers wrote), Roles, ClusterRoles and their bindings, and discovery (kinds to resources).
// Failures become messages that say what was wrong and what to do (CliError).
import type { KubeConfig } from '@kubernetes/client-node';
import { API_VERSION } from '../api/constants.js';
import type { KubeObject, SutureLease } from '../api/types.js';
import type { RbacObjects } from '../core/generate/audit.js';
import { type KindCatalog, kindCatalog } from '../core/generate/kinds.js';
import { RawObjectApi, createObjectClient, type ObjectClient } from '../kube/client.js';
import { createDiscovery } from '../kube/discovery.js';
import { type KubeError, isForbidden, isNotFound } from '../kube/errors.js';

/** An expected failure of a command: printed as `Error: <message>`, exit status 2. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    /** The API server refused the caller (RBAC). */
    readonly forbidden = false,
  ) {
    super(message);
  }
}

const RBAC = 'rbac.authorization.k8s.io/v1';

function serverOf(kc: KubeConfig): string {
  return kc.getCurrentCluster()?.server ?? '(no current cluster in the kubeconfig)';
}

/** The errno code (ECONNREFUSED, ENOTFOUND, …) somewhere in the error's cause chain (fetch wraps it twice). */
function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A read failure in words, with the fix. */
export function readFailure(error: unknown, what: string, kc: KubeConfig): CliError {
  if (isNotFound(error)) return new CliError(`the API server does not serve ${what}: install Suture's CRDs first (kubectl apply -k config/crd, or the Helm chart)`);
  if (isForbidden(error)) return new CliError(`you may not ${what}: ${(error as KubeError).message}. Ask your cluster admin for list on it, or use -n <namespace> where you may`, true);
  const code = networkCode(error);
  if (code !== undefined) return new CliError(`cannot reach the API server at ${serverOf(kc)} (${code}): check --kubeconfig / --context, or that the cluster is up`);
  return new CliError(`${what}: ${error instanceof Error ? error.message : String(error)}`);
}

interface Api {
  client: ObjectClient;
  kc: KubeConfig;
}

async function list<T extends KubeObject>({ client, kc }: Api, apiVersion: string, kind: string, namespace?: string): Promise<T[]> {
  try {
    // The items of a list carry no apiVersion and kind; the audit names bindings by kind.
    return (await client.list<T>(apiVersion, kind, namespace === undefined ? {} : { namespace })).items.map((item) => ({ ...item, apiVersion, kind }));
  } catch (error) {
    throw readFailure(error, `list ${kind} (${apiVersion})${namespace === undefined ? ' in all namespaces' : ` in namespace ${namespace}`}`, kc);
  }
}

export interface ClusterReader {
  /** Every SutureLease (queues span namespaces); `fallback` is read instead when listing all is forbidden. */
  leases(fallback?: string): Promise<SutureLease[]>;
  rbac(): Promise<RbacObjects>;
  catalog(): Promise<KindCatalog>;
}

export function clusterReader(kc: KubeConfig): ClusterReader {
  const api = { client: createObjectClient(kc), kc };
  return {
    leases: async (fallback) => {
      try {
        return await list<SutureLease>(api, API_VERSION, 'SutureLease');
      } catch (error) {
        if (fallback === undefined || !(error instanceof CliError && error.forbidden)) throw error;
        return list<SutureLease>(api, API_VERSION, 'SutureLease', fallback);
      }
    },
    rbac: async () => {
      const [roles, clusterRoles, roleBindings, clusterRoleBindings] = await Promise.all([
        list(api, RBAC, 'Role'),
        list(api, RBAC, 'ClusterRole'),
        list(api, RBAC, 'RoleBinding'),
        list(api, RBAC, 'ClusterRoleBinding'),
      ]);
      return { roles, clusterRoles, roleBindings, clusterRoleBindings };
    },
    catalog: async () => {
      const discovery = createDiscovery(RawObjectApi.fromKubeConfig(kc));
      try {
        await discovery.refresh();
      } catch (error) {
        throw readFailure(error, 'API discovery (/api, /apis)', kc);
      }
      return kindCatalog(discovery.all());
    },
  };
}
