// Names Suture writes into the cluster. One place, so that a rename is one change.
import { GROUP } from './schema.js';

export { GROUP, VERSION, API_VERSION } from './schema.js';

/** Label stamped on objects a lease holder creates inside its lease: `<namespace>.<name>` of the lease. */
export const LEASE_LABEL = `${GROUP}/lease`;
/** Label on every object Suture generates (RBAC, NetworkPolicies, webhook configurations). */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'suture';

/**
 * Suture's state in its own namespace: one ConfigMap per policy of availability-floor reservations
 * (src/admission/floors.ts) and of budget ledgers (src/admission/budgets.ts), each named with its prefix and labelled
 * with its label (`=true`). The self-protection policy covers a ConfigMap there that has either (src/core/generate/
 * self-protection.ts).
 */
export const FLOOR_LABEL = `${GROUP}/floor`;
export const FLOOR_CONFIGMAP_PREFIX = 'suture-floor-';
export const BUDGET_LABEL = `${GROUP}/budget`;
export const BUDGET_CONFIGMAP_PREFIX = 'suture-budget-';

/** Audit annotation keys on the API server's audit event. */
export const AUDIT_DECISION = `${GROUP}/decision`;
export const AUDIT_VERDICT = `${GROUP}/verdict`;
export const AUDIT_POLICY = `${GROUP}/policy`;

/** CRD category: `kubectl get suture` lists every Suture object. */
export const CATEGORY = 'suture';
