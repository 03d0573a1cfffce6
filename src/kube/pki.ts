// The webhook's own PKI, without I/O: a self-signed CA and a serving certificate (EC P-256, @peculiar/x509 on node's
// webcrypto), and the pure decision of when to rotate which. The clock is a parameter everywhere.
//
// Rotation keeps every request working while the API server's caBundle lags behind:
//   1. the serving certificate is renewed from the same CA at 2/3 of its life (or 30 days before it ends): the
//      caBundle does not change;
//   2. when the CA itself is due, a new CA is *staged*: added to the trusted bundle, but nothing is signed with it yet;
//   3. once the new CA has been in the bundle for `propagationMs` (time for the reconciler to publish the caBundle
//      and for every API server to load it), the serving certificate is re-issued from the new CA;
//   4. the old CA leaves the bundle `graceMs` after that switch (every replica has reloaded by then), or when it
//      expires.
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import { createPrivateKey, createPublicKey, webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import * as x509 from '@peculiar/x509';

const crypto = webcrypto;
const EC_KEY: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const EC_SIGN: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const DAY_MS = 24 * 60 * 60 * 1000;
/** Certificates start this long before "now", so a small clock skew never makes a fresh one "not yet valid". */
/** A serving certificate chain and its private key, both PEM. */
export interface TlsPair {
  cert: string;
  key: string;
}

export const BACKDATE_MS = 5 * 60 * 1000;

/** A certificate and its private key, both PEM. */
export interface CertPair {
  cert: string;
  key: string;
}

/** Everything the webhook's PKI consists of. */
export interface PkiMaterial {
  /** The CA that signs serving certificates, with its key. Its certificate is also the first of `trusted`. */
  ca: CertPair;
  /** The CA certificates the API server should trust (the caBundle), newest first. */
  trusted: string[];
  /** The certificate and key the webhook serves. */
  serving: CertPair;
}

export interface ServingNames {
  dnsNames: string[];
  ips: string[];
}

export interface PkiPolicy {
  names: ServingNames;
  /** Default 365 days. */
  caLifetimeMs: number;
  /** Default 90 days. */
  servingLifetimeMs: number;
  /** Renew when less than this is left (default 30 days), but never before half the lifetime. */
  minRemainingMs: number;
  /** How long a staged CA is trusted before anything is signed with it; default 10 minutes. */
  propagationMs: number;
  /** How long the previous CA stays trusted after the serving certificate left it; default 1 hour. */
  graceMs: number;
}

/** The DNS names a Service-fronted webhook is reached by, plus 127.0.0.1 and localhost when running locally. */
export function servingNames(service: string, namespace: string, local: boolean): ServingNames {
  const dnsNames = [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
  return local ? { dnsNames: [...dnsNames, 'localhost'], ips: ['127.0.0.1'] } : { dnsNames, ips: [] };
}

export function defaultPkiPolicy(names: ServingNames): PkiPolicy {
  return { names, caLifetimeMs: 365 * DAY_MS, servingLifetimeMs: 90 * DAY_MS, minRemainingMs: 30 * DAY_MS, propagationMs: 10 * 60 * 1000, graceMs: 60 * 60 * 1000 };
}

// ------------------------------------------------------------------------------------------------ generation

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return crypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

function serialNumber(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive
  return Buffer.from(bytes).toString('hex');
}

function validity(now: Date, lifetimeMs: number): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: new Date(now.getTime() + lifetimeMs) };
}

/** A self-signed CA valid for `lifetimeMs` from `now`. */
export async function createCa(commonName: string, now: Date, lifetimeMs: number): Promise<CertPair> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serialNumber(),
      name: [{ CN: [commonName] }],
      keys,
      signingAlgorithm: EC_SIGN,
      ...validity(now, lifetimeMs),
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { cert: cert.toString('pem'), key: await privateKeyPem(keys.privateKey) };
}

async function importSigningKey(pem: string): Promise<webcrypto.CryptoKey> {
  return crypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(pem), EC_KEY, false, ['sign']);
}

