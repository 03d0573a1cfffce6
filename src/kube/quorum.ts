// The current resourceVersion of a collection, read with a quorum read, for freshness checks.
//
// Why: an informer's cache lags the API server by however long its watch takes to deliver. A verdict that reads
// cluster state must be taken on state no older than the request (docs/concepts.md, Freshness), so the edge asks the API
// server "what is the newest resourceVersion now?" and waits until the cache has seen it (Informer.waitForResourceVersion).
//
// How: a LIST with no resourceVersion parameter is a consistent read: the API server reads etcd with a quorum read
// (or, since Kubernetes 1.31's ConsistentListFromCache, serves it from its watch cache only after that cache has
// caught up with etcd's current revision), so the list's metadata.resourceVersion is at least the revision of every
// write that completed before the call. `limit=1` keeps it cheap: a paginated list reports the same resourceVersion
// but carries one item instead of the whole collection. (resourceVersion=0 would be the opposite: "any cached
// state", possibly stale.) The number is etcd's global revision, so it is usually higher than the resourceVersion of
// any object of this kind; see waitForResourceVersion for how the cache copes with that.
import type { ObjectClient } from './client.js';

export interface QuorumTarget {
  apiVersion: string;
  kind: string;
  /** undefined: across namespaces (or a cluster-scoped kind). */
  namespace?: string;
  labelSelector?: string;
}

/** The resourceVersion of a consistent list of `target`, fetched with `limit=1`. */
export async function quorumResourceVersion(client: ObjectClient, target: QuorumTarget): Promise<string> {
  const list = await client.list(target.apiVersion, target.kind, {
    ...(target.namespace === undefined ? {} : { namespace: target.namespace }),
    ...(target.labelSelector === undefined ? {} : { labelSelector: target.labelSelector }),
    limit: 1,
  });
  const resourceVersion = list.metadata.resourceVersion;
  if (resourceVersion === undefined || resourceVersion === '') {
    throw new Error(`list ${target.apiVersion} ${target.kind} returned no resourceVersion; the API server must report one for a consistent list`);
  }
  return resourceVersion;
}

/**
 * Compares two resourceVersions when both are decimal integers (as etcd's revisions are): -1, 0 or 1; undefined when
 * either is not numeric. Kubernetes documents resourceVersions as opaque; Suture relies on etcd's integers only for
 * this ordering and falls back to a relist when it cannot compare.
 */
export function compareResourceVersions(a: string, b: string): -1 | 0 | 1 | undefined {
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return undefined;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
