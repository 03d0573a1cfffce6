import { expect } from 'chai';
import {
  applyAction,
  bundleOf,
  inspectCert,
  keyMatches,
  planRotation,
  renewalDue,
  servingNames,
  signedBy,
  splitPem,
  type PkiMaterial,
  type PkiPolicy,
} from '../../../src/kube/pki.js';

const DAY = 24 * 60 * 60 * 1000;
const MIN = 60 * 1000;
const T0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number): Date => new Date(T0.getTime() + ms);

const policy: PkiPolicy = {
  names: servingNames('suture-webhook', 'suture-system', true),
  caLifetimeMs: 90 * DAY,
  servingLifetimeMs: 30 * DAY,
  minRemainingMs: 30 * DAY,
  propagationMs: 10 * MIN,
  graceMs: 60 * MIN,
};

/** The serving certificate verifies against some CA of the bundle. */
function servedCertTrusted(material: PkiMaterial): boolean {
  const serving = inspectCert(material.serving.cert);
  return splitPem(bundleOf(material)).some((pem) => signedBy(serving, inspectCert(pem)));
}

describe('kube/pki: certificates', () => {
  let material: PkiMaterial;
  before(async () => {
    material = (await applyAction(undefined, { kind: 'create', reason: 'test' }, policy, T0)) as PkiMaterial;
  });

  it('creates a CA and a serving certificate with the service names, 127.0.0.1 and localhost', () => {
    const serving = inspectCert(material.serving.cert);
    expect(serving.dnsNames).to.have.members(['suture-webhook.suture-system.svc', 'suture-webhook.suture-system.svc.cluster.local', 'localhost']);
    expect(serving.ips).to.deep.equal(['127.0.0.1']);
    expect(serving.isCa).to.equal(false);
    expect(inspectCert(material.ca.cert).isCa).to.equal(true);
    expect(signedBy(serving, inspectCert(material.ca.cert))).to.equal(true);
    expect(keyMatches(material.serving) && keyMatches(material.ca)).to.equal(true);
    expect(material.serving.cert).to.match(/^-----BEGIN CERTIFICATE-----/);
    expect(material.serving.key).to.match(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('dates certificates from the injected clock, backdated by minutes', () => {
    const serving = inspectCert(material.serving.cert);
    expect(T0.getTime() - serving.notBefore.getTime()).to.be.within(1000, 10 * MIN);
    expect(Math.abs(serving.notAfter.getTime() - (T0.getTime() + 30 * DAY))).to.be.below(2000);
  });

  it('has nothing to do right after creation, and says when to look again', () => {
    const action = planRotation(material, policy, at(1 * DAY));
    expect(action.kind).to.equal('none');
    if (action.kind === 'none') expect(action.nextCheck.getTime()).to.be.closeTo(at(15 * DAY).getTime(), 10 * MIN);
  });

  it('creates everything anew when the material is missing, unreadable, mismatched or the CA expired', () => {
    expect(planRotation(undefined, policy, T0).kind).to.equal('create');
    expect(planRotation({ ...material, serving: { ...material.serving, cert: 'garbage' } }, policy, T0).kind).to.equal('create');
    expect(planRotation({ ...material, serving: { ...material.serving, key: material.ca.key } }, policy, T0)).to.deep.include({ kind: 'create' });
    expect(planRotation({ ...material, trusted: [] }, policy, T0).kind).to.equal('create');
    expect(planRotation(material, policy, at(91 * DAY))).to.deep.equal({ kind: 'create', reason: 'the CA has expired' });
  });

  it('re-issues the serving certificate when the expected names change', () => {
    const other = { ...policy, names: servingNames('other', 'suture-system', false) };
    expect(planRotation(material, other, at(DAY))).to.deep.include({ kind: 'issueServing' });
  });
});

describe('kube/pki: renewal timing', () => {
  const cert = (lifeDays: number): { notBefore: Date; notAfter: Date } => ({ notBefore: T0, notAfter: at(lifeDays * DAY) });
  const cases = [
    { life: 365, expect: 243.33, why: '2/3 of a year comes before 30 days left' },
    { life: 90, expect: 60, why: '2/3 and 30 days left coincide' },
    { life: 75, expect: 45, why: '30 days left comes first' },
    { life: 30, expect: 15, why: 'never before half the lifetime' },
  ];
  for (const c of cases) {
    it(`renews a ${c.life}-day certificate after ${c.expect} days: ${c.why}`, () => {
      expect(renewalDue(cert(c.life), 30 * DAY).getTime()).to.be.closeTo(at(c.expect * DAY).getTime(), DAY / 100);
    });
  }
});

describe('kube/pki: rotation over a CA lifetime, with an injected clock', () => {
  it('renews, stages a new CA, switches after propagation and prunes after the grace, always trusted', async function () {
    this.timeout(20000);
    let material: PkiMaterial | undefined;
    let now = T0;
    const seen: string[] = [];
    let bundleWhenSwitched = 0;
    // Bounded: one step per planned action or next check, and never more than 40.
    for (let step = 0; step < 40 && now.getTime() < at(75 * DAY).getTime(); step += 1) {
      const action = planRotation(material, policy, now);
      seen.push(action.kind);
      if (action.kind === 'none') {
        now = new Date(Math.max(action.nextCheck.getTime(), now.getTime() + MIN));
        continue;
      }
      const before = material;
      material = await applyAction(material, action, policy, now);
      if (material === undefined) expect.fail('no material');
      expect(servedCertTrusted(material), `after ${action.kind}`).to.equal(true);
      if (action.kind === 'issueServing' && before !== undefined && before.ca.cert === material.ca.cert && before.trusted.length === 2) {
        bundleWhenSwitched = material.trusted.length;
      }
      if (action.kind === 'stageCa') {
        expect(material.trusted).to.have.length(2);
        expect(material.serving).to.deep.equal(before?.serving); // nothing signed with the new CA yet
        expect(planRotation(material, policy, new Date(now.getTime() + 5 * MIN)).kind).to.equal('none');
      }
    }
    const acted = seen.filter((k) => k !== 'none');
    expect(acted[0]).to.equal('create');
    expect(acted.slice(1, -3).every((k) => k === 'issueServing')).to.equal(true); // renewals from the same CA
    expect(acted.length).to.be.at.least(6);
    expect(acted.slice(-3)).to.deep.equal(['stageCa', 'issueServing', 'prune']);
    expect(bundleWhenSwitched).to.equal(2);
    expect(material?.trusted).to.have.length(1);
    expect(signedBy(inspectCert(material?.serving.cert ?? ''), inspectCert(material?.trusted[0] ?? ''))).to.equal(true);
  });
});
