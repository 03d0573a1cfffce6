import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { applyAction, inspectCert, servingNames, signedBy, splitPem, type PkiMaterial, type PkiPolicy } from '../../../src/kube/pki.js';
import {
  CA_CERT_KEY,
  CA_KEY_KEY,
  DirectoryCertificates,
  SecretCertificates,
  TLS_CERT_KEY,
  TLS_KEY_KEY,
  secretStore,
  type TlsSecretStore,
} from '../../../src/kube/certificates.js';
import { MemoryObjects } from '../support/memory-objects.js';

const DAY = 24 * 60 * 60 * 1000;
const MIN = 60 * 1000;
const T0 = new Date('2026-03-01T00:00:00Z');

const policy: PkiPolicy = {
  names: servingNames('suture-webhook', 'suture-system', false),
  caLifetimeMs: 90 * DAY,
  servingLifetimeMs: 30 * DAY,
  minRemainingMs: 30 * DAY,
  propagationMs: 10 * MIN,
  graceMs: 60 * MIN,
};

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** The Secret through secretStore, on the unit tests' in-memory ObjectClient (resourceVersions, conflicts like the API server's). */
function memorySecret(): { objects: MemoryObjects; store: TlsSecretStore; data: () => Promise<Record<string, string> | undefined>; put: (data: Record<string, string>) => Promise<void> } {
  const objects = new MemoryObjects();
  const store = secretStore(objects, { namespace: 'suture-system', name: 'suture-webhook-tls' });
  return {
    objects,
    store,
    data: async () => (await store.read())?.data,
    put: async (data) => store.write(data, (await store.read())?.resourceVersion),
  };
}

