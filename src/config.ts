// The one module that reads the process environment and command line (docs/development.md, Code principles 5). Everything else gets
// a typed Config. parseConfig() is pure (arguments, environment and host passed in) so tests need no mocking;
// loadConfig() feeds it from the process.
//
// Flags win over environment variables, which win over the defaults below. Every problem is collected and reported
// at once, each naming the flag, the bad value and what is accepted.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { FailurePolicies } from './api/schema.js';
import { formatDurationMs, parseDurationMs } from './core/units.js';
import type { FailurePolicy } from './api/types.js';
import type { KubeConfigSource } from './kube/client.js';
import type { LogLevel } from './observability/logger.js';
import { LogLevels } from './observability/logger.js';

export interface BindAddress {
  host: string;
  port: number;
}

export interface LeaderElectionSettings {
  enabled: boolean;
  namespace: string;
  /** Name of the coordination.k8s.io Lease. */
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface Config {
  kubeconfig: KubeConfigSource;
  /** Suture's own namespace (its ServiceAccount is exempt, its Lease and Secrets live here). */
  namespace: string;
  /** This replica's name: the pod name, or hostname-pid outside a pod. */
  podName: string;
  /**
   * The HTTPS server every replica runs: admission (/validate, /mutate, /validate-objects), /healthz, /readyz,
   * /metrics and /decisions/<id>. The API server reaches it through `service` in a cluster, or `url` when Suture runs
   * outside the cluster (local development: https://127.0.0.1:<port>).
   */
  webhook: BindAddress & {
    service: string;
    url: string | undefined;
    /** `secret`: Suture generates and rotates its own CA and serving certificate in `certSecret`; `dir`: files (cert-manager) in `certDir`. */
    certSource: 'secret' | 'dir';
    certSecret: string;
    certDir: string;
    failurePolicy: FailurePolicy;
  };
  exemptions: { namespaces: string[]; users: string[]; groups: string[] };
  /**
   * Self-protection (docs/security.md): the ValidatingAdmissionPolicy that lets only Suture's service account, the
   * group system:masters and these admins write Suture's own objects, its repair, and the rights check of /readyz.
   */
  selfProtection: { enabled: boolean; serviceAccount: string; adminUsers: string[]; adminGroups: string[] };
  leaderElection: LeaderElectionSettings;
  /** SutureExceptions expiring further out than this are refused. */
  maxExceptionDurationMs: number;
  /** How long admission may wait for the consistent read a verdict rests on before the failure policy applies. */
  freshnessTimeoutMs: number;
  workers: number;
  logLevel: LogLevel;
  /** TESTS ONLY: the decision clock starts at this instant. Set only with --unsafe-test-clock and SUTURE_ALLOW_TEST_CLOCK=1. */
  testClock: { start: Date } | undefined;
}

export const defaults = {
  namespace: 'suture-system',
  webhookHost: '0.0.0.0',
  webhookPort: 9443,
  certDir: '/tmp/k8s-webhook-server/serving-certs',
  certSecret: 'suture-webhook-cert',
  webhookService: 'suture-webhook',
  failurePolicy: 'Fail' as FailurePolicy,
  leaderElectionId: 'suture-leader',
  serviceAccount: 'suture',
  leaseDuration: '10s',
  renewDeadline: '8s',
  retryPeriod: '2s',
  maxExceptionDuration: '24h',
  freshnessTimeout: '2s',
  workers: 2,
  logLevel: 'info' as LogLevel,
  /** Always exempt besides Suture's own namespace (docs/concepts.md, Identities). */
  exemptNamespaces: ['kube-system'],
} as const;

export const TEST_CLOCK_ENV = 'SUTURE_ALLOW_TEST_CLOCK';

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }

  override get name(): string {
    return 'ConfigError';
  }
}

export interface ConfigResult {
  config: Config;
  /** Lines main.ts must log at warn level or louder (the test clock, odd but valid settings). */
  warnings: string[];
}

export interface HostInfo {
  hostname: string;
  pid: number;
}

// ------------------------------------------------------------------------------------------------ durations


/** Milliseconds as the shortest Go-style duration: 90000 → "1m30s". */
export const formatDuration = formatDurationMs;

// ------------------------------------------------------------------------------------------------ parsing

