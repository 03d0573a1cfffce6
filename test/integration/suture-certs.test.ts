// Rotation of Suture's webhook CA while two real Suture processes serve the API server, with a stream of real
// admission requests through it. What is real and what is arranged:
//  - real: two `suture run` processes behind the balancer, the certificate Secret on the API server, the caBundle the
//    leader publishes, the API server's TLS verification of every webhook call, the replicas re-reading the Secret;
//  - the CA is made due by arrangement: before Suture starts, the Secret holds a CA issued 244 days ago (due at 2/3
//    of its 365 days), so the processes themselves stage the new CA at start, with their real clock;
//  - the later steps (serving certificate moved to the new CA, old CA pruned) are written by SecretCertificates
//    .reconcile() in the test, with the real clock but a propagation and grace of 15 s instead of 10 min and 1 h,
//    as a replica whose check came due first would write them; the running processes adopt what it wrote.
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { expect } from 'chai';
import type { KubeObject } from '../../src/api/types.js';
import { createCa, defaultPkiPolicy, issueServing, servingNames, splitPem } from '../../src/kube/pki.js';
import { materialToData, SecretCertificates, secretStore } from '../../src/kube/certificates.js';
import { createObjectClient } from '../../src/kube/client.js';
import { createMemoryLogger } from '../../src/observability/logger.js';
import { cluster } from './cluster.js';
import { SUTURE_NAMESPACE, WEBHOOK_CONFIGURATIONS, ensureCrds, startSutureReplicas, type SutureReplicas } from './suture-process.js';
import { eventually, uniqueName } from './support.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const SECRET = { namespace: SUTURE_NAMESPACE, name: 'suture-webhook-cert' };
const NAMES = servingNames('suture-webhook', SUTURE_NAMESPACE, true);
const STEP_MS = 15_000;

type Webhooks = KubeObject & { webhooks?: { clientConfig?: { caBundle?: string } }[] };

const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;

/** The CA certificates every webhook of both configurations carries, as fingerprints (one list, or undefined if they differ). */
async function publishedBundle(suture: SutureReplicas): Promise<string[] | undefined> {
  const configs = await Promise.all(WEBHOOK_CONFIGURATIONS.map((ref) => suture.client.find<Webhooks>(ref)));
  const bundles = configs.flatMap((c) => c?.webhooks ?? []).map((w) => splitPem(Buffer.from(w.clientConfig?.caBundle ?? '', 'base64').toString('utf8')).map(fingerprint).join(','));
  return new Set(bundles).size === 1 && bundles[0] !== undefined ? bundles[0].split(',') : undefined;
}

/** The certificate a replica serves, verified against `caPem` (a TLS handshake to 127.0.0.1, as the API server makes). */
function served(port: number, caPem: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: caPem, timeout: 3000 }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.end();
      if (cert === undefined) reject(new Error('no peer certificate'));
      else resolve(cert.fingerprint256);
    });
    socket.on('error', reject);
    socket.on('timeout', () => socket.destroy(new Error('TLS handshake timed out')));
  });
}

