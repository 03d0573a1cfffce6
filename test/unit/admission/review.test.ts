import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import type { Decision } from '../../../src/core/types.js';
import {
  decodeAdmissionReview,
  encodeAdmissionReview,
  errorDecision,
  isPatchable,
  MAX_WARNING_RUNES,
  MAX_WARNINGS_TOTAL_RUNES,
  sanitizeAuditAnnotations,
  sanitizeWarnings,
  truncateRunes,
} from '../../../src/admission/review.js';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../fixtures/admission/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;

function decision(overrides: Partial<Decision> = {}): Decision {
  return { ...errorDecision('d-1', ''), verdict: 'allow', allowed: true, ...overrides };
}

describe('admission/review: decoding', () => {
  const cases = [
    { file: 'create-pod', operation: 'CREATE', kind: 'Pod', resource: 'pods', subResource: undefined, object: true, oldObject: false, patchable: true },
    { file: 'update-deployment', operation: 'UPDATE', kind: 'Deployment', resource: 'deployments', subResource: undefined, object: true, oldObject: true, patchable: true },
    { file: 'delete-pvc', operation: 'DELETE', kind: 'PersistentVolumeClaim', resource: 'persistentvolumeclaims', subResource: undefined, object: false, oldObject: true, patchable: false },
    { file: 'scale-subresource', operation: 'UPDATE', kind: 'Scale', resource: 'statefulsets', subResource: 'scale', object: true, oldObject: true, patchable: true },
    { file: 'deletecollection-item', operation: 'DELETE', kind: 'Secret', resource: 'secrets', subResource: undefined, object: false, oldObject: true, patchable: false },
  ] as const;

  for (const c of cases) {
    it(`decodes ${c.file}`, () => {
      const body = fixture(c.file);
      const result = decodeAdmissionReview(body);
      if (!result.ok) expect.fail(result.errors.join('; '));
      const request = result.request;
      expect(request.uid).to.equal((body.request as { uid: string }).uid);
      expect(request.operation).to.equal(c.operation);
      expect(request.kind.kind).to.equal(c.kind);
      expect(request.resource.resource).to.equal(c.resource);
      expect(request.subResource).to.equal(c.subResource);
      expect(request.object != null).to.equal(c.object);
      expect(request.oldObject != null).to.equal(c.oldObject);
      expect(request.userInfo.username).to.match(/^system:serviceaccount:/);
      expect(request.userInfo.groups).to.include('system:authenticated');
      expect(isPatchable(request)).to.equal(c.patchable);
    });
  }

  it('keeps DELETE options: propagationPolicy and dryRun', () => {
    const result = decodeAdmissionReview(fixture('deletecollection-item'));
    if (!result.ok) expect.fail(result.errors.join('; '));
    expect(result.request.options?.propagationPolicy).to.equal('Foreground');
    expect(result.request.options?.dryRun).to.deep.equal(['All']);
    expect(result.request.dryRun).to.equal(true);
    expect(result.request.object).to.equal(null);
  });

  it('keeps the scale subresource apart from the parent kind', () => {
    const result = decodeAdmissionReview(fixture('scale-subresource'));
    if (!result.ok) expect.fail(result.errors.join('; '));
    expect(result.request.kind).to.deep.equal({ group: 'autoscaling', version: 'v1', kind: 'Scale' });
    expect(result.request.resource).to.deep.equal({ group: 'apps', version: 'v1', resource: 'statefulsets' });
    expect(result.request.requestKind?.kind).to.equal('Scale');
  });

  it('keeps userInfo.extra and a cluster-scoped request has no namespace', () => {
    const body = fixture('update-deployment');
    const result = decodeAdmissionReview(body);
    if (!result.ok) expect.fail(result.errors.join('; '));
    expect(result.request.userInfo.extra?.['authentication.kubernetes.io/pod-name']).to.deep.equal(['argocd-application-controller-0']);
    const request = body.request as Record<string, unknown>;
    delete request.namespace;
    const clusterScoped = decodeAdmissionReview(body);
    expect(clusterScoped.ok && clusterScoped.request.namespace).to.equal(undefined);
  });

  const invalid: { name: string; mutate: (body: Record<string, unknown>) => unknown; error: RegExp; uid: boolean }[] = [
    { name: 'a non-object body', mutate: () => [1, 2], error: /must be a JSON object/, uid: false },
    { name: 'v1beta1', mutate: (b) => ({ ...b, apiVersion: 'admission.k8s.io/v1beta1' }), error: /apiVersion: must be admission\.k8s\.io\/v1.*admissionReviewVersions/, uid: true },
    { name: 'a wrong kind', mutate: (b) => ({ ...b, kind: 'TokenReview' }), error: /kind: must be AdmissionReview, got "TokenReview"/, uid: true },
    { name: 'no request', mutate: (b) => ({ ...b, request: undefined }), error: /request: is required/, uid: false },
    { name: 'no uid', mutate: (b) => ({ ...b, request: { ...(b.request as object), uid: '' } }), error: /request\.uid: is required/, uid: false },
    { name: 'no userInfo', mutate: (b) => ({ ...b, request: { ...(b.request as object), userInfo: undefined } }), error: /request\.userInfo: is required/, uid: true },
    { name: 'a bad operation', mutate: (b) => ({ ...b, request: { ...(b.request as object), operation: 'PATCH' } }), error: /request\.operation: must be one of CREATE, UPDATE, DELETE, CONNECT, got "PATCH"/, uid: true },
    { name: 'a kind without version', mutate: (b) => ({ ...b, request: { ...(b.request as object), kind: { group: '', kind: 'Pod' } } }), error: /request\.kind\.version: is required/, uid: true },
    { name: 'a non-object object', mutate: (b) => ({ ...b, request: { ...(b.request as object), object: 'pod' } }), error: /request\.object: must be an object or null/, uid: true },
  ];
  for (const c of invalid) {
    it(`refuses ${c.name}, reporting the path${c.uid ? ' and keeping the uid' : ''}`, () => {
      const result = decodeAdmissionReview(c.mutate(fixture('create-pod')));
      if (result.ok) expect.fail('decoded an invalid review');
      expect(result.errors.join('; ')).to.match(c.error);
      expect(result.uid !== undefined).to.equal(c.uid);
    });
  }

  it('reports every problem at once', () => {
    const body = fixture('create-pod');
    body.request = { ...(body.request as object), operation: 'NOPE', resource: 7, userInfo: { username: 3 } };
    const result = decodeAdmissionReview(body);
    if (result.ok) expect.fail('decoded an invalid review');
    expect(result.errors).to.have.length(3);
  });
});

