// The webhook's serving certificate and caBundle, from one of two places:
//  - SecretCertificates: Suture's own PKI (src/kube/pki.ts) kept in a kubernetes.io/tls Secret with `ca.crt` (the
//    trusted bundle) and `ca.key` (the signing CA's key). reconcile() plans and carries out rotations and writes them
//    with optimistic concurrency, so any replica may call it (the leader's reconciler is the natural caller); load()
//    only adopts what is stored, for the other replicas.
//  - DirectoryCertificates: files cert-manager (or anyone) mounts: tls.crt, tls.key and optionally ca.crt, polled for
//    changes (a mounted Secret is swapped through a symlink, which file watches miss).
// The Secret I/O sits behind TlsSecretStore, so the logic is tested with a map.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { applyAction, bundleOf, keyMatches, planRotation, splitPem, type PkiAction, type PkiMaterial, type PkiPolicy, type TlsPair } from './pki.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/constants.js';
import type { KubeObject } from '../api/types.js';
import type { ObjectClient } from './client.js';
import { isAlreadyExists, isConflict } from './errors.js';

export const TLS_CERT_KEY = 'tls.crt';
export const TLS_KEY_KEY = 'tls.key';
export const CA_CERT_KEY = 'ca.crt';
export const CA_KEY_KEY = 'ca.key';

/** Where serving certificates come from. */
export interface CertificateSource {
  /** The certificate and key to serve; throws before anything was loaded. */
  currentServing(): TlsPair;
  /** The PEM bundle the webhook configurations' caBundle should carry ("" when unknown). */
  caBundle(): string;
}

/** The minimal logger this module writes to (src/observability's Logger satisfies it). */
export interface CertificateLogger {
  info(message: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
  error(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

// ------------------------------------------------------------------------------------------------ the Secret

/** The Secret's data, decoded to text, and its resourceVersion for the next write. */
export interface StoredSecret {
  data: Record<string, string>;
  resourceVersion: string | undefined;
}

export interface TlsSecretStore {
  read(): Promise<StoredSecret | undefined>;
  /** Creates (resourceVersion undefined) or replaces the Secret; throws SecretConflictError when another writer won. */
  write(data: Record<string, string>, resourceVersion: string | undefined): Promise<void>;
}

export class SecretConflictError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretConflictError';
  }
}

export function materialToData(material: PkiMaterial): Record<string, string> {
  return { [TLS_CERT_KEY]: material.serving.cert, [TLS_KEY_KEY]: material.serving.key, [CA_CERT_KEY]: bundleOf(material), [CA_KEY_KEY]: material.ca.key };
}

/** The material in a Secret's data; undefined when a field is missing (planRotation judges the rest). */
export function materialFromData(data: Readonly<Record<string, string>> | undefined): PkiMaterial | undefined {
  const cert = data?.[TLS_CERT_KEY];
  const key = data?.[TLS_KEY_KEY];
  const bundle = data?.[CA_CERT_KEY];
  const caKey = data?.[CA_KEY_KEY];
  if (!cert || !key || !bundle || !caKey) return undefined;
  const trusted = splitPem(bundle);
  const caCert = trusted[0];
  if (caCert === undefined) return undefined;
  return { ca: { cert: caCert, key: caKey }, trusted, serving: { cert, key } };
}

type SecretObject = KubeObject & { type?: string; data?: Record<string, string> };

const decode = (data: Record<string, string> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
const encode = (data: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));

/** A TlsSecretStore on the API server, through the ObjectClient. */
export function secretStore(client: ObjectClient, ref: { namespace: string; name: string }): TlsSecretStore {
  const target = { apiVersion: 'v1', kind: 'Secret', ...ref };
  return {
    async read() {
      const secret = await client.find<SecretObject>(target);
      return secret === undefined ? undefined : { data: decode(secret.data), resourceVersion: secret.metadata.resourceVersion };
    },
    async write(data, resourceVersion) {
      const metadata = { name: ref.name, namespace: ref.namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE }, ...(resourceVersion ? { resourceVersion } : {}) };
      const secret: SecretObject = { apiVersion: 'v1', kind: 'Secret', metadata, type: 'kubernetes.io/tls', data: encode(data) };
      try {
        if (resourceVersion === undefined) await client.create(secret);
        else await client.replace(secret);
      } catch (error) {
        if (isConflict(error) || isAlreadyExists(error)) throw new SecretConflictError(`Secret ${ref.namespace}/${ref.name} was written by someone else`, { cause: error });
        throw error;
      }
    },
  };
}

// ------------------------------------------------------------------------------------------------ own PKI

export interface SecretCertificatesOptions {
  store: TlsSecretStore;
  policy: PkiPolicy;
  clock: () => Date;
  logger: CertificateLogger;
}

export interface ReconcileResult {
  /** The actions carried out and written, in order (empty when nothing changed or another writer won). */
  actions: PkiAction['kind'][];
  /** When to reconcile again. */
  nextCheck: Date;
}

/** At most this many actions per reconcile (create or stage, then an issue, then a prune). */
const MAX_ACTIONS = 4;
const RETRY_AFTER_CONFLICT_MS = 5_000;

function sameMaterial(a: PkiMaterial | undefined, b: PkiMaterial | undefined): boolean {
  return a?.serving.cert === b?.serving.cert && a?.serving.key === b?.serving.key && a?.trusted.join() === b?.trusted.join();
}

