// API discovery: which kinds the API server serves, as which resource, and whether they are namespaced. Custom
// resources come and go with their CRDs, so the map refreshes on demand: invalidate() after a CRD change (the
// caller wires its CRD informer to it), and once on a lookup miss (at most every minRefreshIntervalMs).
import type { KindInfo } from '../core/types.js';
import type { RawObjectApi } from './client.js';
import { toKubeError } from './errors.js';

export interface DiscoveredKind extends KindInfo {
  /** Whether this is the group's preferred version. */
  preferred: boolean;
  verbs: readonly string[];
  shortNames: readonly string[];
}

export interface Discovery {
  /** Fetches the full map again (concurrent calls share one fetch). */
  refresh(): Promise<void>;
  /** Marks the map stale: the next lookup refreshes first. */
  invalidate(): void;
  /** A kind in a group; the preferred version unless `version` is given. Refreshes once on a miss. */
  forKind(group: string, kind: string, version?: string): Promise<DiscoveredKind | undefined>;
  /** The same, by plural resource name. */
  forResource(group: string, resource: string, version?: string): Promise<DiscoveredKind | undefined>;
  /** Every kind known at the last refresh, in every served version. */
  all(): readonly DiscoveredKind[];
  /** Group versions that failed at the last refresh (an unavailable aggregated API), with the reason. */
  failures(): ReadonlyMap<string, string>;
}

export interface DiscoveryOptions {
  /** Minimum time between refreshes caused by lookup misses. Default 10 s. */
  minRefreshIntervalMs?: number;
  now?: () => number;
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
  verbs?: string[];
  shortNames?: string[];
}
interface ApiGroup {
  name: string;
  versions: { groupVersion: string; version: string }[];
  preferredVersion?: { version: string };
}

interface GroupVersion {
  group: string;
  version: string;
  preferred: boolean;
}

async function groupVersions(api: RawObjectApi): Promise<GroupVersion[]> {
  const core = await api.request<{ versions: string[] }>({ method: 'GET', path: '/api' });
  const groups = await api.request<{ groups: ApiGroup[] }>({ method: 'GET', path: '/apis' });
  const list: GroupVersion[] = core.versions.map((version, i) => ({ group: '', version, preferred: i === 0 }));
  for (const group of groups.groups) {
    const preferred = group.preferredVersion?.version ?? group.versions[0]?.version;
    for (const { version } of group.versions) list.push({ group: group.name, version, preferred: version === preferred });
  }
  return list;
}

function toKinds(gv: GroupVersion, resources: readonly ApiResource[]): DiscoveredKind[] {
  return resources
    .filter((resource) => !resource.name.includes('/'))
    .map((resource) => ({
      group: gv.group,
      version: gv.version,
      kind: resource.kind,
      resource: resource.name,
      namespaced: resource.namespaced,
      preferred: gv.preferred,
      verbs: resource.verbs ?? [],
      shortNames: resource.shortNames ?? [],
    }));
}

async function fetchGroupVersion(api: RawObjectApi, gv: GroupVersion): Promise<DiscoveredKind[]> {
  const path = gv.group === '' ? `/api/${gv.version}` : `/apis/${gv.group}/${gv.version}`;
  const list = await api.request<{ resources: ApiResource[] }>({ method: 'GET', path });
  return toKinds(gv, list.resources);
}

interface DiscoveryState {
  kinds: DiscoveredKind[];
  failures: Map<string, string>;
}

async function fetchAll(api: RawObjectApi): Promise<DiscoveryState> {
  const gvs = await groupVersions(api);
  const results = await Promise.allSettled(gvs.map((gv) => fetchGroupVersion(api, gv)));
  const state: DiscoveryState = { kinds: [], failures: new Map() };
  results.forEach((result, i) => {
    const gv = gvs[i];
    if (gv === undefined) return;
    if (result.status === 'fulfilled') state.kinds.push(...result.value);
    else state.failures.set(`${gv.group}/${gv.version}`, toKubeError(result.reason, `discover ${gv.group}/${gv.version}`).message);
  });
  return state;
}

type Match = (kind: DiscoveredKind) => boolean;

class ApiDiscovery implements Discovery {
  private state: DiscoveryState = { kinds: [], failures: new Map() };
  private stale = true;
  private inflight: Promise<void> | undefined;
  private lastRefresh = Number.NEGATIVE_INFINITY;
  private readonly minInterval: number;
  private readonly now: () => number;

  constructor(
    private readonly api: RawObjectApi,
    options: DiscoveryOptions,
  ) {
    this.minInterval = options.minRefreshIntervalMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  refresh(): Promise<void> {
    this.inflight ??= (async (): Promise<void> => {
      try {
        this.lastRefresh = this.now();
        this.state = await fetchAll(this.api);
        this.stale = false;
      } catch (error) {
        throw toKubeError(error, 'discover API resources');
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }

  invalidate(): void {
    this.stale = true;
  }

  forKind(group: string, kind: string, version?: string): Promise<DiscoveredKind | undefined> {
    return this.lookup((k) => k.group === group && k.kind === kind && (version === undefined ? k.preferred : k.version === version));
  }

  forResource(group: string, resource: string, version?: string): Promise<DiscoveredKind | undefined> {
    return this.lookup((k) => k.group === group && k.resource === resource && (version === undefined ? k.preferred : k.version === version));
  }

  all(): readonly DiscoveredKind[] {
    return this.state.kinds;
  }

  failures(): ReadonlyMap<string, string> {
    return this.state.failures;
  }

  private async lookup(match: Match): Promise<DiscoveredKind | undefined> {
    if (this.stale) await this.refresh();
    const found = this.state.kinds.find(match);
    if (found !== undefined || this.now() - this.lastRefresh < this.minInterval) return found;
    await this.refresh();
    return this.state.kinds.find(match);
  }
}

export function createDiscovery(api: RawObjectApi, options: DiscoveryOptions = {}): Discovery {
  return new ApiDiscovery(api, options);
}
