// Availability floors that hold across requests and replicas. Every request is judged alone on the state it read:
// three evictions sent at once (`kubectl drain`) each see three ready pods, and a `minAvailable: 2` floor would let
// each of them through. A PodDisruptionBudget stops this because every eviction updates it with a version check; a
// floor does the same here. The removals of available pods that an allowed decision leans on (Decision.floors) are
// reserved in a ConfigMap of the policy in Suture's namespace — one data entry per invariant and what it counts, the
// pending removals with their expiry — by read-check-write with the ConfigMap's resourceVersion as precondition, so
// two replicas racing for the last pod above a floor cannot both win: the loser's write conflicts, it reads again,
// and sees the other's removal pending.
//
// The check: removals other requests reserved of pods this decision counted as available after it (FloorUse.counted:
// the state it read had not seen those removals yet) lower what is left. A removal stops counting as soon as the
// state a decision reads no longer holds the pod available (the removal was observed: gone, or terminating), and a
// reservation ends after FLOOR_RESERVATION_MS in any case (a request admitted by Suture but then refused elsewhere
// never removes its pod). Pods are named by uid, so a StatefulSet pod recreated under the same name is a new pod.
// What a decision counted is carried in the decision, not looked up again here: the cache moves on while the
// reservation is written, and a pod whose removal it has seen meanwhile was still counted in `after`.
//
// Pods not yet available that a request removes (FloorUse.leaving) are reserved as well. An eviction reads its pod
// only after admission, so a pod the verdict saw starting can be ready by the time it is removed: the kubelet's Ready
// write lands between the two (found by the randomised safety test, finding 6 in docs/security.md). A
// PodDisruptionBudget closes this with a resourceVersion precondition on the delete, and so does Suture's mutating
// `evictions.suture.dev` (core/evictions.ts); an eviction that reached no such webhook carries `leaving`, and here:
// - a decision that counts such a pod as available (it read the state after the Ready write) sees its removal
//   pending, as for any other removal;
// - the request removing it reads the pod after reading the reservations and before writing its own: if the pod is
//   available now, its removal lowers the floor after all, and the request is held to the floor like any removal.
//   A decision that counted the pod had read the state after its Ready write; had it reserved after this request's
//   read of the reservations, this request's write conflicts and it reads both again.
// A plain DELETE needs none of this (the API server calls admission again with the object it deletes when that
// object changed meanwhile), but an eviction does.
import { createHash } from 'node:crypto';
import { FLOOR_CONFIGMAP_PREFIX, FLOOR_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/constants.js';
import type { KubeObject } from '../api/types.js';
import { isAvailablePod } from '../core/controllers.js';
import type { FloorUse, PodRef } from '../core/types.js';
import type { ObjectClient } from '../kube/client.js';
import { KubeError, KubeErrorKinds } from '../kube/errors.js';

export { FLOOR_LABEL };
/** How long a reserved removal counts when it is never observed (the request failed after Suture admitted it). */
export const FLOOR_RESERVATION_MS = 30_000;
const MAX_ATTEMPTS = 10;

interface Pending {
  /** The uid of the pod whose removal is pending. */
  uid: string;
  /** Epoch milliseconds after which the reservation no longer counts. */
  until: number;
  /** The admission request that reserved it (its removals are released together when a later floor refuses it). */
  by: string;
}

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

/** The ConfigMap that holds a policy's floor reservations: a stable name within 63 characters. */
export function floorConfigMapName(policy: string): string {
  const hash = createHash('sha256').update(policy).digest('hex').slice(0, 8);
  return `${FLOOR_CONFIGMAP_PREFIX}${policy.slice(0, 40)}-${hash}`.replace(/[^a-z0-9-]/g, '-');
}

/** The data key of one invariant and what it counts (ConfigMap keys allow [-._a-zA-Z0-9]). */
export function floorEntryKey(invariant: string, scope: string): string {
  return `${invariant.replace(/[^-._a-zA-Z0-9]/g, '_')}.${createHash('sha256').update(scope).digest('hex').slice(0, 16)}`;
}

function parse(text: string | undefined): Pending[] {
  if (text === undefined) return [];
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!Array.isArray(parsed)) return [];
    return parsed.filter((r): r is Pending => {
      const p = r as Partial<Pending> | null;
      return typeof p?.uid === 'string' && typeof p.until === 'number' && typeof p.by === 'string';
    });
  } catch {
    return [];
  }
}

export type FloorReservation =
  | { ok: true }
  | {
      ok: false;
      use: FloorUse;
      pending: number;
      left: number;
      /** Pods the decision saw not available that were available when the reservation was made (FloorUse.leaving). */
      turnedReady: string[];
    };

export interface FloorStoreOptions {
  client: ObjectClient;
  namespace: string;
  now: () => number;
  reservationMs?: number;
}

/** Reserves the removals of allowed requests against the floors they lower (see the top of this file). */
export class FloorStore {
  constructor(private readonly options: FloorStoreOptions) {}

