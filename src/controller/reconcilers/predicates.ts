// Which lease keys to reconcile after a lease changed (controller-runtime's predicates, for grants that interact).
// Grants depend on every lease's spec and on the phase and grantedAt the last status recorded (core grantLeases), so:
//   - a lease added, deleted, or changed in what grants read (generation, deletionTimestamp, uid): the lease itself,
//     the leases it may conflict with before or after the change (core leasesMayConflict: they may gain or lose
//     their grant), the rivals named on either side, and the leases of the same holder (its rights audit counts
//     every granted lease of the holder). A grant that moves as a result is a status write, which brings its own
//     rivals (next rule), so scope handed over along a chain of rivals is followed;
//   - a status write that moved phase, grantedAt or expiresAt: the lease itself (unless the reconciler wrote it) and
//     the leases whose grant names it as a rival, or that it names — a rival that expired or lost its grant hands its
//     scope over;
//   - any other status write (conditions, the audit, generated objects): nothing when it is the reconciler's own
//     write, else the lease itself (someone else edited status: the reconciler puts it back).
// So neither a new lease nor the reconciler's own status writes re-reconcile every lease.
import type { SutureLease } from '../../api/types.js';

export interface LeaseChange {
  readonly type: 'add' | 'update' | 'delete';
  readonly key: string;
  /** The lease as the store held it before (undefined on add). */
  readonly before?: SutureLease;
  /** The lease now (undefined on delete). */
  readonly after?: SutureLease;
}

function leaseKey(lease: SutureLease): string {
  return `${lease.metadata.namespace ?? ''}/${lease.metadata.name ?? ''}`;
}

/** Whether what grants read besides status changed: identity, spec (generation), deletion. */
export function grantInputsChanged(before: SutureLease, after: SutureLease): boolean {
  return (
    before.metadata.uid !== after.metadata.uid ||
    before.metadata.generation !== after.metadata.generation ||
    (before.metadata.deletionTimestamp === undefined) !== (after.metadata.deletionTimestamp === undefined) ||
    // Without a generation (a store fed by something other than the API server) any change may be a spec change.
    after.metadata.generation === undefined
  );
}

function sameHolder(a: SutureLease, b: SutureLease): boolean {
  const x = a.spec?.holder;
  const y = b.spec?.holder;
  return x !== undefined && y !== undefined && x.kind === y.kind && x.name === y.name && (x.namespace ?? '') === (y.namespace ?? '');
}

/** Whether the webhook configurations may change: they read leases' specs and whether a lease is Invalid. */
export function webhookInputsChanged(change: LeaseChange): boolean {
  const { before, after } = change;
  if (before === undefined || after === undefined || grantInputsChanged(before, after)) return true;
  return (before.status?.phase === 'Invalid') !== (after.status?.phase === 'Invalid');
}

/** Whether the status fields other grants read (phase, grantedAt, expiresAt) changed. */
export function grantStatusChanged(before: SutureLease, after: SutureLease): boolean {
  const a = before.status;
  const b = after.status;
  return a?.phase !== b?.phase || a?.grantedAt !== b?.grantedAt || a?.expiresAt !== b?.expiresAt;
}

function namedRivals(lease: SutureLease | undefined): string[] {
  return (lease?.status?.conflictsWith ?? []).map((c) => `${c.namespace}/${c.name}`);
}

/** Leases whose status names `key` as a rival. */
function rivalsNaming(key: string, all: readonly SutureLease[]): string[] {
  return all.filter((l) => namedRivals(l).includes(key)).map(leaseKey);
}

/**
 * The keys to reconcile after `change`. `all` is every lease now; `ownWrite` says whether `change.after` is the
 * object the lease reconciler's own status write returned.
 */
export function leaseKeysToReconcile(change: LeaseChange, all: readonly SutureLease[], ownWrite: boolean, mayConflict: (a: SutureLease, b: SutureLease) => boolean = () => true): string[] {
  const { before, after, key } = change;
  if (change.type !== 'update' || before === undefined || after === undefined || grantInputsChanged(before, after)) {
    const versions = [before, after].filter((l): l is SutureLease => l !== undefined);
    const concerned = all.filter((l) => versions.some((v) => sameHolder(v, l) || mayConflict(v, l))).map(leaseKey);
    return [...new Set([key, ...namedRivals(before), ...namedRivals(after), ...rivalsNaming(key, all), ...concerned])];
  }
  const self = ownWrite ? [] : [key];
  if (!grantStatusChanged(before, after)) return self;
  return [...new Set([...self, ...namedRivals(before), ...namedRivals(after), ...rivalsNaming(key, all)])].filter((k) => k !== key || !ownWrite);
}