/** A serving certificate for `names`, signed by `ca`, valid for `lifetimeMs` but never beyond the CA. */
export async function issueServing(ca: CertPair, names: ServingNames, now: Date, lifetimeMs: number): Promise<CertPair> {
  const caCert = new x509.X509Certificate(ca.cert);
  const keys = await generateKeys();
  const { notBefore, notAfter } = validity(now, lifetimeMs);
  const altNames: x509.JsonGeneralName[] = [
    ...names.dnsNames.map((value): x509.JsonGeneralName => ({ type: 'dns', value })),
    ...names.ips.map((value): x509.JsonGeneralName => ({ type: 'ip', value })),
  ];
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serialNumber(),
      subject: [{ CN: [names.dnsNames[0] ?? names.ips[0] ?? 'suture-webhook'] }],
      issuer: caCert.subject,
      publicKey: keys.publicKey,
      signingKey: await importSigningKey(ca.key),
      signingAlgorithm: EC_SIGN,
      notBefore,
      notAfter: notAfter < caCert.notAfter ? notAfter : caCert.notAfter,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(altNames),
        await x509.AuthorityKeyIdentifierExtension.create(caCert, false, crypto),
      ],
    },
    crypto,
  );
  return { cert: cert.toString('pem'), key: await privateKeyPem(keys.privateKey) };
}

// ------------------------------------------------------------------------------------------------ inspection

/** What the planner reads from a certificate. */
export interface CertInfo {
  pem: string;
  notBefore: Date;
  notAfter: Date;
  fingerprint: string;
  isCa: boolean;
  dnsNames: string[];
  ips: string[];
  node: NodeX509;
}

/** The PEM blocks of a bundle, each normalised. */
export function splitPem(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((block) => `${block.trim()}\n`) ?? [];
}

function altNames(node: NodeX509): { dnsNames: string[]; ips: string[] } {
  const dnsNames: string[] = [];
  const ips: string[] = [];
  for (const entry of (node.subjectAltName ?? '').split(',')) {
    const [type, value] = entry.trim().split(/:(.*)/s);
    if (type === 'DNS' && value) dnsNames.push(value);
    if (type === 'IP Address' && value) ips.push(value);
  }
  return { dnsNames, ips };
}

/** Parses one PEM certificate; throws with the reason when it is not one. */
export function inspectCert(pem: string): CertInfo {
  const node = new NodeX509(pem);
  return {
    pem,
    node,
    notBefore: new Date(node.validFrom),
    notAfter: new Date(node.validTo),
    fingerprint: node.fingerprint256,
    isCa: node.ca,
    ...altNames(node),
  };
}

/** Whether the private key belongs to the certificate. */
export function keyMatches(pair: CertPair): boolean {
  try {
    const fromKey = createPublicKey(createPrivateKey(pair.key)).export({ type: 'spki', format: 'der' });
    const fromCert = new NodeX509(pair.cert).publicKey.export({ type: 'spki', format: 'der' });
    return fromKey.equals(fromCert);
  } catch {
    return false;
  }
}

/** Whether `cert` was signed by `ca` (signature checked, not only names). */
export function signedBy(cert: CertInfo, ca: CertInfo): boolean {
  return cert.node.checkIssued(ca.node) && cert.node.verify(ca.node.publicKey);
}

// ------------------------------------------------------------------------------------------------ planning

export type PkiAction =
  | { kind: 'none'; nextCheck: Date }
  | { kind: 'create'; reason: string }
  | { kind: 'stageCa'; reason: string }
  | { kind: 'issueServing'; reason: string }
  | { kind: 'prune'; drop: string[]; reason: string };

/** The material, parsed; undefined fields mean unusable. */
interface Parsed {
  ca: CertInfo;
  trusted: CertInfo[];
  serving: CertInfo;
}

/** When a certificate is due for renewal: at 2/3 of its life or `minRemainingMs` before its end, never before half. */
export function renewalDue(cert: Pick<CertInfo, 'notBefore' | 'notAfter'>, minRemainingMs: number): Date {
  const start = cert.notBefore.getTime();
  const life = cert.notAfter.getTime() - start;
  const due = Math.min(start + (life * 2) / 3, cert.notAfter.getTime() - minRemainingMs);
  return new Date(Math.max(due, start + life / 2));
}

/** When a CA was staged: its notBefore plus the backdating (createCa sets notBefore = now - BACKDATE_MS). */
function stagedAt(ca: CertInfo): number {
  return ca.notBefore.getTime() + BACKDATE_MS;
}