describe('webhook CA rotation with two Suture processes serving (real `suture run`, real API server TLS)', function () {
  this.timeout(240_000);
  let suture: SutureReplicas | undefined;

  after(async function () {
    this.timeout(90_000);
    await suture?.stop();
    await createObjectClient(cluster().kubeConfig).delete({ apiVersion: 'v1', kind: 'Secret', ...SECRET });
  });

  it('stages, switches to and prunes CAs while 200 admission requests through the API server all succeed', async () => {
    const client = createObjectClient(cluster().kubeConfig);
    await ensureCrds(client);
    if ((await client.find({ apiVersion: 'v1', kind: 'Namespace', name: SUTURE_NAMESPACE })) === undefined) await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: SUTURE_NAMESPACE } });
    await client.delete({ apiVersion: 'v1', kind: 'Secret', ...SECRET });
    const store = secretStore(client, SECRET);
    const now = Date.now();
    const oldCa = await createCa('suture-webhook-ca', new Date(now - 244 * DAY_MS), 365 * DAY_MS);
    const oldServing = await issueServing(oldCa, NAMES, new Date(now - 60 * 60 * 1000), 90 * DAY_MS);
    await store.write(materialToData({ ca: oldCa, trusted: [oldCa.cert], serving: oldServing }), undefined);

    // 1. The processes start on a due CA: one of them stages a new CA; both serve the old serving certificate.
    suture = await startSutureReplicas(2);
    const staged = await store.read();
    const trusted = splitPem(staged?.data['ca.crt'] ?? '');
    expect(trusted.map(fingerprint)).to.have.length(2);
    expect(trusted[1] === undefined ? '' : fingerprint(trusted[1])).to.equal(fingerprint(oldCa.cert));
    const newCa = trusted[0] ?? '';
    expect(staged?.data['tls.crt']).to.equal(oldServing.cert);
    await eventually('the caBundle with both CAs is published', async () => (await publishedBundle(suture as SutureReplicas))?.join() === [fingerprint(newCa), fingerprint(oldCa.cert)].join(), 15_000);
    const stagedAt = Date.now();

    // A stream of admission requests through the API server to Suture's objects webhook (dry-run creates: every
    // one is a webhook call over TLS), with the balancer's connections dropped between requests every 10 requests,
    // so the API server keeps making new TLS handshakes against the bundle it holds.
    const policy = { apiVersion: 'suture.dev/v1alpha1', kind: 'SuturePolicy', metadata: { name: uniqueName('it-rotation') }, spec: { match: [{ apiGroups: [''], kinds: ['ConfigMap'], namespaces: ['nowhere'] }], invariants: [{ name: 'keep', protect: {} }] } };
    const failures: string[] = [];
    let sent = 0;
    const stream = (async () => {
      const until = Date.now() + 150_000;
      for (; sent < 200 && Date.now() < until; sent++) {
        await client.create(policy, { dryRun: true }).catch((error: unknown) => failures.push(String(error)));
        if (sent % 10 === 9) suture?.pool.balancer.dropConnections();
        await new Promise((r) => setTimeout(r, 250));
      }
    })();

    // 2. After the propagation time, the serving certificate moves to the new CA; both replicas serve it.
    const rotator = new SecretCertificates({ store, policy: { ...defaultPkiPolicy(NAMES), propagationMs: STEP_MS, graceMs: STEP_MS }, clock: () => new Date(), logger: createMemoryLogger() });
    await new Promise((r) => setTimeout(r, Math.max(0, stagedAt + STEP_MS + 1000 - Date.now())));
    expect((await rotator.reconcile()).actions).to.deep.equal(['issueServing']);
    const newServing = (await store.read())?.data['tls.crt'] ?? '';
    expect(new X509Certificate(newServing).checkIssued(new X509Certificate(newCa))).to.be.true;
    const switched = Date.now();
    for (const i of [0, 1]) await eventually(`replica ${i} serves the new certificate`, async () => (await served(suture?.pool.portOf(i) ?? 0, newCa).catch(() => '')) === fingerprint(newServing), 30_000);
    const servedMs = Date.now() - switched;

    // 3. After the grace time, the old CA leaves the bundle, and the leader publishes the bundle without it.
    await new Promise((r) => setTimeout(r, STEP_MS + 1000));
    expect((await rotator.reconcile()).actions).to.deep.equal(['prune']);
    const pruned = Date.now();
    await eventually('the caBundle without the old CA is published', async () => (await publishedBundle(suture as SutureReplicas))?.join() === fingerprint(newCa), 30_000);
    const publishedMs = Date.now() - pruned;
    await stream;
    process.stderr.write(`      rotation: ${sent} requests, ${failures.length} failed; new certificate served by both replicas ${servedMs} ms after the switch, pruned bundle published ${publishedMs} ms after the prune\n`);
    expect(failures).to.deep.equal([]);
    expect(sent).to.equal(200);
  });
});
