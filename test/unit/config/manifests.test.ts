// Every manifest under config/ and examples/ parses, names its kind, and fits what Suture's code expects: the
// kustomizations list every file of their directory, the Deployment runs `suture run` with flags it accepts, the
// Service and probes reach the port Suture listens on, and the ClusterRole grants what the reconcilers write.
// test/integration/config.test.ts has the API server validate the same objects.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { KINDS } from '../../../src/api/schema.js';
import { defaults, parseConfig } from '../../../src/config.js';
import { GENERATED_KINDS } from '../../../src/controller/reconcilers/generated.js';

const root = join(import.meta.dirname, '..', '..', '..');

interface Manifest {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return entry.endsWith('.yaml') || entry.endsWith('.yml') ? [path] : [];
  });
}

/** Every document of a file; fails on any YAML error. */
function documents(path: string): Manifest[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${relative(root, path)}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as Manifest | null;
    return value === null ? [] : [value];
  });
}

const files = [...yamlFiles(join(root, 'config')), ...yamlFiles(join(root, 'examples'))];
const objects = new Map(files.map((file) => [relative(root, file), documents(file)]));
/** examples/gitops-repo and examples/cookbook are GitOps repositories of their own (fixtures, a test file), tested by kubectl suture test. */
const isSample = (file: string): boolean => file.startsWith('examples/') && !file.startsWith('examples/gitops-repo/') && !file.startsWith('examples/cookbook/');

function only(kind: string, name?: string): Manifest {
  const found = [...objects.entries()]
    .filter(([file]) => file.startsWith('config/') && !file.startsWith('config/crd/'))
    .flatMap(([, docs]) => docs)
    .filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  expect(found, `${kind} ${name ?? ''} in config/`).to.have.length(1);
  return found[0] as Manifest;
}

/** Whether some rule grants `verb` on `resource` of `group` (wildcards honoured). */
function allows(rules: readonly Rule[], group: string, resource: string, verb: string): boolean {
  return rules.some(
    (r) => (r.apiGroups ?? []).some((g) => g === '*' || g === group) && (r.resources ?? []).some((x) => x === '*' || x === resource) && r.verbs.some((v) => v === '*' || v === verb),
  );
}

