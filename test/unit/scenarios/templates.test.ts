import { expect } from 'chai';
import { parseDurationMs } from '../../../src/core/units.js';
import { parseInstant, rfc3339 } from '../../../src/scenario/duration.js';
import { scenarioNow } from '../../scenarios/runner.js';
import { resolveTemplates, TemplateError, UidRegistry } from '../../../src/scenario/templates.js';
import type { TemplateContext } from '../../../src/scenario/templates.js';

const clock = Date.parse('2026-11-23T09:45:00Z');

function context(): TemplateContext {
  const uids = new UidRegistry();
  uids.record('postgresql', 'pg', 'acid-minimal-cluster', 'uid-1');
  uids.record('Namespace', undefined, 'shop', 'uid-ns');
  return { uids, now: () => clock };
}

describe('templates', () => {
  it('resolves {{uid Kind namespace/name}} and {{uid Kind name}} anywhere in a structure, keys included', () => {
    const input = {
      metadata: { ownerReferences: [{ uid: '{{uid postgresql pg/acid-minimal-cluster}}' }, { uid: '{{ uid Namespace shop }}' }] },
      data: { '{{uid Namespace shop}}': 'key', n: 3, b: true, z: null },
    };
    expect(resolveTemplates(input, context())).to.deep.equal({
      metadata: { ownerReferences: [{ uid: 'uid-1' }, { uid: 'uid-ns' }] },
      data: { 'uid-ns': 'key', n: 3, b: true, z: null },
    });
  });

  it('matches the kind case-insensitively when the exact kind is not recorded', () => {
    expect(resolveTemplates('{{uid Postgresql pg/acid-minimal-cluster}}', context())).to.equal('uid-1');
  });

  it('refuses a uid of an object not created before, naming it', () => {
    expect(() => resolveTemplates('{{uid Secret pg/nope}}', context())).to.throw(TemplateError, /no Secret pg\/nope was created/);
  });

  const times: [string, string][] = [
    ['{{now}}', '2026-11-23T09:45:00Z'],
    ['{{now+90m}}', '2026-11-23T11:15:00Z'],
    ['{{now-1h}}', '2026-11-23T08:45:00Z'],
    ['{{now+30s}}', '2026-11-23T09:45:30Z'],
    ['{{now + 2d}}', '2026-11-25T09:45:00Z'],
    ['{{now-1h30m}}', '2026-11-23T08:15:00Z'],
    ['until {{now+1h}} then', 'until 2026-11-23T10:45:00Z then'],
  ];
  for (const [template, expected] of times) {
    it(`resolves ${template} relative to the clock`, () => {
      expect(resolveTemplates(template, context())).to.equal(expected);
    });
  }

  it('refuses unknown templates and units', () => {
    expect(() => resolveTemplates('{{now+1w}}', context())).to.throw(TemplateError, /unknown template/);
    expect(() => resolveTemplates('{{name}}', context())).to.throw(TemplateError, /unknown template/);
  });

  it('leaves strings without templates and non-strings alone', () => {
    expect(resolveTemplates({ a: 'plain {text}', b: [1, 2] }, context())).to.deep.equal({ a: 'plain {text}', b: [1, 2] });
  });
});

describe('scenario clock', () => {
  it('starts at the clock and runs on with real time', () => {
    let wall = 1_000_000;
    const now = scenarioNow('2026-11-23T09:45:00Z', () => wall);
    expect(now()).to.equal(clock);
    wall += 5_000;
    expect(now()).to.equal(clock + 5_000);
  });

  it('is real time without a clock', () => {
    const now = scenarioNow(undefined, () => 42);
    expect(now()).to.equal(42);
  });
});

describe('durations and instants', () => {
  it('parses durations in ms, s, m, h, d and combinations', () => {
    expect(parseDurationMs('10s')).to.equal(10_000);
    expect(parseDurationMs('90m')).to.equal(5_400_000);
    expect(parseDurationMs('1h30m')).to.equal(5_400_000);
    expect(parseDurationMs('2d')).to.equal(172_800_000);
    expect(parseDurationMs('500ms')).to.equal(500);
    expect(parseDurationMs('1.5s')).to.equal(1_500);
    for (const bad of ['', '10', 's', '10 s', '-1s', '1w']) expect(parseDurationMs(bad), bad).to.equal(undefined);
  });

  it('formats RFC 3339 without zero milliseconds, keeps others', () => {
    expect(rfc3339(clock)).to.equal('2026-11-23T09:45:00Z');
    expect(rfc3339(clock + 250)).to.equal('2026-11-23T09:45:00.250Z');
  });

  it('accepts RFC 3339 instants with a zone only', () => {
    expect(parseInstant('2026-11-23T09:45:00Z')).to.equal(clock);
    expect(parseInstant('2026-11-23T10:45:00+01:00')).to.equal(clock);
    expect(parseInstant('2026-11-23 09:45')).to.equal(undefined);
    expect(parseInstant('2026-11-23T09:45:00')).to.equal(undefined);
  });
});