const options = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  namespace: { type: 'string' },
  'webhook-host': { type: 'string' },
  'webhook-port': { type: 'string' },
  'cert-dir': { type: 'string' },
  'cert-source': { type: 'string' },
  'cert-secret': { type: 'string' },
  'webhook-service': { type: 'string' },
  'webhook-url': { type: 'string' },
  'failure-policy': { type: 'string' },
  'exempt-namespace': { type: 'string', multiple: true },
  'exempt-user': { type: 'string', multiple: true },
  'exempt-group': { type: 'string', multiple: true },
  'self-protection': { type: 'string' },
  'service-account': { type: 'string' },
  'admin-user': { type: 'string', multiple: true },
  'admin-group': { type: 'string', multiple: true },
  'leader-elect': { type: 'string' },
  'leader-election-namespace': { type: 'string' },
  'leader-election-id': { type: 'string' },
  'lease-duration': { type: 'string' },
  'renew-deadline': { type: 'string' },
  'retry-period': { type: 'string' },
  'max-exception-duration': { type: 'string' },
  'freshness-timeout': { type: 'string' },
  workers: { type: 'string' },
  'log-level': { type: 'string' },
  'unsafe-test-clock': { type: 'string' },
} as const;

type Flags = Partial<Record<keyof typeof options, string | string[]>>;
type Env = Readonly<Record<string, string | undefined>>;

/** Collects problems while reading values. */
class Reader {
  readonly problems: string[] = [];
  readonly warnings: string[] = [];

  constructor(
    private readonly flags: Flags,
    private readonly env: Env,
  ) {}

  string(flag: keyof typeof options, envName: string | undefined, fallback: string): string {
    const value = this.flags[flag];
    if (typeof value === 'string') return value;
    const fromEnv = envName === undefined ? undefined : this.env[envName];
    return fromEnv !== undefined && fromEnv !== '' ? fromEnv : fallback;
  }

  list(flag: keyof typeof options): string[] {
    const value = this.flags[flag];
    if (value === undefined) return [];
    return (Array.isArray(value) ? value : [value]).flatMap((item) => item.split(',')).map((item) => item.trim()).filter((item) => item !== '');
  }

  duration(flag: keyof typeof options, fallback: string): number {
    const text = this.string(flag, undefined, fallback);
    const ms = parseDurationMs(text);
    if (ms !== undefined) return Math.round(ms);
    this.problems.push(`--${flag}=${text} is not a duration: use a number with a unit, e.g. 30s, 10m, 2h, 1h30m`);
    return parseDurationMs(fallback) ?? 0;
  }

  integer(flag: keyof typeof options, fallback: number, range: [number, number]): number {
    const text = this.string(flag, undefined, String(fallback));
    const n = Number(text);
    if (Number.isInteger(n) && n >= range[0] && n <= range[1]) return n;
    this.problems.push(`--${flag}=${text} must be an integer from ${range[0]} to ${range[1]}`);
    return fallback;
  }

  oneOf<T extends string>(flag: keyof typeof options, envName: string | undefined, fallback: T, allowed: readonly T[]): T {
    const text = this.string(flag, envName, fallback);
    if ((allowed as readonly string[]).includes(text)) return text as T;
    this.problems.push(`--${flag}=${text} must be one of ${allowed.join(', ')}`);
    return fallback;
  }


}

function kubeconfigSource(reader: Reader, env: Env): KubeConfigSource {
  const path = reader.string('kubeconfig', 'KUBECONFIG', '');
  const context = reader.string('context', undefined, '');
  if (path !== '') return { kind: 'file', path: path.split(':')[0] ?? path, ...(context === '' ? {} : { context }) };
  if ((env.KUBERNETES_SERVICE_HOST ?? '') !== '') return { kind: 'inCluster' };
  const home = env.HOME ?? '';
  if (home === '') reader.problems.push('no kubeconfig: pass --kubeconfig, set KUBECONFIG, or run in a pod');
  return { kind: 'file', path: `${home}/.kube/config`, ...(context === '' ? {} : { context }) };
}

function leaderElection(reader: Reader, namespace: string, identity: string): LeaderElectionSettings {
  const enabled = reader.oneOf('leader-elect', undefined, 'true', ['true', 'false']) === 'true';
  const settings: LeaderElectionSettings = {
    enabled,
    namespace: reader.string('leader-election-namespace', undefined, namespace),
    name: reader.string('leader-election-id', undefined, defaults.leaderElectionId),
    identity,
    leaseDurationMs: reader.duration('lease-duration', defaults.leaseDuration),
    renewDeadlineMs: reader.duration('renew-deadline', defaults.renewDeadline),
    retryPeriodMs: reader.duration('retry-period', defaults.retryPeriod),
  };
  if (settings.renewDeadlineMs >= settings.leaseDurationMs) reader.problems.push(`--renew-deadline (${formatDuration(settings.renewDeadlineMs)}) must be shorter than --lease-duration (${formatDuration(settings.leaseDurationMs)})`);
  if (settings.retryPeriodMs <= 0 || settings.retryPeriodMs >= settings.renewDeadlineMs) reader.problems.push(`--retry-period (${formatDuration(settings.retryPeriodMs)}) must be positive and shorter than --renew-deadline`);
  if (!enabled) reader.warnings.push('leader election is disabled: run a single replica, or two reconcilers will fight');
  return settings;
}

