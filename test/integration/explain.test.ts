// `kubectl explain` on the real API server answers for every field of Suture's kinds: the CRDs of crds/ are applied,
// the OpenAPI v3 document the API server publishes for suture.dev/v1alpha1 (what kubectl explain reads) is walked
// for a property without a description, and the built kubectl's own `explain` is run on the field the issue names.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { KINDS } from '../../src/api/schema.js';
import { createObjectClient } from '../../src/kube/client.js';
import { cluster } from './cluster.js';
import { ensureCrds } from './suture-process.js';
import { eventually, rawRequest } from './support.js';

type Node = { description?: string; properties?: Record<string, Node>; items?: Node; allOf?: Node[]; $ref?: string };

/** Properties without a description, below `node`; references (ObjectMeta) are Kubernetes' own and documented there. */
function undescribed(node: Node, path: string): string[] {
  const problems: string[] = [];
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const here = `${path}.${name}`;
    if (child.$ref !== undefined || child.allOf !== undefined) continue;
    if ((child.description ?? '').trim() === '') problems.push(here);
    problems.push(...undescribed(child, here), ...(child.items === undefined ? [] : undescribed(child.items, here)));
  }
  return problems;
}

describe('kubectl explain on the API server', function () {
  this.timeout(120_000);
  let schemas: Record<string, Node> = {};

  before(async () => {
    await ensureCrds(createObjectClient(cluster().kubeConfig, { fieldManager: 'explain-test' }));
    // The API server publishes a CRD's OpenAPI shortly after it is Established.
    await eventually('suture.dev/v1alpha1 in /openapi/v3', async () => {
      const response = await rawRequest(cluster().kubeConfig, { method: 'GET', path: '/openapi/v3/apis/suture.dev/v1alpha1' });
      if (response.status !== 200) return false;
      schemas = (response.body as { components?: { schemas?: Record<string, Node> } }).components?.schemas ?? {};
      return KINDS.every((k) => `dev.suture.v1alpha1.${k.kind}` in schemas);
    });
  });

  for (const def of KINDS) {
    it(`publishes a description for every field of ${def.kind}`, () => {
      const schema = schemas[`dev.suture.v1alpha1.${def.kind}`] ?? {};
      expect(schema.description, def.kind).to.be.a('string').and.not.empty;
      expect(Object.keys(schema.properties?.['spec']?.properties ?? {}), 'spec fields published').not.to.be.empty;
      expect(undescribed(schema, def.singular)).to.deep.equal([]);
    });
  }

  it('kubectl explain suturepolicy.spec.invariants describes the field and each of its fields', async () => {
    const { stdout } = await promisify(execFile)(join(cluster().binDir, 'kubectl'), ['--kubeconfig', cluster().kubeconfigPath, 'explain', 'suturepolicy.spec.invariants']);
    expect(stdout).to.include('FIELD: invariants <[]Object>');
    expect(stdout).to.include('Checks that must all hold after the request');
    for (const field of ['avert', 'budget', 'expression', 'immutable', 'maxCascade', 'message', 'messageExpression', 'minAvailable', 'monotonic', 'name', 'protect']) {
      // Each field line is followed by its description: `  name\t<type>` then an indented, non-empty line.
      expect(stdout, field).to.match(new RegExp(`\\n  ${field}\\t<[^>]+>( -required-)?\\n    \\S`));
    }
  });
});
