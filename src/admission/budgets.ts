// Budgets that hold across replicas. Each policy's usage lives in a ConfigMap in Suture's namespace: one data entry
// per invariant and subject, holding the times of the effects still inside the window. A replica reserves by
// read-check-write with the ConfigMap's resourceVersion as precondition, so two replicas racing for the last unit of
// a budget cannot both win: the loser's write conflicts, it reads again, and sees the budget spent.
import { createHash } from 'node:crypto';
import type { KubeObject } from '../api/types.js';
import { BUDGET_CONFIGMAP_PREFIX, BUDGET_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/constants.js';
import type { BudgetLedger, BudgetUse } from '../core/types.js';
import type { ObjectClient } from '../kube/client.js';
import { KubeError, KubeErrorKinds } from '../kube/errors.js';

export { BUDGET_LABEL };
const MAX_ATTEMPTS = 8;

interface Entry {
  subject: string;
  /** Epoch milliseconds of each counted effect. */
  times: number[];
}

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

/** The ConfigMap that holds a policy's budgets: a stable name within 63 characters. */
export function budgetConfigMapName(policy: string): string {
  const hash = createHash('sha256').update(policy).digest('hex').slice(0, 8);
  return `${BUDGET_CONFIGMAP_PREFIX}${policy.slice(0, 40)}-${hash}`.replace(/[^a-z0-9-]/g, '-');
}

/** The data key of one invariant and subject (ConfigMap keys allow [-._a-zA-Z0-9]). */
export function budgetEntryKey(invariant: string, subject: string): string {
  return `${invariant}.${createHash('sha256').update(subject).digest('hex').slice(0, 16)}`;
}

function parseEntry(text: string | undefined, subject: string): Entry {
  if (text === undefined) return { subject, times: [] };
  try {
    const parsed = JSON.parse(text) as Partial<Entry>;
    return { subject, times: Array.isArray(parsed.times) ? parsed.times.filter((t): t is number => typeof t === 'number') : [] };
  } catch {
    return { subject, times: [] };
  }
}

/** `times` with up to `count` occurrences of `at` taken out. */
function withoutTimes(times: readonly number[], at: number, count: number): number[] {
  const out: number[] = [];
  let left = count;
  for (const t of times) {
    if (t === at && left > 0) left--;
    else out.push(t);
  }
  return out;
}

export type Reservation = { ok: true } | { ok: false; use: BudgetUse; used: number };

export interface BudgetStoreOptions {
  client: ObjectClient;
  namespace: string;
  now: () => number;
}

/**
 * The ledger decide() reads (this replica's last view of the ConfigMaps) and the authoritative reservation the
 * validating webhook makes before it allows a request that consumes a budget.
 */
export class BudgetStore implements BudgetLedger {
  private readonly seen = new Map<string, ConfigMap>();

  constructor(private readonly options: BudgetStoreOptions) {}

  /** Feeds the ledger from an informer on the budget ConfigMaps (any replica's writes). */
  observe(cm: KubeObject, deleted = false): void {
    const name = cm.metadata.name ?? '';
    if (deleted) this.seen.delete(name);
    else this.seen.set(name, cm);
  }

  used(policy: string, invariant: string, key: string, windowSeconds: number): number {
    const cm = this.seen.get(budgetConfigMapName(policy));
    const entry = parseEntry(cm?.data?.[budgetEntryKey(invariant, key)], key);
    const since = this.options.now() - windowSeconds * 1000;
    return entry.times.filter((t) => t > since).length;
  }

  /**
   * Reserves every use, or none (all-or-nothing): when one does not fit (the first such is returned) or cannot be
   * recorded (thrown), the uses reserved before it are released again, so a request denied on its second budget has
   * not spent its first.
   */
  async reserve(uses: readonly BudgetUse[]): Promise<Reservation> {
    const taken: { use: BudgetUse; at: number }[] = [];
    try {
      for (const use of uses) {
        const r = await this.reserveOne(use);
        if (!r.ok) {
          await this.releaseAll(taken);
          return r;
        }
        taken.push({ use, at: r.at });
      }
    } catch (error) {
      await this.releaseAll(taken);
      throw error;
    }
    return { ok: true };
  }

  private async reserveOne(use: BudgetUse): Promise<{ ok: true; at: number } | { ok: false; use: BudgetUse; used: number }> {
    const name = budgetConfigMapName(use.policy);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = this.options.now();
      const current = await this.options.client.find<ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: this.options.namespace, name });
      const key = budgetEntryKey(use.invariant, use.key);
      const entry = parseEntry(current?.data?.[key], use.key);
      entry.times = entry.times.filter((t) => t > now - use.windowSeconds * 1000);
      if (entry.times.length + use.count > use.limit) return { ok: false, use, used: entry.times.length };
      for (let i = 0; i < use.count; i++) entry.times.push(now);
      const written = await this.write(current, { name, key, entry, policy: use.policy });
      if (written !== undefined) {
        this.seen.set(name, written);
        return { ok: true, at: now };
      }
    }
    throw new Error(`could not record the use of budget ${use.policy}/${use.invariant} after ${MAX_ATTEMPTS} conflicting attempts`);
  }

  /** Releases reservations in reverse order; a release that fails is reported once all were tried. */
  private async releaseAll(taken: readonly { use: BudgetUse; at: number }[]): Promise<void> {
    const failures: unknown[] = [];
    for (const t of [...taken].reverse()) {
      try {
        await this.release(t.use, t.at);
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0) throw new Error(`could not release ${failures.length} budget reservation(s) of a denied request`, { cause: failures[0] });
  }

  /** Takes back `use.count` effects recorded at `at` (read-check-write with the resourceVersion, as reserving does). */
  private async release(use: BudgetUse, at: number): Promise<void> {
    const name = budgetConfigMapName(use.policy);
    const key = budgetEntryKey(use.invariant, use.key);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.options.client.find<ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: this.options.namespace, name });
      if (current === undefined) return;
      const entry = parseEntry(current.data?.[key], use.key);
      const before = entry.times.length;
      entry.times = withoutTimes(entry.times, at, use.count);
      if (entry.times.length === before) return; // nothing of ours is there (pruned or already released)
      const written = await this.write(current, { name, key, entry, policy: use.policy });
      if (written !== undefined) {
        this.seen.set(name, written);
        return;
      }
    }
    throw new Error(`could not release the use of budget ${use.policy}/${use.invariant} after ${MAX_ATTEMPTS} conflicting attempts`);
  }

  /** Writes the entry with the read resourceVersion as precondition; undefined on a conflict (read again). */
  private async write(current: ConfigMap | undefined, change: { name: string; key: string; entry: Entry; policy: string }): Promise<ConfigMap | undefined> {
    const data = { ...(current?.data ?? {}), [change.key]: JSON.stringify(change.entry) };
    try {
      if (current === undefined) {
        return await this.options.client.create<ConfigMap>({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: change.name, namespace: this.options.namespace, labels: { [BUDGET_LABEL]: 'true', [MANAGED_BY_LABEL]: MANAGED_BY_VALUE }, annotations: { 'suture.dev/policy': change.policy } },
          data,
        });
      }
      return await this.options.client.replace<ConfigMap>({ ...current, data });
    } catch (error) {
      if (error instanceof KubeError && error.kind === KubeErrorKinds.Conflict) return undefined; // Conflict or AlreadyExists
      throw error;
    }
  }
}
