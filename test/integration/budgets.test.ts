// Budgets across replicas on the real API server: a request that consumes two budgets reserves both or neither.
import { expect } from 'chai';
import { BudgetStore } from '../../src/admission/budgets.js';
import type { BudgetUse } from '../../src/core/types.js';
import { createObjectClient } from '../../src/kube/client.js';
import { cluster } from './cluster.js';
import { createNamespace, deleteNamespace } from './support.js';

describe('BudgetStore (real API server)', () => {
  let namespace: string;
  before(async () => {
    namespace = await createNamespace(cluster().kubeConfig, 'it-budgets');
  });
  after(async () => {
    await deleteNamespace(cluster().kubeConfig, namespace);
  });

  it('is all-or-nothing: a request denied on its second budget has not used its first (issue 9, item 10)', async () => {
    const client = createObjectClient(cluster().kubeConfig, { fieldManager: 'suture-it' });
    let t = Date.parse('2026-11-30T12:00:00Z');
    const store = new BudgetStore({ client, namespace, now: () => t });
    const use = (policy: string, limit: number): BudgetUse => ({ policy, invariant: 'slow', key: 'system:serviceaccount:ops:op', count: 1, windowSeconds: 600, limit });
    // The second budget is spent by an earlier request.
    expect(await store.reserve([use('second', 1)])).to.deep.equal({ ok: true });
    t += 1000;
    const r = await store.reserve([use('first', 2), use('second', 1)]);
    expect(r.ok).to.equal(false);
    if (!r.ok) expect(r.use.policy).to.equal('second');
    // The first budget is untouched: both of its units are still there, read back from the API server.
    const fresh = new BudgetStore({ client, namespace, now: () => t });
    const list = await client.list('v1', 'ConfigMap', { namespace });
    for (const cm of list.items) fresh.observe(cm);
    expect(fresh.used('first', 'slow', 'system:serviceaccount:ops:op', 600)).to.equal(0);
    expect(fresh.used('second', 'slow', 'system:serviceaccount:ops:op', 600)).to.equal(1);
    t += 1000;
    expect(await store.reserve([use('first', 2)])).to.deep.equal({ ok: true });
    expect(await store.reserve([use('first', 2)])).to.deep.equal({ ok: true });
    expect((await store.reserve([use('first', 2)])).ok).to.equal(false);
  });
});
