// What each `kubectl suture` command does, wired to the real world: files, the kubeconfig, the API server, a Suture
// replica. kubectl-suture.ts parses arguments and calls these; tests call them with their own printers and paths.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { API_VERSION } from '../api/constants.js';
import { identityOf } from '../scenario/identity.js';
import { RawObjectApi, shareDispatchers } from '../kube/client.js';
import { createDiscovery } from '../kube/discovery.js';
import { Kinds, UnknownKindError } from '../scenario/kube.js';
import { auditFails, auditIdentity, auditText, holdersOf, subjectOf } from './audit.js';
import { apiServerGet, directGet, fetchDirect, fetchThroughApiServer, type FetchResult } from './fetch-record.js';
import { type GraphFormat, leaseViews, leasesGraph, leasesTable } from './leases.js';
import { type DataFormat, isData, listOf, renderData } from './output.js';
import { CliError, clusterReader } from './read-cluster.js';
import { formatRecord } from './record.js';
import { runTestCommand, type Printer, type TestOptions } from './test-command.js';
import { askCluster, exitCodeOf, formatAnswer, ManifestError, parseManifest, type WhatIfAnswer, type WhatIfVerb } from './what-if.js';

export interface ConnectionOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
}

export interface RecordOptions extends ConnectionOptions {
  /** https://host:port of one Suture replica; undefined: through the API server. */
  readonly server?: string;
  /** File with the PEM of the CA of Suture's serving certificate (with --server). */
  readonly certificateAuthority?: string;
  readonly insecureSkipTlsVerify: boolean;
  readonly sutureNamespace: string;
  readonly service: string;
  readonly output: DataFormat;
}

export interface ManifestOptions extends ConnectionOptions {
  readonly file: string;
  readonly as: string;
  readonly asGroups: readonly string[];
  readonly verb: WhatIfVerb;
  readonly namespace?: string;
  readonly propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  readonly output: DataFormat;
}

/** Where to look: -n, else -A, else the context's namespace (else default), as kubectl does. */
export interface NamespaceOptions extends ConnectionOptions {
  readonly namespace?: string;
  readonly allNamespaces: boolean;
}

export interface LeasesOptions extends NamespaceOptions {
  readonly output?: 'wide' | 'json' | 'yaml';
  readonly graph?: GraphFormat;
}

export interface AuditOptions extends NamespaceOptions {
  /** Identities to audit (system:serviceaccount:<ns>:<name>, a user, group:<name>); none: the holders of the leases in scope. */
  readonly identities: readonly string[];
  readonly output?: 'wide' | 'json' | 'yaml';
  readonly failOn?: 'dangerous' | 'any';
}

export interface Actions {
  test(paths: readonly string[], options: TestOptions): Promise<number>;
  explainRecord(id: string, options: RecordOptions): Promise<number>;
  explainManifest(options: ManifestOptions): Promise<number>;
  leases(options: LeasesOptions): Promise<number>;
  audit(options: AuditOptions): Promise<number>;
  version(output: DataFormat): Promise<number>;
}

function loadKubeConfig(options: ConnectionOptions): KubeConfig {
  const kc = new KubeConfig();
  if (options.kubeconfig !== undefined) kc.loadFromFile(options.kubeconfig);
  else kc.loadFromDefault();
  if (options.context !== undefined) kc.setCurrentContext(options.context);
  return shareDispatchers(kc);
}

function contextNamespace(kc: KubeConfig): string | undefined {
  return kc.getContextObject(kc.getCurrentContext())?.namespace;
}

