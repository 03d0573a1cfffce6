// Identities of scenario steps, and the impersonation headers that make the API server see them as Kubernetes
// would authenticate them.

import { ADMIN } from './model.js';

export interface Identity {
  readonly user: string;
  readonly groups: readonly string[];
}

const SERVICE_ACCOUNT = /^system:serviceaccount:([^:]+):([^:]+)$/;

/** undefined for `admin` (the runner's own credentials, not impersonated). */
export function identityOf(as: string): Identity | undefined {
  if (as === ADMIN) return undefined;
  const sa = SERVICE_ACCOUNT.exec(as);
  if (sa !== null) return { user: as, groups: ['system:serviceaccounts', `system:serviceaccounts:${sa[1] ?? ''}`, 'system:authenticated'] };
  return { user: as, groups: ['system:authenticated'] };
}

/** Headers for a request as `identity`; every group is its own Impersonate-Group header. */
export function impersonationHeaders(identity: Identity | undefined): Record<string, string | string[]> {
  if (identity === undefined) return {};
  return { 'Impersonate-User': identity.user, 'Impersonate-Group': [...identity.groups] };
}
