import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { AdmissionregistrationV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { expect } from 'chai';
import { createCertificateAuthority, issueServingCertificate } from '../controlplane/pki.js';
import { cluster } from './cluster.js';
import { createNamespace, deleteNamespace, eventually, ignoreNotFound, statusMessage, uniqueName } from './support.js';

interface AdmissionReview {
  apiVersion?: string;
  kind?: string;
  request?: { uid: string; kind?: { kind?: string }; operation?: string; namespace?: string; name?: string };
}

const denial = 'suture integration test: configmaps labelled webhook=deny are refused';

/** A tiny validating webhook on 127.0.0.1 that records every AdmissionReview and denies all of them. */
function startWebhook(tls: { cert: string; key: string }, received: AdmissionReview[]): Promise<Server> {
  const server = createServer(tls, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AdmissionReview;
      received.push(review);
      const response = { uid: review.request?.uid ?? '', allowed: false, status: { code: 403, message: denial } };
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function webhookConfiguration(name: string, namespace: string, port: number, caPem: string): V1ValidatingWebhookConfiguration {
  return {
    metadata: { name },
    webhooks: [
      {
        name: 'deny.it.suture.dev',
        clientConfig: { url: `https://127.0.0.1:${port}/validate`, caBundle: Buffer.from(caPem).toString('base64') },
        rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'], scope: 'Namespaced' }],
        // Scoped to one namespace and one label, so nothing else in the control plane ever reaches this webhook.
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
        objectSelector: { matchLabels: { webhook: 'deny' } },
        // Fail (not Ignore): the narrow scope cannot block the control plane, and a broken TLS setup must show up
        // as an error rather than as a silently admitted probe.
        failurePolicy: 'Fail',
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        timeoutSeconds: 5,
      },
    ],
  };
}

/** Creates a labelled probe ConfigMap; returns the error once the webhook intercepts, deleting probes admitted before that. */
async function firstDenial(core: CoreV1Api, namespace: string): Promise<unknown> {
  let denied: unknown;
  await eventually('the webhook intercepts a probe', async () => {
    const name = uniqueName('probe');
    try {
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name, labels: { webhook: 'deny' } } } });
    } catch (error) {
      denied = error;
      return true;
    }
    await core.deleteNamespacedConfigMap({ name, namespace });
    return false;
  });
  return denied;
}

describe('admission webhooks', () => {
  it('sends an AdmissionReview v1 to a local HTTPS webhook and returns its denial message to the client', async () => {
    const kc = cluster().kubeConfig;
    const ca = await createCertificateAuthority('suture-it-webhook-ca');
    const serving = await issueServingCertificate(ca, 'webhook', { ips: ['127.0.0.1'], dnsNames: [] });
    const received: AdmissionReview[] = [];
    const server = await startWebhook({ cert: serving.certPem, key: serving.keyPem }, received);
    const namespace = await createNamespace(kc, 'it-webhook');
    const admission = kc.makeApiClient(AdmissionregistrationV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const configName = uniqueName('it-deny');
    try {
      const { port } = server.address() as AddressInfo;
      await admission.createValidatingWebhookConfiguration({ body: webhookConfiguration(configName, namespace, port, ca.certPem) });

      const error = await firstDenial(core, namespace);
      expect(statusMessage(error)).to.include(denial).and.include('deny.it.suture.dev');
      const review = received.at(-1);
      expect(review?.apiVersion).to.equal('admission.k8s.io/v1');
      expect(review?.kind).to.equal('AdmissionReview');
      expect(review?.request).to.include({ operation: 'CREATE', namespace });
      expect(review?.request?.kind?.kind).to.equal('ConfigMap');
      expect(review?.request?.uid).to.be.a('string').and.not.empty;

      // Outside the selector nothing is sent: an unlabelled ConfigMap is admitted without a review.
      const before = received.length;
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'unlabelled' } } });
      expect(received.length).to.equal(before);
    } finally {
      await ignoreNotFound(admission.deleteValidatingWebhookConfiguration({ name: configName }));
      await deleteNamespace(kc, namespace);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
