// Whether Suture holds the rights it needs, kept current for /readyz: checked at start, every `intervalMs`, and
// shortly after any RBAC object changes (a watch on Roles, ClusterRoles and their bindings), so that deleting
// Suture's ClusterRoleBinding turns /readyz false within about a second instead of leaving a Suture that says "ok"
// while it can neither see nor repair anything.
import type { KubeConfig } from '@kubernetes/client-node';
import { missingRights, type Right } from '../kube/rights.js';
import { LogKeys } from '../observability/keys.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { type Informer, createInformer } from './informer.js';

export const DEFAULT_RIGHTS_INTERVAL_MS = 30_000;
/** Wait this long after an RBAC event before asking again, so that a burst of changes costs one round of reviews. */
const DEBOUNCE_MS = 200;

const RBAC_KINDS = [
  { kind: 'ClusterRoleBinding', resource: 'clusterrolebindings' },
  { kind: 'ClusterRole', resource: 'clusterroles' },
  { kind: 'RoleBinding', resource: 'rolebindings' },
  { kind: 'Role', resource: 'roles' },
] as const;

export interface RightsMonitorDeps {
  kubeConfig: KubeConfig;
  logger: Logger;
  metrics?: Metrics;
  rights: readonly Right[];
  intervalMs?: number;
  /** Called when the rights Suture lacks change (empty: all held again). */
  onChange?: (missing: readonly string[]) => void;
}

export class RightsMonitor {
  private missing: string[] | undefined;
  private readonly informers: Informer[];
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly deps: RightsMonitorDeps) {
    const informerDeps = { kubeConfig: deps.kubeConfig, logger: deps.logger, ...(deps.metrics === undefined ? {} : { metrics: deps.metrics }) };
    this.informers = RBAC_KINDS.map(({ kind, resource }) => createInformer({ apiVersion: 'rbac.authorization.k8s.io/v1', kind, resource }, informerDeps));
    for (const informer of this.informers) informer.onEvent(() => this.soon());
  }

  /** Undefined before the first check; otherwise the rights Suture lacks (empty when it holds them all). */
  lacking(): readonly string[] | undefined {
    return this.missing;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.check();
    this.timer = setInterval(() => this.soon(), this.deps.intervalMs ?? DEFAULT_RIGHTS_INTERVAL_MS);
    this.timer.unref();
    // Without its rights the watches fail and retry: they must not hold up the start.
    for (const informer of this.informers) void informer.start().catch((error: unknown) => this.deps.logger.warn('Failed to watch RBAC objects', { [LogKeys.error]: error }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    await Promise.all(this.informers.map((i) => i.stop()));
    await this.running;
  }

  /** Checks again soon (debounced). */
  soon(): void {
    if (this.stopped || this.debounce !== undefined) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.check();
    }, DEBOUNCE_MS);
    this.debounce.unref();
  }

  /** One round of reviews; a round asked for while one runs starts right after it. */
  check(): Promise<void> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = (async (): Promise<void> => {
      do {
        this.again = false;
        this.update(await missingRights(this.deps.kubeConfig, this.deps.rights));
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private update(missing: string[]): void {
    const before = this.missing;
    this.missing = missing;
    if (before !== undefined && before.join('\n') === missing.join('\n')) return;
    if (missing.length > 0) this.deps.logger.error('Suture lacks rights it needs: not ready', { [LogKeys.reason]: missing.join('; ') });
    else if (before !== undefined) this.deps.logger.info('Suture holds the rights it needs again');
    this.deps.onChange?.(missing);
  }
}
