// Real Suture processes (`suture run`) on the integration control plane: N replicas, each on its own loopback port,
// behind one TcpBalancer port that every replica publishes as --webhook-url (the pool of test/scenarios/suture.ts,
// whose processes test/controlplane/suture-process.ts starts). The control plane is shared with the other integration
// tests, so everything Suture leaves behind that could intercept their requests — its webhook configurations above
// all — is removed when the replicas stop.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { KubeObject } from '../../src/api/types.js';
import { createObjectClient, type ObjectClient } from '../../src/kube/client.js';
import { SutureReplicaPool } from '../scenarios/suture.js';
import { cluster } from './cluster.js';
import { eventually } from './support.js';

export { SUTURE_NAMESPACE } from '../controlplane/suture-process.js';

const crdDir = join(import.meta.dirname, '..', '..', 'crds');
export const WEBHOOK_CONFIGURATIONS = [
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name: 'suture' },
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', name: 'suture' },
] as const;

type Crd = KubeObject & { status?: { conditions?: { type: string; status: string }[] } };

/** Installs Suture's CRDs from crds/ when absent and waits until they are Established. */
export async function ensureCrds(client: ObjectClient): Promise<void> {
  for (const file of readdirSync(crdDir).filter((f) => f.endsWith('.yaml')).sort()) {
    const crd = parse(readFileSync(join(crdDir, file), 'utf8')) as Crd;
    const ref = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: crd.metadata.name ?? '' };
    if ((await client.find(ref)) === undefined) await client.create(crd);
    await eventually(`CRD ${ref.name} Established`, async () => {
      const current = await client.get<Crd>(ref);
      return current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
    }, 30_000);
  }
}

/** Suture's self-protection policy and binding (it writes them when it leads). */
export const SELF_PROTECTION = [
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', name: 'suture-self-protection' },
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', name: 'suture-self-protection' },
] as const;

/** Removes Suture's webhook configurations and self-protection policy (Suture leaves them on stop; the next tests must not meet them). */
export async function removeWebhookConfigurations(client: ObjectClient): Promise<void> {
  for (const ref of [...WEBHOOK_CONFIGURATIONS, ...SELF_PROTECTION]) await client.delete(ref);
}

export interface SutureReplicas {
  readonly pool: SutureReplicaPool;
  readonly client: ObjectClient;
  /** Waits until a running replica holds the leader Lease; resolves its index. */
  leader(timeoutMs?: number): Promise<number>;
  /** Stops every replica and the balancer, then removes the webhook configurations. */
  stop(): Promise<void>;
}

/** Starts `replicas` Suture processes on the integration control plane and waits for a leader. */
export async function startSutureReplicas(replicas: number, extraArgs: readonly string[] = []): Promise<SutureReplicas> {
  const client = createObjectClient(cluster().kubeConfig);
  await ensureCrds(client);
  const pool = new SutureReplicaPool({ kubeconfigPath: cluster().kubeconfigPath, replicas, extraArgs });
  const stop = async (): Promise<void> => {
    await pool.close();
    await removeWebhookConfigurations(client);
  };
  try {
    await pool.start();
  } catch (error) {
    await stop();
    throw error;
  }
  const leader = async (timeoutMs = 15_000): Promise<number> => {
    let index: number | undefined;
    await eventually('a running Suture replica holds the leader Lease', async () => (index = await pool.leaderIndex()) !== undefined, timeoutMs);
    return index as number;
  };
  await leader(30_000);
  // The leader publishes the webhook configurations once its caches synced; until then nothing reaches Suture.
  await eventually('Suture published its webhook configurations', async () => {
    const configs = await Promise.all(WEBHOOK_CONFIGURATIONS.map((ref) => client.find<KubeObject & { webhooks?: { clientConfig?: { caBundle?: string } }[] }>(ref)));
    return configs.every((c) => (c?.webhooks?.length ?? 0) > 0 && (c?.webhooks?.every((w) => (w.clientConfig?.caBundle ?? '') !== '') ?? false));
  }, 30_000);
  await new Promise((r) => setTimeout(r, 1500)); // the API server loads new webhook configurations from its informer
  return { pool, client, leader, stop };
}

/** The bytes a replica's log has now, so that `logSince` reads only what comes after. */
export function logSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** What a replica logged since `offset` (see logSize). */
export function logSince(path: string, offset: number): string {
  return readFileSync(path).subarray(offset).toString('utf8');
}
