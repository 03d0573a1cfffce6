// Names, labels and ownership of the objects Suture generates. Pure: the same inputs give the same names on every
// replica and every run, so "build desired, compare observed" finds the object it built last time.
import { createHash } from 'node:crypto';
import { API_VERSION, LEASE_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../api/constants.js';
import type { OwnerReference, SutureLease } from '../../api/types.js';
import { stampValue } from '../leases.js';

/** Longest generated name: a DNS label, so it fits every kind (RBAC names may be longer, NetworkPolicies not). */
export const MAX_NAME_LENGTH = 63;
const HASH_LENGTH = 8;

/** The first `HASH_LENGTH` hex digits of sha256 over the parts joined by NUL (unambiguous, unlike a "-" join). */
export function shortHash(parts: readonly string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, HASH_LENGTH);
}

function sanitize(part: string): string {
  return part
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
}

/**
 * A stable DNS-label name from readable parts, ending in a hash of all of them (cdk8s style):
 * `suture-db-system-postgres-prod-1a2b3c4d`. The readable part is truncated so the whole stays ≤ 63 characters;
 * the hash keeps truncated names distinct.
 */
export function generatedName(parts: readonly string[]): string {
  const hash = shortHash(parts);
  const readable = parts.map(sanitize).filter((p) => p !== '').join('-');
  const room = MAX_NAME_LENGTH - HASH_LENGTH - 1;
  const head = readable.slice(0, room).replace(/-+$/, '');
  return head === '' ? hash : `${head}-${hash}`;
}

/** Labels on every object generated for a lease: managed-by Suture, and the lease as `<namespace>.<name>`. */
export function leaseLabels(lease: SutureLease): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [LEASE_LABEL]: stampValue(lease) };
}

/** The label selector (kubectl string form) that finds every object generated for a lease. */
export function leaseLabelSelector(lease: { namespace: string; name: string }): string {
  return `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE},${LEASE_LABEL}=${lease.namespace}.${lease.name}`;
}

/** The lease a generated object's label names (`<namespace>.<name>`; namespaces hold no dots), if any. */
export function leaseOfLabel(value: string | undefined): { namespace: string; name: string } | undefined {
  if (value === undefined) return undefined;
  const dot = value.indexOf('.');
  if (dot <= 0 || dot === value.length - 1) return undefined;
  return { namespace: value.slice(0, dot), name: value.slice(dot + 1) };
}

/**
 * An ownerReference to the lease, for an object in the lease's own namespace (the garbage collector then removes it
 * with the lease). Objects in other namespaces or cluster-scoped ones cannot be owned by a namespaced object: they get
 * none and are deleted explicitly by label. Undefined when the lease has no uid yet.
 */
export function leaseOwnerReference(lease: SutureLease, objectNamespace: string): OwnerReference[] | undefined {
  const uid = lease.metadata.uid;
  if (uid === undefined || objectNamespace === '' || objectNamespace !== lease.metadata.namespace) return undefined;
  return [{ apiVersion: API_VERSION, kind: 'SutureLease', name: lease.metadata.name ?? '', uid, controller: true }];
}
