// charts/suture against config/default: `helm template` (Helm built from its Go module, test/helm) renders the same
// objects as `kubectl kustomize config/default` (the built kubectl's own kustomize), apart from what Helm adds by
// convention (its labels, resource-policy keep on the CRDs) and the Namespace (Helm needs it before the release);
// both renderings are applied to the real API server with `kubectl apply --server-side --dry-run=server`.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { parseAllDocuments, stringify } from 'yaml';
import type { KubeObject } from '../../src/api/types.js';
import { findHelm } from '../helm/helm.js';
import { cluster } from './cluster.js';
import { createNamespace, deleteNamespace } from './support.js';

const root = join(import.meta.dirname, '..', '..');
const chart = join(root, 'charts', 'suture');
const run = promisify(execFile);
/** What Helm adds to every object by convention and config/default does not. */
const HELM_LABELS = ['helm.sh/chart', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/instance', 'app.kubernetes.io/version'];
const HELM_ANNOTATIONS = ['helm.sh/resource-policy'];

type Manifest = KubeObject & { subjects?: { namespace?: string }[] };

function parseObjects(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((o): o is Manifest => o !== null);
}

async function helmTemplate(namespace: string, args: readonly string[] = []): Promise<Manifest[]> {
  const { stdout } = await run(await findHelm(), ['template', 'suture', chart, '--namespace', namespace, ...args], { maxBuffer: 16 * 1024 * 1024 });
  return parseObjects(stdout);
}

/**
 * Cluster-scoped kinds that kustomize's built-in scope table does not know, so its `namespace:` sets a namespace on
 * them (the API server ignores it); the chart rightly sets none.
 */
const UNKNOWN_TO_KUSTOMIZE = new Set(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);

async function kustomize(dir = 'default'): Promise<Manifest[]> {
  const { stdout } = await run(join(cluster().binDir, 'kubectl'), ['kustomize', join(root, 'config', dir)], { maxBuffer: 16 * 1024 * 1024 });
  // Helm's own labels and annotations are set aside on both sides (Helm's managed-by replaces Suture's on the
  // self-protection objects; the leader's repair writes Suture's back).
  return parseObjects(stdout).map((o) => {
    if (UNKNOWN_TO_KUSTOMIZE.has(o.kind)) delete o.metadata.namespace;
    return withoutHelmMetadata(o);
  });
}

function withoutHelmMetadata(object: Manifest): Manifest {
  const copy = structuredClone(object);
  for (const [field, keys] of [['labels', HELM_LABELS], ['annotations', HELM_ANNOTATIONS]] as const) {
    const map = copy.metadata[field];
    if (map === undefined) continue;
    for (const key of keys) delete map[key];
    if (Object.keys(map).length === 0) delete copy.metadata[field];
  }
  return copy;
}

function key(o: Manifest): string {
  return `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
}

function byKey(objects: readonly Manifest[]): Map<string, Manifest> {
  return new Map(objects.map((o) => [key(o), o]));
}

/** The kustomize rendering moved into `namespace` (the control plane is shared: suture-system may be in use). */
function relocate(objects: readonly Manifest[], namespace: string): Manifest[] {
  return objects.map((o) => {
    const copy = structuredClone(o);
    if (copy.metadata.namespace !== undefined) copy.metadata.namespace = namespace;
    for (const s of copy.subjects ?? []) if (s.namespace !== undefined) s.namespace = namespace;
    return copy;
  });
}

async function dryRunApply(objects: readonly Manifest[]): Promise<string> {
  const kubectl = join(cluster().binDir, 'kubectl');
  const manifest = objects.map((o) => stringify(o)).join('---\n');
  const child = execFile(kubectl, ['--kubeconfig', cluster().kubeconfigPath, 'apply', '--server-side', '--force-conflicts', '--field-manager=chart-test', '--dry-run=server', '-f', '-']);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin?.end(manifest);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`kubectl apply --dry-run=server failed (${code}): ${err}`);
  return out;
}

describe('charts/suture', function () {
  this.timeout(120_000);

  it('helm template renders the objects of config/default but the Namespace, equal once Helm\'s own labels are set aside', async () => {
    const fromHelm = byKey((await helmTemplate('suture-system')).map(withoutHelmMetadata));
    const fromKustomize = byKey((await kustomize()).filter((o) => o.kind !== 'Namespace'));
    expect([...fromHelm.keys()].sort()).to.deep.equal([...fromKustomize.keys()].sort());
    for (const [k, object] of fromKustomize) expect(fromHelm.get(k), k).to.deep.equal(object);
  });

  it('with the metrics toggles on it renders config/monitoring: ServiceMonitor, PrometheusRule and the dashboard ConfigMap', async () => {
    const toggles = ['--set', 'metrics.serviceMonitor.enabled=true,metrics.prometheusRule.enabled=true,metrics.grafanaDashboard.enabled=true'];
    const fromHelm = byKey((await helmTemplate('suture-system', toggles)).map(withoutHelmMetadata));
    const fromKustomize = byKey((await kustomize('monitoring')).filter((o) => o.kind !== 'Namespace'));
    expect([...fromHelm.keys()].sort()).to.deep.equal([...fromKustomize.keys()].sort());
    for (const k of ['ServiceMonitor/suture-system/suture', 'PrometheusRule/suture-system/suture', 'ConfigMap/suture-system/suture-grafana-dashboard']) expect(fromHelm.has(k), k).to.equal(true);
    for (const [k, object] of fromKustomize) expect(fromHelm.get(k), k).to.deep.equal(object);
  });

  it('every object carries Helm\'s labels, and the CRDs are kept on uninstall unless crds.keep=false', async () => {
    const objects = await helmTemplate('suture-system');
    for (const o of objects) expect(Object.keys(o.metadata.labels ?? {}), key(o)).to.include.members(HELM_LABELS);
    const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
    expect(crds).to.have.length(3);
    for (const crd of crds) expect(crd.metadata.annotations).to.deep.equal({ 'helm.sh/resource-policy': 'keep' });
    const notKept = (await helmTemplate('suture-system', ['--set', 'crds.keep=false'])).filter((o) => o.kind === 'CustomResourceDefinition');
    for (const crd of notKept) expect(crd.metadata.annotations).to.equal(undefined);
    expect((await helmTemplate('suture-system', ['--set', 'crds.install=false'])).filter((o) => o.kind === 'CustomResourceDefinition')).to.deep.equal([]);
  });

  it('values change the Deployment as documented, and values.schema.json refuses an unknown or invalid value', async () => {
    const objects = await helmTemplate('suture-system', ['--set', 'replicaCount=3', '--set', 'image.repository=registry.example.com/suture', '--set', 'image.tag=v1', '--set', 'failurePolicy=Ignore', '--set', 'podDisruptionBudget.enabled=false']);
    const deployment = objects.find((o) => o.kind === 'Deployment') as Manifest & { spec: { replicas: number; template: { spec: { containers: { image: string; args: string[] }[] } } } };
    expect(deployment.spec.replicas).to.equal(3);
    expect(deployment.spec.template.spec.containers[0]?.image).to.equal('registry.example.com/suture:v1');
    expect(deployment.spec.template.spec.containers[0]?.args).to.deep.equal(['--log-level=info', '--failure-policy=Ignore']);
    expect(objects.some((o) => o.kind === 'PodDisruptionBudget')).to.equal(false);
    for (const bad of ['bogus=1', 'replicaCount=0', 'failurePolicy=Sometimes']) {
      const failed = await helmTemplate('suture-system', ['--set', bad]).then(
        () => undefined,
        (e: unknown) => (e instanceof Error ? e.message : String(e)),
      );
      expect(failed, bad).to.include("values don't meet the specifications of the schema");
    }
  });

  describe('applied to the API server (server-side dry run)', () => {
    let namespace = '';
    before(async () => {
      namespace = await createNamespace(cluster().kubeConfig, 'suture-chart');
    });
    after(async () => {
      await deleteNamespace(cluster().kubeConfig, namespace);
    });

    // The Prometheus Operator's CRDs are not on the test control plane: ServiceMonitor and PrometheusRule are
    // compared with config/prometheus above but not applied.
    it('accepts every object of the chart, the dashboard ConfigMap included', async () => {
      const objects = await helmTemplate(namespace, ['--set', 'metrics.grafanaDashboard.enabled=true']);
      const out = await dryRunApply(objects);
      expect(out).to.include('configmap/suture-grafana-dashboard serverside-applied (server dry run)');
      expect(out).to.include('deployment.apps/suture serverside-applied (server dry run)');
      expect(out).to.include('customresourcedefinition.apiextensions.k8s.io/suturepolicies.suture.dev serverside-applied (server dry run)');
    });

    it('accepts every object of config/default', async () => {
      const objects = relocate((await kustomize()).filter((o) => o.kind !== 'Namespace'), namespace);
      const out = await dryRunApply(objects);
      expect(out.trim().split('\n')).to.have.length(objects.length);
    });

    it('creates nothing', async () => {
      const pods = await cluster().kubeConfig.makeApiClient(CoreV1Api).listNamespacedServiceAccount({ namespace });
      expect(pods.items.map((s) => s.metadata?.name)).not.to.include('suture');
    });
  });
});