  /**
   * Reserves the removals of every use for request `by`, or none: the first use that would cross its floor once the
   * removals others reserved of pods it counted are taken out is returned, and this request's reservations made
   * before it are released again. A use without pods named (a count from a workload's status) is not serialized.
   */
  async reserve(by: string, uses: readonly FloorUse[]): Promise<FloorReservation> {
    const taken: FloorUse[] = [];
    try {
      for (const use of uses) {
        if (use.removes.length === 0 && use.leaving.length === 0) continue;
        const r = await this.reserveOne(by, use);
        if (!r.ok) {
          await this.release(by, taken);
          return r;
        }
        taken.push(use);
      }
    } catch (error) {
      await this.release(by, taken).catch(() => undefined);
      throw error;
    }
    return { ok: true };
  }

  private async reserveOne(by: string, use: FloorUse): Promise<FloorReservation> {
    const name = floorConfigMapName(use.policy);
    const key = floorEntryKey(use.invariant, use.scope);
    const { leaving } = use;
    const mine = new Set([...use.removes, ...leaving.map((p) => p.uid)]);
    const counted = new Set(use.counted);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = this.options.now();
      const current = await this.find(name);
      // Read after the reservations (see the top of this file); only needed where nothing else holds the request to the floor.
      const turnedReady = use.count > 0 ? [] : await this.availableNow(leaving);
      const live = parse(current?.data?.[key]).filter((p) => p.until > now);
      // Removals others reserved of pods this decision still counted: its `after` includes them, wrongly.
      const pending = new Set(live.filter((p) => !mine.has(p.uid) && counted.has(p.uid)).map((p) => p.uid));
      // A capped count (FloorUse.uncapped): the pending removals come off the pods it was capped from.
      const left = Math.min((use.uncapped ?? use.after) - pending.size, use.after);
      if ((use.count > 0 || turnedReady.length > 0) && left < use.required) return { ok: false, use, pending: pending.size, left, turnedReady };
      const until = now + (this.options.reservationMs ?? FLOOR_RESERVATION_MS);
      const next = [...live.filter((p) => !mine.has(p.uid)), ...[...mine].map((uid) => ({ uid, until, by }))];
      if (await this.write(current, { name, key, policy: use.policy, value: next })) return { ok: true };
    }
    throw new Error(`could not reserve a removal against floor ${use.policy}/${use.invariant} after ${MAX_ATTEMPTS} conflicting attempts`);
  }

  /** The pods of `pods` available now, as namespace/name, by a consistent GET of each (an eviction names one). */
  private async availableNow(pods: readonly PodRef[]): Promise<string[]> {
    const read = await Promise.all(pods.map((p) => this.options.client.find({ apiVersion: 'v1', kind: 'Pod', namespace: p.namespace, name: p.name })));
    return pods.flatMap((p, i) => {
      const pod = read[i];
      return pod !== undefined && pod.metadata.uid === p.uid && isAvailablePod(pod) ? [`${p.namespace}/${p.name}`] : [];
    });
  }

  /** Takes back what request `by` reserved (a request refused after its floors were reserved, e.g. by a budget). */
  async release(by: string, uses: readonly FloorUse[]): Promise<void> {
    for (const use of [...uses].reverse()) if (use.removes.length > 0 || use.leaving.length > 0) await this.releaseOne(by, use);
  }

  /** Takes back the removals `by` reserved for `use` (read-check-write with the resourceVersion, as reserving does). */
  private async releaseOne(by: string, use: FloorUse): Promise<void> {
    const name = floorConfigMapName(use.policy);
    const key = floorEntryKey(use.invariant, use.scope);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.find(name);
      if (current === undefined) return;
      const entries = parse(current.data?.[key]);
      const kept = entries.filter((p) => p.by !== by);
      if (kept.length === entries.length) return;
      if (await this.write(current, { name, key, policy: use.policy, value: kept })) return;
    }
    throw new Error(`could not release a removal reserved against floor ${use.policy}/${use.invariant} after ${MAX_ATTEMPTS} conflicting attempts`);
  }

  private find(name: string): Promise<ConfigMap | undefined> {
    return this.options.client.find<ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: this.options.namespace, name });
  }

  /** Writes one entry with the read resourceVersion as precondition; false on a conflict (read again). */
  private async write(current: ConfigMap | undefined, change: { name: string; key: string; policy: string; value: readonly Pending[] }): Promise<boolean> {
    const data = { ...(current?.data ?? {}), [change.key]: JSON.stringify(change.value) };
    try {
      if (current === undefined) {
        await this.options.client.create<ConfigMap>({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: change.name, namespace: this.options.namespace, labels: { [FLOOR_LABEL]: 'true', [MANAGED_BY_LABEL]: MANAGED_BY_VALUE }, annotations: { 'suture.dev/policy': change.policy } },
          data,
        });
      } else {
        await this.options.client.replace<ConfigMap>({ ...current, data });
      }
      return true;
    } catch (error) {
      if (error instanceof KubeError && error.kind === KubeErrorKinds.Conflict) return false; // Conflict or AlreadyExists
      throw error;
    }
  }
}
