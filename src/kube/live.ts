// Consistent reads of just the objects a verdict rests on (state/fresh.ts): a GET of one object, a LIST of one kind
// in one namespace narrowed by a label selector. Neither passes a resourceVersion, so the API server answers with
// state at least as new as every write that completed before the call (a quorum read, or since Kubernetes 1.31 its
// watch cache once caught up with etcd). Metadata-only when the caller needs no more (kube/metadata.ts).
import type { KubeObject } from '../api/types.js';
import { resourcePath, type KubeList, type RawObjectApi } from './client.js';
import { isNotFound, toKubeError } from './errors.js';
import { METADATA_ACCEPT, METADATA_LIST_ACCEPT } from './metadata.js';

export interface LiveTarget {
  apiVersion: string;
  kind: string;
  /** Plural resource name. */
  resource: string;
  /** undefined or "": cluster-scoped, or (lists) every namespace. */
  namespace?: string;
}

export interface LiveReader {
  /** The object now, or undefined when it does not exist. */
  get(target: LiveTarget & { name: string }, metadataOnly: boolean): Promise<KubeObject | undefined>;
  /** Every object of the kind in the namespace the selector selects, now. */
  list(target: LiveTarget & { labelSelector: string }, metadataOnly: boolean): Promise<KubeObject[]>;
}

const PAGE = 500;

export function createLiveReader(api: RawObjectApi): LiveReader {
  const path = (t: LiveTarget & { name?: string }): string =>
    resourcePath({ apiVersion: t.apiVersion, resource: t.resource, ...(t.namespace === undefined || t.namespace === '' ? {} : { namespace: t.namespace }), ...(t.name === undefined ? {} : { name: t.name }) });
  return {
    async get(target, metadataOnly) {
      try {
        const object = await api.request<KubeObject>({ method: 'GET', path: path(target), ...(metadataOnly ? { accept: METADATA_ACCEPT } : {}) });
        return { ...object, apiVersion: target.apiVersion, kind: target.kind };
      } catch (error) {
        const e = toKubeError(error, `get ${target.apiVersion} ${target.kind} ${target.namespace ?? ''}/${target.name}`);
        if (isNotFound(e)) return undefined;
        throw e;
      }
    },
    async list(target, metadataOnly) {
      const items: KubeObject[] = [];
      let next: string | undefined;
      try {
        do {
          const query = { limit: PAGE, continue: next, ...(target.labelSelector === '' ? {} : { labelSelector: target.labelSelector }) };
          const page = await api.request<KubeList>({ method: 'GET', path: path(target), query, ...(metadataOnly ? { accept: METADATA_LIST_ACCEPT } : {}) });
          for (const item of page.items ?? []) items.push({ ...item, apiVersion: target.apiVersion, kind: target.kind });
          next = page.metadata.continue === '' ? undefined : page.metadata.continue;
        } while (next !== undefined);
      } catch (error) {
        throw toKubeError(error, `list ${target.apiVersion} ${target.kind} ${target.namespace ?? ''}`);
      }
      return items;
    },
  };
}
