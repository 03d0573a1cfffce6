// Certificates and keys for a local control plane: a CA, serving certificates, client certificates (CN = user,
// O = groups) and the service-account signing key. Everything is EC P-256, made with @peculiar/x509 on node's
// webcrypto; nothing here touches the file system.
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type EcKeyGenParams = webcrypto.EcKeyGenParams;
type EcdsaParams = webcrypto.EcdsaParams;

const crypto = webcrypto;
const ecKey: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const ecSign: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const dayMs = 24 * 60 * 60 * 1000;

/** A certificate and its private key, both PEM. */
export interface KeyPairPem {
  readonly certPem: string;
  readonly keyPem: string;
}

/** A certificate authority that can sign further certificates. */
export interface CertificateAuthority {
  readonly certPem: string;
  readonly keyPem: string;
  readonly cert: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
}

/** The names a serving certificate is valid for. */
export interface ServingNames {
  readonly ips: readonly string[];
  readonly dnsNames: readonly string[];
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(ecKey, true, ['sign', 'verify']);
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function publicKeyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey('spki', key);
  return x509.PemConverter.encode(der, 'PUBLIC KEY');
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  // Backdated an hour so a small clock skew between processes never makes a fresh certificate "not yet valid".
  return { notBefore: new Date(now - 60 * 60 * 1000), notAfter: new Date(now + days * dayMs) };
}

/** Creates a self-signed CA valid for `days` days. */
export async function createCertificateAuthority(commonName: string, days = 30): Promise<CertificateAuthority> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: [{ CN: [commonName] }],
      keys,
      signingAlgorithm: ecSign,
      ...validity(days),
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { cert, keys, certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

async function issue(ca: CertificateAuthority, subject: x509.JsonName, extensions: x509.Extension[]): Promise<KeyPairPem> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.create(
    {
      subject,
      issuer: ca.cert.subject,
      publicKey: keys.publicKey,
      signingKey: ca.keys.privateKey,
      signingAlgorithm: ecSign,
      ...validity(30),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey, false, crypto),
        ...extensions,
      ],
    },
    crypto,
  );
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

/** Issues a TLS serving certificate for the given IP addresses and DNS names. */
export async function issueServingCertificate(ca: CertificateAuthority, commonName: string, names: ServingNames): Promise<KeyPairPem> {
  const altNames: x509.JsonGeneralName[] = [
    ...names.ips.map((value): x509.JsonGeneralName => ({ type: 'ip', value })),
    ...names.dnsNames.map((value): x509.JsonGeneralName => ({ type: 'dns', value })),
  ];
  return issue(ca, [{ CN: [commonName] }], [
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    new x509.SubjectAlternativeNameExtension(altNames),
  ]);
}

/** Issues a client certificate: the API server reads CN as the user name and each O as a group. */
export async function issueClientCertificate(ca: CertificateAuthority, user: string, groups: readonly string[]): Promise<KeyPairPem> {
  const subject: x509.JsonName = [{ CN: [user] }, ...groups.map((group) => ({ O: [group] }))];
  return issue(ca, subject, [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])]);
}

/** An asymmetric key pair as PEM (PKCS#8 private key, SPKI public key): the service-account token signer. */
export interface SigningKeyPem {
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
}

/** Creates the key pair the API server signs service-account tokens with. */
export async function createSigningKey(): Promise<SigningKeyPem> {
  const keys = await generateKeys();
  return { privateKeyPem: await privateKeyPem(keys.privateKey), publicKeyPem: await publicKeyPem(keys.publicKey) };
}