describe('config/ and examples/ manifests', () => {
  it('finds the kustomize layout of config/ and the examples', () => {
    for (const dir of ['crd', 'rbac', 'manager', 'samples', 'default']) expect(existsSync(join(root, 'config', dir, 'kustomization.yaml')), `config/${dir}/kustomization.yaml`).to.equal(true);
    expect(existsSync(join(root, 'config', 'webhook', 'README.md'))).to.equal(true);
    expect(files.length).to.be.greaterThan(15);
  });

  for (const [file, docs] of objects) {
    it(`${file}: every document has apiVersion, kind and a name`, () => {
      expect(docs.length, 'documents').to.be.greaterThan(0);
      for (const doc of docs) {
        expect(doc.apiVersion, 'apiVersion').to.be.a('string');
        expect(doc.kind, 'kind').to.be.a('string');
        if (doc.kind !== 'Kustomization') expect(doc.metadata?.name, `${doc.kind ?? ''} metadata.name`).to.match(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
      }
    });
  }

  describe('kustomizations', () => {
    const kustomizations = [...objects.entries()].filter(([, docs]) => docs.some((d) => d.kind === 'Kustomization'));
    for (const [file, docs] of kustomizations) {
      const dir = join(root, file, '..');
      const resources = (docs[0]?.['resources'] ?? []) as string[];
      it(`${file}: every resource exists, files stay below the kustomization (kustomize refuses others)`, () => {
        for (const resource of resources) {
          const path = join(dir, resource);
          expect(existsSync(path), `${resource} exists`).to.equal(true);
          if (statSync(path).isFile()) expect(relative(dir, path).startsWith('..'), `${resource} is below ${relative(root, dir)}`).to.equal(false);
          else expect(existsSync(join(path, 'kustomization.yaml')), `${resource} has a kustomization.yaml`).to.equal(true);
        }
      });
      if (!file.startsWith('examples/')) {
        it(`${file}: lists every manifest of its directory`, () => {
          const siblings = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
          const listed = new Set(resources.map((r) => r.replace(/^\.\//, '')));
          for (const sibling of siblings) expect(listed.has(sibling), `${sibling} is listed`).to.equal(true);
        });
      }
    }

    it('config/default is namespaced suture-system and includes crd, rbac and manager, not the samples', () => {
      const kustomization = objects.get('config/default/kustomization.yaml')?.[0] ?? {};
      expect(kustomization['namespace']).to.equal(defaults.namespace);
      expect(kustomization['resources']).to.include.members(['../crd', '../rbac', '../manager']);
      expect(kustomization['resources']).not.to.include('../samples');
    });

    it('config/samples reaches every example except the exception (its expiresAt must be set when applied)', () => {
      const listed = (objects.get('examples/kustomization.yaml')?.[0]?.['resources'] ?? []) as string[];
      const examples = [...objects.keys()].filter((f) => isSample(f) && !f.endsWith('kustomization.yaml')).map((f) => f.slice('examples/'.length));
      expect(listed.sort()).to.deep.equal(examples.filter((f) => !f.startsWith('exceptions/')).sort());
    });
  });

  it('examples are Suture objects of the served kinds', () => {
    const kinds = new Set(KINDS.map((k) => k.kind));
    for (const [file, docs] of objects) {
      if (!isSample(file) || file.endsWith('kustomization.yaml')) continue;
      for (const doc of docs) {
        expect(doc.apiVersion, file).to.equal('suture.dev/v1alpha1');
        expect(kinds.has(doc.kind ?? ''), `${file}: ${doc.kind ?? ''}`).to.equal(true);
      }
    }
  });

  describe('config/manager', () => {
    type Container = {
      args?: string[];
      env?: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
      ports?: { name: string; containerPort: number }[];
      livenessProbe?: { httpGet: { path: string; port: string | number; scheme: string } };
      readinessProbe?: { httpGet: { path: string; port: string | number; scheme: string } };
      resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
      securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
    };
    type PodSpec = { serviceAccountName?: string; securityContext?: { runAsNonRoot?: boolean }; containers: Container[] };
    const deployment = only('Deployment', 'suture') as Manifest & { spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } };
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0] as Container;

    it('runs 2 replicas as the ServiceAccount of config/rbac, non-root with a read-only root filesystem', () => {
      expect(deployment.spec.replicas).to.equal(2);
      expect(pod.serviceAccountName).to.equal(only('ServiceAccount').metadata?.name);
      expect(pod.securityContext?.runAsNonRoot).to.equal(true);
      expect(container.securityContext?.readOnlyRootFilesystem).to.equal(true);
      expect(container.securityContext?.allowPrivilegeEscalation).to.equal(false);
      expect(container.securityContext?.capabilities?.drop).to.deep.equal(['ALL']);
      expect(container.resources?.requests).to.have.keys('cpu', 'memory');
      expect(container.resources?.limits).to.have.key('memory');
    });

    it('passes POD_NAME and POD_NAMESPACE through the downward API', () => {
      const env = new Map((container.env ?? []).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]));
      expect(env.get('POD_NAME')).to.equal('metadata.name');
      expect(env.get('POD_NAMESPACE')).to.equal('metadata.namespace');
    });

    it('gives `suture run` flags it accepts, and in a pod it uses the namespace and port config/ expects', () => {
      const { config } = parseConfig(container.args ?? [], { POD_NAME: 'suture-0', POD_NAMESPACE: defaults.namespace, KUBERNETES_SERVICE_HOST: '10.0.0.1' }, { hostname: 'h', pid: 1 });
      expect(config.namespace).to.equal(defaults.namespace);
      expect(config.kubeconfig).to.deep.equal({ kind: 'inCluster' });
      expect(config.webhook.url).to.equal(undefined);
      expect(container.ports?.find((p) => p.name === 'webhook')?.containerPort).to.equal(config.webhook.port);
    });

    it('probes /healthz and /readyz over HTTPS on the webhook port', () => {
      expect(container.livenessProbe?.httpGet).to.deep.include({ path: '/healthz', port: 'webhook', scheme: 'HTTPS' });
      expect(container.readinessProbe?.httpGet).to.deep.include({ path: '/readyz', port: 'webhook', scheme: 'HTTPS' });
    });

    it('the Service suture-webhook sends 443 to the webhook port of these pods', () => {
      const service = only('Service') as Manifest & { spec: { selector: Record<string, string>; ports: { port: number; targetPort: string | number }[] } };
      expect(service.metadata?.name).to.equal(defaults.webhookService);
      expect(service.spec.ports).to.deep.include.members([{ name: 'webhook', port: 443, targetPort: 'webhook', protocol: 'TCP' }]);
      expect(deployment.spec.template.metadata.labels).to.deep.include(service.spec.selector);
      expect(deployment.spec.template.metadata.labels).to.deep.include(deployment.spec.selector.matchLabels);
    });

    it('a PodDisruptionBudget keeps one replica through voluntary disruptions', () => {
      const pdb = only('PodDisruptionBudget') as Manifest & { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } };
      expect(pdb.spec.minAvailable).to.equal(1);
      expect(deployment.spec.template.metadata.labels).to.deep.include(pdb.spec.selector.matchLabels);
    });

    it('every namespaced object of config/rbac and config/manager is in suture-system', () => {
      for (const [file, docs] of objects) {
        if (!/^config\/(rbac|manager)\//.test(file)) continue;
        for (const doc of docs.filter((d) => !['Kustomization', 'Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(d.kind ?? ''))) {
          expect(doc.metadata?.namespace, `${file}: ${doc.kind ?? ''}`).to.equal(defaults.namespace);
        }
      }
    });
  });

  describe('config/rbac', () => {
    const clusterRules = (only('ClusterRole', 'suture') as Manifest & { rules: Rule[] }).rules;
    const namespaceRules = (only('Role', 'suture') as Manifest & { rules: Rule[] }).rules;

    it('lets the caches get, list and watch every kind', () => {
      for (const verb of ['get', 'list', 'watch']) expect(allows(clusterRules, 'example.com', 'widgets', verb), verb).to.equal(true);
    });

    const writes = ['create', 'update', 'patch', 'delete'];
    it('lets the leader write its webhook configurations', () => {
      for (const resource of ['validatingwebhookconfigurations', 'mutatingwebhookconfigurations']) for (const verb of writes) expect(allows(clusterRules, 'admissionregistration.k8s.io', resource, verb), `${verb} ${resource}`).to.equal(true);
    });

    it('lets the lease reconciler write every kind it generates, and escalate and bind for the holders', () => {
      for (const kind of GENERATED_KINDS) {
        const group = kind.apiVersion.includes('/') ? (kind.apiVersion.split('/')[0] ?? '') : '';
        for (const verb of writes) expect(allows(clusterRules, group, kind.resource, verb), `${verb} ${kind.resource}`).to.equal(true);
      }
      for (const resource of ['roles', 'clusterroles']) expect(allows(clusterRules, 'rbac.authorization.k8s.io', resource, 'escalate'), `escalate ${resource}`).to.equal(true);
      for (const resource of ['roles', 'clusterroles']) expect(allows(clusterRules, 'rbac.authorization.k8s.io', resource, 'bind'), `bind ${resource}`).to.equal(true);
    });

    it('lets it write status of its own kinds and Events, but never their spec', () => {
      for (const kind of KINDS) {
        expect(allows(clusterRules, 'suture.dev', `${kind.plural}/status`, 'patch'), `${kind.plural}/status`).to.equal(true);
        expect(allows(clusterRules, 'suture.dev', kind.plural, 'update'), `update ${kind.plural}`).to.equal(false);
      }
      for (const verb of ['create', 'patch']) expect(allows(clusterRules, '', 'events', verb)).to.equal(true);
    });

    it('grants nothing else cluster-wide: no writes to pods, secrets or namespaces, no impersonate', () => {
      for (const [group, resource] of [['', 'pods'], ['', 'secrets'], ['', 'namespaces'], ['apps', 'deployments']] as const) expect(allows(clusterRules, group, resource, 'delete'), resource).to.equal(false);
      expect(allows(clusterRules, '', 'serviceaccounts', 'impersonate')).to.equal(false);
      expect(clusterRules.flatMap((r) => r.verbs)).not.to.include('*');
    });

    it('lets it write its certificate Secret, budget ConfigMaps and leader Lease in its namespace', () => {
      for (const verb of writes) {
        expect(allows(namespaceRules, '', 'secrets', verb)).to.equal(true);
        expect(allows(namespaceRules, '', 'configmaps', verb)).to.equal(true);
        expect(allows(namespaceRules, 'coordination.k8s.io', 'leases', verb)).to.equal(true);
      }
    });

    it('binds both roles to the ServiceAccount', () => {
      const account = only('ServiceAccount').metadata;
      for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
        const binding = only(kind, 'suture') as Manifest & { roleRef: { kind: string; name: string }; subjects: { kind: string; name: string; namespace: string }[] };
        expect(binding.roleRef).to.deep.include({ kind: kind.replace('Binding', ''), name: 'suture' });
        expect(binding.subjects).to.deep.equal([{ kind: 'ServiceAccount', name: account?.name, namespace: account?.namespace }]);
      }
    });
  });
});
