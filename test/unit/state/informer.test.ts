import { expect } from 'chai';
import { LAST_APPLIED_ANNOTATION, stripObject } from '../../../src/state/informer.js';

describe('stripObject', () => {
  it('drops managedFields and the last-applied annotation, keeping other annotations', () => {
    const object = { metadata: { name: 'a', managedFields: [{ manager: 'kubectl' }], annotations: { [LAST_APPLIED_ANNOTATION]: '{"big":true}', keep: 'yes' } }, spec: { x: 1 } };
    expect(stripObject(object)).to.deep.equal({ metadata: { name: 'a', annotations: { keep: 'yes' } }, spec: { x: 1 } });
  });

  it('removes annotations left empty, and tolerates objects without metadata (watch ERROR Status)', () => {
    expect(stripObject({ metadata: { annotations: { [LAST_APPLIED_ANNOTATION]: '{}' } } })).to.deep.equal({ metadata: {} });
    expect(stripObject({ kind: 'Status', code: 410 } as { metadata?: unknown })).to.deep.equal({ kind: 'Status', code: 410 });
  });
});
