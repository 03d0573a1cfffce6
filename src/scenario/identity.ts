// Identities of scenario steps, with the groups Kubernetes would authenticate them with (the requests carry them as
// impersonation: src/kube/client.ts).

import type { Impersonation } from '../kube/client.js';
import { ADMIN } from './model.js';

export type Identity = Impersonation;

const SERVICE_ACCOUNT = /^system:serviceaccount:([^:]+):([^:]+)$/;

/** undefined for `admin` (the runner's own credentials, not impersonated). */
export function identityOf(as: string): Identity | undefined {
  if (as === ADMIN) return undefined;
  const sa = SERVICE_ACCOUNT.exec(as);
  if (sa !== null) return { user: as, groups: ['system:serviceaccounts', `system:serviceaccounts:${sa[1] ?? ''}`, 'system:authenticated'] };
  return { user: as, groups: ['system:authenticated'] };
}
