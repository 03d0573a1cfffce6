// `network: Isolate`: a NetworkPolicy that quarantines the holder's namespace. Every pod there gets no ingress but
// the metrics port, and egress only to the API server and to cluster DNS (kube-system's kube-dns, UDP and TCP 53).
// Pure: the API server's endpoints are passed in (the caller reads the `kubernetes` Service's EndpointSlices).
import type { KubeObject, SutureLease } from '../../api/types.js';
import { generatedName, leaseLabels, leaseOwnerReference } from './names.js';

export interface IsolationConfig {
  /** The API server's endpoint IPs (the `default/kubernetes` EndpointSlice addresses), and its port (6443, 443…). */
  apiServer: { ips: readonly string[]; port: number };
  /** The port Prometheus scrapes in the holder's pods. Default 8080. */
  metricsPort?: number;
  /** Where cluster DNS runs. Default kube-system, pods labelled k8s-app=kube-dns. */
  dns?: { namespace: string; podLabels: Record<string, string> };
}

export const DEFAULT_METRICS_PORT = 8080;
const DEFAULT_DNS = { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } };

/** An IP as a one-address CIDR block. */
function hostCidr(ip: string): string {
  return ip.includes(':') ? `${ip}/128` : `${ip}/32`;
}

/** The NetworkPolicy's name: `suture-isolate-<lease namespace>-<lease name>-<hash>`. */
export function isolationPolicyName(lease: SutureLease): string {
  return generatedName(['suture', 'isolate', lease.metadata.namespace ?? '', lease.metadata.name ?? '']);
}

/**
 * The NetworkPolicy for a lease with `network: Isolate` whose holder is a ServiceAccount (a user or group has no
 * namespace to isolate: undefined). It selects every pod of the holder's namespace. Owned by the lease when the
 * holder lives in the lease's namespace; otherwise deleted by label.
 */
export function buildIsolationPolicy(lease: SutureLease, config: IsolationConfig): KubeObject | undefined {
  if ((lease.spec.network ?? 'None') !== 'Isolate' || lease.spec.holder.kind !== 'ServiceAccount') return undefined;
  const namespace = lease.spec.holder.namespace ?? '';
  if (namespace === '') return undefined;
  const dns = config.dns ?? DEFAULT_DNS;
  const owners = leaseOwnerReference(lease, namespace);
  const apiPeers = [...new Set(config.apiServer.ips)].sort().map((ip) => ({ ipBlock: { cidr: hostCidr(ip) } }));
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: isolationPolicyName(lease), namespace, labels: leaseLabels(lease), ...(owners === undefined ? {} : { ownerReferences: owners }) },
    spec: {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ ports: [{ protocol: 'TCP', port: config.metricsPort ?? DEFAULT_METRICS_PORT }] }],
      egress: [
        { to: apiPeers, ports: [{ protocol: 'TCP', port: config.apiServer.port }] },
        {
          to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': dns.namespace } }, podSelector: { matchLabels: { ...dns.podLabels } } }],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    },
  };
}