describe('admission/review: encoding', () => {
  const validate = { uid: 'u-1', phase: 'validate', patchable: true } as const;
  const mutate = { uid: 'u-1', phase: 'mutate', patchable: true } as const;

  it('allows with the uid echoed and nothing else', () => {
    const review = encodeAdmissionReview(decision({ id: 'other' }), validate);
    expect(review).to.deep.equal({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u-1', allowed: true } });
  });

  it('denies with 403 Forbidden and the message', () => {
    const review = encodeAdmissionReview(decision({ verdict: 'deny', allowed: false, message: 'delete of PVC prod/data-pg-1 denied' }), validate);
    expect(review.response.allowed).to.equal(false);
    expect(review.response.status).to.deep.equal({ code: 403, reason: 'Forbidden', message: 'delete of PVC prod/data-pg-1 denied' });
  });

  it('reports an undecidable request as 500, not as a denial', () => {
    const review = encodeAdmissionReview(errorDecision('u-1', 'snapshot unavailable'), validate);
    expect(review.response).to.deep.include({ uid: 'u-1', allowed: false });
    expect(review.response.status).to.deep.equal({ code: 500, reason: 'InternalError', message: 'snapshot unavailable' });
  });

  it('allows an error the failure policy let through, without a status', () => {
    const review = encodeAdmissionReview({ ...errorDecision('u-1', 'x'), allowed: true, warnings: ['failure policy Ignore applied'] }, validate);
    expect(review.response.status).to.equal(undefined);
    expect(review.response.warnings).to.deep.equal(['failure policy Ignore applied']);
  });

  const patch = [{ op: 'add', path: '/metadata/labels/suture.dev~1lease', value: 'db-system.postgres' }] as Decision['patch'];

  it('sends a patch as base64 JSONPatch on the mutating webhook', () => {
    const review = encodeAdmissionReview(decision({ patch }), mutate);
    expect(review.response.patchType).to.equal('JSONPatch');
    expect(JSON.parse(Buffer.from(review.response.patch ?? '', 'base64').toString('utf8'))).to.deep.equal(patch);
  });

  it('never sends a patch from the validating webhook, for DELETE, or with a denial', () => {
    expect(encodeAdmissionReview(decision({ patch }), validate).response.patch).to.equal(undefined);
    expect(encodeAdmissionReview(decision({ patch }), { ...mutate, patchable: false }).response).to.not.have.property('patchType');
    expect(encodeAdmissionReview(decision({ patch, allowed: false, verdict: 'deny' }), mutate).response.patch).to.equal(undefined);
  });

  it('sends audit annotations without their own prefix (the API server adds the webhook name)', () => {
    const review = encodeAdmissionReview(decision({ auditAnnotations: { 'suture.dev/decision': 'u-1', 'suture.dev/verdict': 'allow', 'bad key!': 'x' } }), validate);
    expect(review.response.auditAnnotations).to.deep.equal({ decision: 'u-1', verdict: 'allow' });
  });
});

describe('admission/review: warnings and annotations within the API server limits', () => {
  it('cuts a long warning to 256 runes on a code point, with an ellipsis', () => {
    const [warning] = sanitizeWarnings(['é'.repeat(300)]);
    expect(Array.from(warning ?? '')).to.have.length(MAX_WARNING_RUNES);
    expect(warning?.endsWith('…')).to.equal(true);
    expect(truncateRunes('😀😀😀', 2)).to.equal('😀…');
  });

  it('replaces control characters (which make the API server drop a warning) and drops duplicates and blanks', () => {
    expect(sanitizeWarnings(['line one\nline two\t!', 'line one\nline two\t!', ' \n '])).to.deep.equal(['line one line two !']);
  });

  it('keeps all warnings within 4096 runes and says how many were left out', () => {
    const many = Array.from({ length: 40 }, (_, i) => `${i}: ${'w'.repeat(250)}`);
    const out = sanitizeWarnings(many);
    const total = out.reduce((sum, w) => sum + Array.from(w).length, 0);
    expect(total).to.be.at.most(MAX_WARNINGS_TOTAL_RUNES);
    expect(out.at(-1)).to.match(/^…and \d+ more warnings/);
    expect(out.length).to.be.lessThan(40);
  });

  it('drops audit keys that are not a name part and bounds values', () => {
    const out = sanitizeAuditAnnotations({ ['a'.repeat(64)]: 'x', 'suture.dev/policy': 'p'.repeat(5000) });
    expect(Object.keys(out)).to.deep.equal(['policy']);
    expect(Array.from(out.policy ?? '')).to.have.length(4096);
  });
});