export class SecretCertificates implements CertificateSource {
  private material: PkiMaterial | undefined;
  private readonly listeners: (() => void)[] = [];

  constructor(private readonly options: SecretCertificatesOptions) {}

  currentServing(): TlsPair {
    if (this.material === undefined) throw new Error('no serving certificate loaded yet: call load() or reconcile() first');
    return { ...this.material.serving };
  }

  caBundle(): string {
    return this.material === undefined ? '' : bundleOf(this.material);
  }

  /** Calls `listener` whenever the served certificate or the bundle changes. */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Adopts what the Secret holds, if it is usable. True when something changed. */
  async load(): Promise<boolean> {
    const stored = await this.options.store.read();
    const material = materialFromData(stored?.data);
    const plan = planRotation(material, this.options.policy, this.options.clock());
    if (plan.kind === 'create') {
      if (stored !== undefined) this.options.logger.warn('Ignored unusable webhook certificate Secret', { reason: plan.reason });
      return false;
    }
    return this.adopt(material);
  }

  /**
   * Writes what this process serves back into the Secret when the Secret is gone (someone deleted it): the same CA and
   * serving certificate, so the webhook configurations' caBundle stays valid. True when this call created it.
   */
  async restore(): Promise<boolean> {
    if (this.material === undefined || (await this.options.store.read()) !== undefined) return false;
    try {
      await this.options.store.write(materialToData(this.material), undefined);
      return true;
    } catch (error) {
      if (error instanceof SecretConflictError) return false;
      throw error;
    }
  }

  /** Plans and carries out due rotations, writes them, and adopts the result. */
  async reconcile(): Promise<ReconcileResult> {
    const stored = await this.options.store.read();
    let material = materialFromData(stored?.data);
    const actions: PkiAction['kind'][] = [];
    let next = planRotation(material, this.options.policy, this.options.clock());
    for (let i = 0; i < MAX_ACTIONS && next.kind !== 'none'; i += 1) {
      this.options.logger.info('Rotating webhook certificates', { action: next.kind, reason: next.reason });
      material = await applyAction(material, next, this.options.policy, this.options.clock());
      actions.push(next.kind);
      next = planRotation(material, this.options.policy, this.options.clock());
    }
    if (actions.length > 0 && material !== undefined && !(await this.write(material, stored))) {
      return { actions: [], nextCheck: new Date(this.options.clock().getTime() + RETRY_AFTER_CONFLICT_MS) };
    }
    this.adopt(material);
    const nextCheck = next.kind === 'none' ? next.nextCheck : new Date(this.options.clock().getTime() + RETRY_AFTER_CONFLICT_MS);
    return { actions, nextCheck };
  }

  /** Writes; on a conflict adopts what the winner wrote and returns false. */
  private async write(material: PkiMaterial, stored: StoredSecret | undefined): Promise<boolean> {
    try {
      await this.options.store.write(materialToData(material), stored?.resourceVersion);
      return true;
    } catch (error) {
      if (!(error instanceof SecretConflictError)) throw error;
      this.options.logger.info('Webhook certificate Secret changed meanwhile, reloading', { reason: error.message });
      await this.load();
      return false;
    }
  }

  private adopt(material: PkiMaterial | undefined): boolean {
    if (material === undefined || sameMaterial(material, this.material)) return false;
    this.material = material;
    for (const listener of this.listeners) listener();
    return true;
  }
}

// ------------------------------------------------------------------------------------------------ mounted files

export interface DirectoryCertificatesOptions {
  /** Holds tls.crt, tls.key and optionally ca.crt (cert-manager's Secret layout). */
  dir: string;
  logger: CertificateLogger;
}

export class DirectoryCertificates implements CertificateSource {
  private pair: TlsPair | undefined;
  private bundle = '';
  private readonly listeners: (() => void)[] = [];

  constructor(private readonly options: DirectoryCertificatesOptions) {}

  currentServing(): TlsPair {
    if (this.pair === undefined) throw new Error(`no serving certificate loaded yet from ${this.options.dir}: call reload() first`);
    return { ...this.pair };
  }

  caBundle(): string {
    return this.bundle;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Reads the files again; keeps the previous certificate when the new files are incomplete or do not match. */
  async reload(): Promise<boolean> {
    const read = (name: string): Promise<string> => readFile(join(this.options.dir, name), 'utf8');
    let next: TlsPair;
    let bundle: string;
    try {
      next = { cert: await read(TLS_CERT_KEY), key: await read(TLS_KEY_KEY) };
      bundle = await read(CA_CERT_KEY).catch(() => '');
    } catch (error) {
      this.options.logger.error('Failed to read webhook certificate files', { dir: this.options.dir, error: error instanceof Error ? error.message : String(error) });
      return false;
    }
    if (next.cert === this.pair?.cert && next.key === this.pair.key && bundle === this.bundle) return false;
    if (!keyMatches(next)) {
      this.options.logger.warn('Ignored webhook certificate files whose key does not match the certificate (mid-update?)', { dir: this.options.dir });
      return false;
    }
    this.pair = next;
    this.bundle = bundle;
    this.options.logger.info('Loaded webhook certificate files', { dir: this.options.dir });
    for (const listener of this.listeners) listener();
    return true;
  }

  /** Polls the directory every `intervalMs`; returns a function that stops polling. */
  watch(intervalMs: number): () => void {
    const timer = setInterval(() => {
      this.reload().catch((error: unknown) => this.options.logger.error('Failed to reload webhook certificate files', { error: String(error) }));
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}
