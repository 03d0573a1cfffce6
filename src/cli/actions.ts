// What each `kubectl suture` command does, wired to the real world: files, the kubeconfig, the API server, a Suture
// replica. kubectl-suture.ts parses arguments and calls these; tests call them with their own printers and paths.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { API_VERSION } from '../api/constants.js';
import { identityOf } from '../scenario/identity.js';
import { Discovery, KubeHttp, UnknownKindError } from '../scenario/kube.js';
import { apiServerGet, directGet, fetchDirect, fetchThroughApiServer, type FetchResult } from './fetch-record.js';
import { formatRecord } from './record.js';
import { runTestCommand, type Printer, type TestOptions } from './test-command.js';
import { askCluster, exitCodeOf, formatAnswer, ManifestError, parseManifest, type WhatIfVerb } from './what-if.js';

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
  readonly output: 'text' | 'json';
}

export interface ManifestOptions extends ConnectionOptions {
  readonly file: string;
  readonly as: string;
  readonly asGroups: readonly string[];
  readonly verb: WhatIfVerb;
  readonly namespace?: string;
  readonly propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
}

export interface Actions {
  test(paths: readonly string[], options: TestOptions): Promise<number>;
  explainRecord(id: string, options: RecordOptions): Promise<number>;
  explainManifest(options: ManifestOptions): Promise<number>;
  version(): Promise<number>;
}

function loadKubeConfig(options: ConnectionOptions): KubeConfig {
  const kc = new KubeConfig();
  if (options.kubeconfig !== undefined) kc.loadFromFile(options.kubeconfig);
  else kc.loadFromDefault();
  if (options.context !== undefined) kc.setCurrentContext(options.context);
  return kc;
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
  const http = new KubeHttp(loadKubeConfig(options));
  return fetchThroughApiServer(apiServerGet(http), { namespace: options.sutureNamespace, service: options.service }, id);
}

async function explainRecord(printer: Printer, id: string, options: RecordOptions): Promise<number> {
  const result = await fetchRecord(id, options);
  if (!result.ok) {
    printer.err(`Error: ${result.message}`);
    for (const path of result.tried) printer.err(`  asked ${path}`);
    return 1;
  }
  if (options.output === 'json') printer.out(JSON.stringify(result.record, null, 2));
  else for (const line of formatRecord(result.record)) printer.out(line);
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
  const http = new KubeHttp(kc);
  const discovery = new Discovery(http);
  const namespace = options.namespace ?? contextNamespace(kc);
  let worst = 0;
  for (const object of objects) {
    const answer = await askCluster(http, discovery, { object, verb: options.verb, identity, ...(namespace === undefined ? {} : { namespace }), ...(options.propagationPolicy === undefined ? {} : { propagationPolicy: options.propagationPolicy }) });
    for (const line of formatAnswer(answer, identity.user)) printer.out(line);
    worst = Math.max(worst, exitCodeOf(answer));
  }
  return worst;
}

/** Turns expected failures (bad input, unreachable cluster) into a message and exit status 2. */
async function guarded(printer: Printer, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    const expected = error instanceof ManifestError || error instanceof UnknownKindError || (error as NodeJS.ErrnoException | undefined)?.code !== undefined;
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
    version: () => {
      printer.out(`kubectl-suture ${packageVersion()} (${API_VERSION})`);
      return Promise.resolve(0);
    },
  };
}
