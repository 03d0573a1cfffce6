// Kubeconfigs for identities of the local control plane: client-node objects and YAML files for kubectl.
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';

const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** Where the API server is and whom to trust. */
export interface ClusterEndpoint {
  readonly server: string;
  readonly caPem: string;
}

/** A client-certificate identity. */
export interface ClientIdentity {
  readonly user: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** When set, every request impersonates this user (Impersonate-User header). */
  readonly impersonateUser?: string;
}

/** A client-node KubeConfig with one cluster, one user and one current context named `suture`. */
export function makeKubeConfig(endpoint: ClusterEndpoint, identity: ClientIdentity): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'suture', server: endpoint.server, caData: base64(endpoint.caPem), skipTLSVerify: false }],
    users: [
      {
        name: identity.user,
        certData: base64(identity.certPem),
        keyData: base64(identity.keyPem),
        ...(identity.impersonateUser === undefined ? {} : { impersonateUser: identity.impersonateUser }),
      },
    ],
    contexts: [{ name: 'suture', cluster: 'suture', user: identity.user }],
    currentContext: 'suture',
  });
  return kc;
}

/** The kubeconfig as YAML, as kubectl reads it. */
export function kubeConfigYaml(kc: KubeConfig): string {
  return stringify(JSON.parse(kc.exportConfig()) as unknown);
}