/** The test clock: honoured only with the flag AND the environment variable, and always announced. */
function testClock(reader: Reader, env: Env): { start: Date } | undefined {
  const flag = reader.string('unsafe-test-clock', undefined, '');
  if (flag === '') return undefined;
  if (env[TEST_CLOCK_ENV] !== '1') {
    reader.problems.push(`--unsafe-test-clock is refused without ${TEST_CLOCK_ENV}=1 in the environment; it exists for tests only and must never run in production`);
    return undefined;
  }
  const start = new Date(flag);
  if (Number.isNaN(start.getTime())) {
    reader.problems.push(`--unsafe-test-clock=${flag} is not an RFC 3339 time, e.g. 2026-01-01T00:00:00Z`);
    return undefined;
  }
  reader.warnings.push(`UNSAFE: the test clock is enabled; decisions, leases and exceptions use a clock starting at ${start.toISOString()}, not the real time. Never run this in production.`);
  return { start };
}

function parseFlags(args: readonly string[]): { flags: Flags; problems: string[] } {
  try {
    const { values } = parseArgs({ args: [...args], options, strict: true, allowPositionals: false });
    return { flags: values, problems: [] };
  } catch (error) {
    return { flags: {}, problems: [error instanceof Error ? error.message : String(error)] };
  }
}

function optional(text: string): string | undefined {
  return text === '' ? undefined : text;
}

function build(reader: Reader, env: Env, host: HostInfo): Config {
  const namespace = reader.string('namespace', 'POD_NAMESPACE', defaults.namespace);
  const podName = env.POD_NAME !== undefined && env.POD_NAME !== '' ? env.POD_NAME : `${host.hostname}-${host.pid}`;
  const exemptNamespaces = [...new Set([...defaults.exemptNamespaces, namespace, ...reader.list('exempt-namespace')])];
  return {
    kubeconfig: kubeconfigSource(reader, env),
    namespace,
    podName,
    webhook: {
      host: reader.string('webhook-host', undefined, defaults.webhookHost),
      port: reader.integer('webhook-port', defaults.webhookPort, [1, 65535]),
      service: reader.string('webhook-service', undefined, defaults.webhookService),
      url: optional(reader.string('webhook-url', undefined, '')),
      certSource: reader.oneOf<'secret' | 'dir'>('cert-source', undefined, 'secret', ['secret', 'dir']),
      certSecret: reader.string('cert-secret', undefined, defaults.certSecret),
      certDir: reader.string('cert-dir', undefined, defaults.certDir),
      failurePolicy: reader.oneOf<FailurePolicy>('failure-policy', undefined, defaults.failurePolicy, FailurePolicies),
    },
    exemptions: { namespaces: exemptNamespaces, users: reader.list('exempt-user'), groups: reader.list('exempt-group') },
    selfProtection: {
      enabled: reader.oneOf('self-protection', undefined, 'true', ['true', 'false']) === 'true',
      serviceAccount: reader.string('service-account', undefined, defaults.serviceAccount),
      adminUsers: reader.list('admin-user'),
      adminGroups: reader.list('admin-group'),
    },
    leaderElection: leaderElection(reader, namespace, podName),
    maxExceptionDurationMs: reader.duration('max-exception-duration', defaults.maxExceptionDuration),
    freshnessTimeoutMs: reader.duration('freshness-timeout', defaults.freshnessTimeout),
    workers: reader.integer('workers', defaults.workers, [1, 64]),
    logLevel: reader.oneOf<LogLevel>('log-level', 'SUTURE_LOG_LEVEL', defaults.logLevel, LogLevels),
    testClock: testClock(reader, env),
  };
}

/** Parses flags (without the program name) and environment; throws ConfigError listing every problem. */
export function parseConfig(args: readonly string[], env: Env, host: HostInfo): ConfigResult {
  const { flags, problems } = parseFlags(args);
  const reader = new Reader(flags, env);
  reader.problems.push(...problems);
  const config = build(reader, env, host);
  if (reader.problems.length > 0) throw new ConfigError(reader.problems);
  return { config, warnings: reader.warnings };
}

/** The Config of this process: `args` default to process.argv after the program and script. */
export function loadConfig(args: readonly string[] = process.argv.slice(2)): ConfigResult {
  return parseConfig(args, process.env, { hostname: hostname(), pid: process.pid });
}