/** The version in the package.json above this module (src/cli or dist/src/cli). */
export function packageVersion(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'suture' && pkg.version !== undefined) return pkg.version;
    } catch {
      // not here: one level up
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function fetchRecord(id: string, options: RecordOptions): Promise<FetchResult> {
  if (options.server !== undefined) {
    const ca = options.certificateAuthority === undefined ? undefined : readFileSync(options.certificateAuthority, 'utf8');
    return fetchDirect(directGet({ server: options.server, insecure: options.insecureSkipTlsVerify, ...(ca === undefined ? {} : { ca }) }), options.server, id);
  }
  return fetchThroughApiServer(apiServerGet(RawObjectApi.fromKubeConfig(loadKubeConfig(options))), { namespace: options.sutureNamespace, service: options.service }, id);
}

async function explainRecord(printer: Printer, id: string, options: RecordOptions): Promise<number> {
  const result = await fetchRecord(id, options);
  if (!result.ok) {
    printer.err(`Error: ${result.message}`);
    for (const path of result.tried) printer.err(`  asked ${path}`);
    return 1;
  }
  const lines = isData(options.output) ? renderData(result.record, options.output) : formatRecord(result.record);
  for (const line of lines) printer.out(line);
  return 0;
}

function identityFor(options: ManifestOptions): { user: string; groups: string[] } {
  const base = identityOf(options.as);
  if (base === undefined) throw new ManifestError('--as admin means "not impersonated": name a user or system:serviceaccount:<namespace>:<name>');
  return { user: base.user, groups: [...new Set([...base.groups, ...options.asGroups])] };
}

async function explainManifest(printer: Printer, options: ManifestOptions): Promise<number> {
  const objects = parseManifest(readFileSync(options.file, 'utf8'), options.file);
  const identity = identityFor(options);
  const kc = loadKubeConfig(options);
  const api = RawObjectApi.fromKubeConfig(kc);
  const kinds = new Kinds(createDiscovery(api));
  const namespace = options.namespace ?? contextNamespace(kc);
  let worst = 0;
  const answers: WhatIfAnswer[] = [];
  for (const object of objects) {
    const answer = await askCluster(api, kinds, { object, verb: options.verb, identity, ...(namespace === undefined ? {} : { namespace }), ...(options.propagationPolicy === undefined ? {} : { propagationPolicy: options.propagationPolicy }) });
    if (isData(options.output)) answers.push(answer);
    else for (const line of formatAnswer(answer, identity.user)) printer.out(line);
    worst = Math.max(worst, exitCodeOf(answer));
  }
  if (isData(options.output)) for (const line of renderData(listOf('WhatIfAnswerList', answers.map((a) => ({ ...a, as: identity.user, exitCode: exitCodeOf(a) }))), options.output)) printer.out(line);
  return worst;
}

function namespaceOf(kc: KubeConfig, options: NamespaceOptions): string | undefined {
  if (options.allNamespaces) return undefined;
  return options.namespace ?? contextNamespace(kc) ?? 'default';
}

function noneFound(printer: Printer, namespace: string | undefined): void {
  printer.err(namespace === undefined ? 'No SutureLeases found.' : `No SutureLeases found in ${namespace} namespace.`);
}

async function leases(printer: Printer, options: LeasesOptions): Promise<number> {
  const kc = loadKubeConfig(options);
  const namespace = namespaceOf(kc, options);
  const views = leaseViews(await clusterReader(kc).leases(namespace), namespace);
  let lines: string[];
  if (options.graph !== undefined) lines = leasesGraph(views, options.graph);
  else if (options.output === 'json' || options.output === 'yaml') lines = renderData(listOf('LeaseViewList', views), options.output);
  else if (views.length === 0) lines = [];
  else lines = leasesTable(views, { wide: options.output === 'wide', allNamespaces: namespace === undefined, now: Date.now() });
  if (views.length === 0 && lines.length === 0) noneFound(printer, namespace);
  for (const line of lines) printer.out(line);
  return 0;
}

async function audit(printer: Printer, options: AuditOptions): Promise<number> {
  const kc = loadKubeConfig(options);
  const namespace = namespaceOf(kc, options);
  const reader = clusterReader(kc);
  const all = await reader.leases();
  const inScope = all.filter((l) => namespace === undefined || l.metadata.namespace === namespace);
  const subjects = options.identities.length > 0 ? options.identities.map(subjectOf) : holdersOf(inScope);
  if (subjects.length === 0) {
    noneFound(printer, namespace);
    printer.err('Name an identity to audit it anyway: kubectl suture audit system:serviceaccount:<namespace>:<name>');
    return 0;
  }
  const [rbac, catalog] = await Promise.all([reader.rbac(), reader.catalog()]);
  const audits = subjects.map((s) => auditIdentity(s, all, rbac, catalog));
  if (options.output === 'json' || options.output === 'yaml') for (const line of renderData(listOf('IdentityAuditList', audits), options.output)) printer.out(line);
  else audits.forEach((a, i) => [...(i === 0 ? [] : ['']), ...auditText(a, options.output === 'wide')].forEach((line) => printer.out(line)));
  return auditFails(audits, options.failOn) ? 1 : 0;
}

/** Turns expected failures (bad input, unreachable cluster) into a message and exit status 2. */
async function guarded(printer: Printer, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    const expected = error instanceof ManifestError || error instanceof UnknownKindError || error instanceof CliError || (error as NodeJS.ErrnoException | undefined)?.code !== undefined;
    printer.err(`Error: ${errorText(error)}`);
    if (!expected && error instanceof Error && error.stack !== undefined) printer.err(error.stack);
    return 2;
  }
}

export function realActions(printer: Printer): Actions {
  return {
    test: (paths, options) => guarded(printer, () => Promise.resolve(runTestCommand(paths, options, printer))),
    explainRecord: (id, options) => guarded(printer, () => explainRecord(printer, id, options)),
    explainManifest: (options) => guarded(printer, () => explainManifest(printer, options)),
    leases: (options) => guarded(printer, () => leases(printer, options)),
    audit: (options) => guarded(printer, () => audit(printer, options)),
    version: (output) => {
      const version = { kubectlSuture: packageVersion(), apiVersion: API_VERSION };
      const lines = isData(output) ? renderData(version, output) : [`kubectl-suture ${version.kubectlSuture} (${API_VERSION})`];
      for (const line of lines) printer.out(line);
      return Promise.resolve(0);
    },
  };
}