function parse(material: PkiMaterial): Parsed | string {
  try {
    const ca = inspectCert(material.ca.cert);
    const serving = inspectCert(material.serving.cert);
    const trusted = material.trusted.map(inspectCert);
    if (!ca.isCa) return 'the signing certificate is not a CA';
    if (!keyMatches(material.ca)) return 'the CA key does not belong to the CA certificate';
    if (!keyMatches(material.serving)) return 'the serving key does not belong to the serving certificate';
    if (!trusted.some((t) => t.fingerprint === ca.fingerprint)) return 'the CA is missing from the trusted bundle';
    return { ca, trusted, serving };
  } catch (error) {
    return `unreadable certificate: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function namesMatch(serving: CertInfo, names: ServingNames): boolean {
  const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && [...a].sort().join() === [...b].sort().join();
  return same(serving.dnsNames, names.dnsNames) && same(serving.ips, names.ips);
}

/** The serving step: renew, switch to a staged CA, or wait. */
function planServing(p: Parsed, policy: PkiPolicy, now: number): PkiAction | number {
  const { serving, ca } = p;
  const issuer = p.trusted.find((t) => signedBy(serving, t));
  if (issuer === undefined) return { kind: 'issueServing', reason: 'the serving certificate is not signed by a trusted CA' };
  if (now >= serving.notAfter.getTime()) return { kind: 'issueServing', reason: 'the serving certificate has expired' };
  if (!namesMatch(serving, policy.names)) return { kind: 'issueServing', reason: 'the serving certificate does not carry the expected names' };
  const due = renewalDue(serving, policy.minRemainingMs).getTime();
  if (issuer.fingerprint !== ca.fingerprint) {
    const switchAt = stagedAt(ca) + policy.propagationMs;
    if (now >= switchAt) return { kind: 'issueServing', reason: 'moving the serving certificate to the new CA' };
    if (now >= due) return { kind: 'issueServing', reason: 'the serving certificate is due for renewal' };
    return Math.min(switchAt, due);
  }
  if (now >= due) return { kind: 'issueServing', reason: 'the serving certificate is due for renewal' };
  return due;
}

/** Old CAs that can leave the bundle: expired ones, and the rest once the serving certificate left them long enough. */
function planPrune(p: Parsed, policy: PkiPolicy, now: number): PkiAction | number {
  const servingFromCa = signedBy(p.serving, p.ca);
  const leftAt = Math.max(p.serving.notBefore.getTime() + BACKDATE_MS, stagedAt(p.ca)) + policy.graceMs;
  const old = p.trusted.filter((t) => t.fingerprint !== p.ca.fingerprint);
  const drop = old.filter((t) => now >= t.notAfter.getTime() || (servingFromCa && now >= leftAt)).map((t) => t.fingerprint);
  if (drop.length > 0) return { kind: 'prune', drop, reason: `dropping ${drop.length} previous CA(s) from the bundle` };
  return old.length > 0 && servingFromCa ? leftAt : Number.POSITIVE_INFINITY;
}

/** What to do next with the PKI, at `now`. Pure: same input, same answer. */
export function planRotation(material: PkiMaterial | undefined, policy: PkiPolicy, now: Date): PkiAction {
  if (material === undefined) return { kind: 'create', reason: 'no certificates yet' };
  const p = parse(material);
  if (typeof p === 'string') return { kind: 'create', reason: p };
  const at = now.getTime();
  if (at >= p.ca.notAfter.getTime()) return { kind: 'create', reason: 'the CA has expired' };
  const caDue = renewalDue(p.ca, policy.minRemainingMs).getTime();
  if (at >= caDue) return { kind: 'stageCa', reason: 'the CA is due for renewal' };
  const serving = planServing(p, policy, at);
  if (typeof serving !== 'number') return serving;
  const prune = planPrune(p, policy, at);
  if (typeof prune !== 'number') return prune;
  return { kind: 'none', nextCheck: new Date(Math.min(caDue, serving, prune)) };
}

const CA_NAME = 'suture-webhook-ca';

/** Carries out one planned action, returning the new material (the input is not changed). */
export async function applyAction(material: PkiMaterial | undefined, action: PkiAction, policy: PkiPolicy, now: Date): Promise<PkiMaterial | undefined> {
  switch (action.kind) {
    case 'none':
      return material;
    case 'create': {
      const ca = await createCa(CA_NAME, now, policy.caLifetimeMs);
      return { ca, trusted: [ca.cert], serving: await issueServing(ca, policy.names, now, policy.servingLifetimeMs) };
    }
    case 'stageCa': {
      const ca = await createCa(CA_NAME, now, policy.caLifetimeMs);
      return { ...(material as PkiMaterial), ca, trusted: [ca.cert, ...(material?.trusted ?? [])] };
    }
    case 'issueServing': {
      const current = material as PkiMaterial;
      return { ...current, serving: await issueServing(current.ca, policy.names, now, policy.servingLifetimeMs) };
    }
    case 'prune': {
      const current = material as PkiMaterial;
      return { ...current, trusted: current.trusted.filter((pem) => !action.drop.includes(inspectCert(pem).fingerprint)) };
    }
  }
}

/** The caBundle: the trusted CAs, concatenated PEM. */
export function bundleOf(material: PkiMaterial): string {
  return material.trusted.map((pem) => (pem.endsWith('\n') ? pem : `${pem}\n`)).join('');
}
