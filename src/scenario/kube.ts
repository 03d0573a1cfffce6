// How the scenario runner and `kubectl suture explain -f` name what they send: the URL paths of kinds resolved to
// resources through the API server's discovery. Requests themselves go through the project's one Kubernetes client
// (src/kube/client.ts: RawObjectApi.exchange, with impersonation and the answer's status and warnings).

import { resourcePath as kubeResourcePath, splitApiVersion } from '../kube/client.js';
import type { DiscoveredKind, Discovery } from '../kube/discovery.js';

export interface ResourceInfo {
  readonly plural: string;
  readonly namespaced: boolean;
}

export interface PathParts {
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
}

/** The URL path of a resource collection, object or subresource (a cluster-scoped kind ignores the namespace). */
export function resourcePath(apiVersion: string, info: ResourceInfo, parts: PathParts): string {
  return kubeResourcePath({
    apiVersion,
    resource: info.plural,
    ...(info.namespaced && parts.namespace !== undefined ? { namespace: parts.namespace } : {}),
    ...(parts.name === undefined ? {} : { name: parts.name, ...(parts.subresource === undefined ? {} : { subresource: parts.subresource }) }),
  });
}

export class UnknownKindError extends Error {
  override readonly name = 'UnknownKindError';
}

/** Kind → resource through the API server's discovery (src/kube/discovery.ts): the map as last fetched, fetched again on a miss. */
export class Kinds {
  constructor(private readonly discovery: Pick<Discovery, 'refresh' | 'all'>) {}

  async resolve(apiVersion: string, kind: string): Promise<ResourceInfo> {
    const found = this.find(apiVersion, kind) ?? (await this.discovery.refresh(), this.find(apiVersion, kind));
    if (found === undefined) throw new UnknownKindError(`kind ${kind} of ${apiVersion} is not served by the API server (is its CustomResourceDefinition installed and Established?)`);
    return { plural: found.resource, namespaced: found.namespaced };
  }

  /** True once the API server serves `kind` in `apiVersion` (fetching the map again). */
  async serves(apiVersion: string, kind: string): Promise<boolean> {
    await this.discovery.refresh();
    return this.find(apiVersion, kind) !== undefined;
  }

  /** The kind in the map; a kind written in another case matches when none matches exactly. */
  private find(apiVersion: string, kind: string): DiscoveredKind | undefined {
    const { group, version } = splitApiVersion(apiVersion);
    const served = this.discovery.all().filter((k) => k.group === group && k.version === version);
    return served.find((k) => k.kind === kind) ?? served.find((k) => k.kind.toLowerCase() === kind.toLowerCase());
  }
}