describe('kube/certificates: own PKI in a Secret', function () {
  this.timeout(20000);
  let now: Date;
  const clock = (): Date => now;
  beforeEach(() => {
    now = T0;
  });

  it('creates the CA and serving certificate on first reconcile and stores them as kubernetes.io/tls + ca.crt + ca.key', async () => {
    const { objects, store, data } = memorySecret();
    const certs = new SecretCertificates({ store, policy, clock, logger: quiet });
    expect(() => certs.currentServing()).to.throw(/no serving certificate loaded yet/);
    const result = await certs.reconcile();
    expect(result.actions).to.deep.equal(['create']);
    const stored = await data();
    expect(Object.keys(stored ?? {})).to.have.members([TLS_CERT_KEY, TLS_KEY_KEY, CA_CERT_KEY, CA_KEY_KEY]);
    expect(certs.currentServing().cert).to.equal(stored?.[TLS_CERT_KEY]);
    expect(splitPem(certs.caBundle())).to.have.length(1);
    expect(result.nextCheck.getTime()).to.be.greaterThan(T0.getTime() + 14 * DAY);

    const again = await certs.reconcile();
    expect(again.actions).to.deep.equal([]);
    expect(objects.writes).to.deep.equal(['create Secret suture-system/suture-webhook-tls']);
  });

  it('lets another replica load what the first wrote', async () => {
    const { store } = memorySecret();
    const leader = new SecretCertificates({ store, policy, clock, logger: quiet });
    await leader.reconcile();
    const follower = new SecretCertificates({ store, policy, clock, logger: quiet });
    expect(await follower.load()).to.equal(true);
    expect(follower.currentServing()).to.deep.equal(leader.currentServing());
    expect(follower.caBundle()).to.equal(leader.caBundle());
    expect(await follower.load()).to.equal(false);
  });

  it('rotates the CA in stages: trusted first, used after propagation, the old one dropped after the grace', async () => {
    const { store } = memorySecret();
    const certs = new SecretCertificates({ store, policy, clock, logger: quiet });
    let changes = 0;
    certs.onChange(() => (changes += 1));
    // Bounded walk to the CA's renewal: at most 10 reconciles, each at the time the previous one asked for.
    let result = await certs.reconcile();
    for (let i = 0; i < 10 && !result.actions.includes('stageCa'); i += 1) {
      now = result.nextCheck;
      result = await certs.reconcile();
    }
    const last = result.actions;
    expect(last).to.deep.equal(['stageCa']);
    const bundle = splitPem(certs.caBundle());
    expect(bundle).to.have.length(2);
    const serving = inspectCert(certs.currentServing().cert);
    expect(signedBy(serving, inspectCert(bundle[1] ?? ''))).to.equal(true); // still the old CA

    now = new Date(now.getTime() + 5 * MIN);
    expect((await certs.reconcile()).actions).to.deep.equal([]);
    now = new Date(now.getTime() + 6 * MIN);
    expect((await certs.reconcile()).actions).to.deep.equal(['issueServing']);
    expect(signedBy(inspectCert(certs.currentServing().cert), inspectCert(bundle[0] ?? ''))).to.equal(true);
    expect(splitPem(certs.caBundle())).to.have.length(2);

    now = new Date(now.getTime() + 61 * MIN);
    expect((await certs.reconcile()).actions).to.deep.equal(['prune']);
    expect(splitPem(certs.caBundle())).to.deep.equal([bundle[0]]);
    expect(changes).to.be.at.least(4);
  });

  it('yields to another writer on a conflict and adopts what it wrote', async () => {
    const { objects, store, put } = memorySecret();
    const winner = (await applyAction(undefined, { kind: 'create', reason: 'other replica' }, policy, T0)) as PkiMaterial;
    objects.beforeNextWrite = () => put({ [TLS_CERT_KEY]: winner.serving.cert, [TLS_KEY_KEY]: winner.serving.key, [CA_CERT_KEY]: winner.ca.cert, [CA_KEY_KEY]: winner.ca.key });
    const certs = new SecretCertificates({ store, policy, clock, logger: quiet });
    const result = await certs.reconcile();
    expect(result.actions).to.deep.equal([]);
    expect(result.nextCheck.getTime() - T0.getTime()).to.be.below(MIN);
    expect(certs.currentServing().cert).to.equal(winner.serving.cert);
  });

  it('replaces an unusable Secret on reconcile, and load() refuses to adopt it', async () => {
    const { store, put } = memorySecret();
    await put({ [TLS_CERT_KEY]: 'not a certificate', [TLS_KEY_KEY]: 'x', [CA_CERT_KEY]: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', [CA_KEY_KEY]: 'x' });
    const warnings: string[] = [];
    const logger = { ...quiet, warn: (message: string) => warnings.push(message) };
    const follower = new SecretCertificates({ store, policy, clock, logger });
    expect(await follower.load()).to.equal(false);
    expect(warnings).to.deep.equal(['Ignored unusable webhook certificate Secret']);
    const leader = new SecretCertificates({ store, policy, clock, logger: quiet });
    expect((await leader.reconcile()).actions).to.deep.equal(['create']);
    expect(await follower.load()).to.equal(true);
  });
});

describe('kube/certificates: files mounted by cert-manager', function () {
  this.timeout(20000);
  let dir: string;
  let first: PkiMaterial;
  let second: PkiMaterial;
  before(async () => {
    first = (await applyAction(undefined, { kind: 'create', reason: 'test' }, policy, new Date())) as PkiMaterial;
    second = (await applyAction(undefined, { kind: 'create', reason: 'test' }, policy, new Date())) as PkiMaterial;
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'suture-certs-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const put = async (material: PkiMaterial, key = material.serving.key): Promise<void> => {
    await writeFile(join(dir, TLS_CERT_KEY), material.serving.cert);
    await writeFile(join(dir, TLS_KEY_KEY), key);
    await writeFile(join(dir, CA_CERT_KEY), material.ca.cert);
  };

  it('loads tls.crt, tls.key and ca.crt, and reloads only on a change', async () => {
    await put(first);
    const certs = new DirectoryCertificates({ dir, logger: quiet });
    let changes = 0;
    certs.onChange(() => (changes += 1));
    expect(await certs.reload()).to.equal(true);
    expect(certs.currentServing().cert).to.equal(first.serving.cert);
    expect(certs.caBundle()).to.equal(first.ca.cert);
    expect(await certs.reload()).to.equal(false);
    await put(second);
    expect(await certs.reload()).to.equal(true);
    expect(certs.currentServing().cert).to.equal(second.serving.cert);
    expect(changes).to.equal(2);
  });

  it('keeps the previous certificate when the files are half-updated or missing', async () => {
    await put(first);
    const errors: string[] = [];
    const certs = new DirectoryCertificates({ dir, logger: { ...quiet, warn: (m: string) => errors.push(m), error: (m: string) => errors.push(m) } });
    await certs.reload();
    await put(second, first.serving.key);
    expect(await certs.reload()).to.equal(false);
    await rm(join(dir, TLS_KEY_KEY));
    expect(await certs.reload()).to.equal(false);
    expect(certs.currentServing().cert).to.equal(first.serving.cert);
    expect(errors).to.have.length(2);
  });

  it('throws a clear error before anything was loaded', () => {
    expect(() => new DirectoryCertificates({ dir, logger: quiet }).currentServing()).to.throw(/no serving certificate loaded yet from/);
  });
});
