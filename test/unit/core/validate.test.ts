// The tables below build invalid objects by mutating plain JSON, which is untyped by nature.
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import type { FieldError } from '../../../src/api/types.js';
import { fieldPath, validateException, validateLease, validatePolicy } from '../../../src/core/validate.js';
import { exceptionObject, policyObject } from './fixtures.js';

const root = join(import.meta.dirname, '..', '..', '..');
const NOW = Date.parse('2026-11-23T09:00:00Z');

function basePolicy(): Record<string, unknown> {
  return {
    match: [{ apiGroups: [''], kinds: ['PersistentVolumeClaim'] }],
    invariants: [{ name: 'data-survives', protect: {} }],
  };
}

/** A policy with `change` applied to a fresh copy of the base spec. */
function policyWith(change: (spec: Record<string, any>) => void): unknown {
  const spec = basePolicy();
  change(spec);
  return policyObject('p', spec);
}

function baseLease(): Record<string, any> {
  return {
    holder: { kind: 'ServiceAccount', name: 'op', namespace: 'ops' },
    resources: [{ apiGroups: ['apps'], kinds: ['StatefulSet'], namespaces: ['db'] }],
  };
}

function baseException(): Record<string, any> {
  return { policies: ['protect'], subjects: [{ kind: 'User', name: 'alice' }], expiresAt: '2026-11-23T12:00:00Z', reason: 'INC-1' };
}

/** Each expected error is [path, substring of the message]; the errors must be exactly these, in any order. */
function expectErrors(actual: FieldError[], expected: [string, string][]): void {
  const shown = JSON.stringify(actual, null, 1);
  expect(actual.length, shown).to.equal(expected.length);
  for (const [path, text] of expected) {
    expect(
      actual.some((e) => e.path === path && e.message.includes(text)),
      `no error at ${path} with "${text}" in ${shown}`,
    ).to.equal(true);
  }
}

describe('core/validate', () => {
  it('turns JSON pointers into Kubernetes field paths', () => {
    expect(fieldPath('spec', '/invariants/2/expression')).to.equal('spec.invariants[2].expression');
    expect(fieldPath('spec', '/match/0/selector/matchLabels/app.kubernetes.io~1name')).to.equal('spec.match[0].selector.matchLabels[app.kubernetes.io/name]');
    expect(fieldPath('spec', '')).to.equal('spec');
  });

  describe('SuturePolicy: every error, with its path', () => {
    const cases: [string, (s: Record<string, any>) => void, [string, string][]][] = [
      ['a valid policy', () => {}, []],
      ['unknown field', (s) => (s.invariants[0].protekt = {}), [['spec.invariants[0].protekt', 'unknown field "protekt"']]],
      ['unknown top-level spec field', (s) => (s.enforcment = 'Deny'), [['spec.enforcment', 'unknown field']]],
      ['enum', (s) => (s.enforcement = 'Block'), [['spec.enforcement', 'Unsupported value: "Block": supported values: "Deny", "Warn", "Audit"']]],
      ['operation enum', (s) => (s.operations = ['DELETE', 'PATCH']), [['spec.operations[1]', 'Unsupported value: "PATCH"']]],
      ['type', (s) => (s.match[0].kinds = 'Pod'), [['spec.match[0].kinds', 'must be of type array']]],
      ['missing match', (s) => delete s.match, [['spec.match', 'Required value']]],
      ['empty invariants', (s) => (s.invariants = []), [['spec.invariants', 'at least 1 item']]],
      ['invariant name', (s) => (s.invariants[0].name = 'Data_Survives'), [['spec.invariants[0].name', 'RFC 1123']]],
      ['no kind', (s) => (s.invariants[0] = { name: 'x' }), [['spec.invariants[0]', 'Required value: an invariant has exactly one of protect, minAvailable']]],
      ['two kinds', (s) => (s.invariants[0].maxCascade = { count: 1 }), [['spec.invariants[0]', 'found protect and maxCascade']]],
      ['minAvailable both', (s) => (s.invariants[0] = { name: 'q', minAvailable: { count: 1, percent: 50 } }), [['spec.invariants[0].minAvailable', 'not both']]],
      ['minAvailable neither', (s) => (s.invariants[0] = { name: 'q', minAvailable: {} }), [['spec.invariants[0].minAvailable', 'one of count or percent']]],
      ['percent over 100', (s) => (s.invariants[0] = { name: 'q', minAvailable: { percent: 150 } }), [['spec.invariants[0].minAvailable.percent', 'less than or equal to 100']]],
      ['bad pointer', (s) => (s.invariants[0] = { name: 'i', immutable: { paths: ['spec/x'] } }), [['spec.invariants[0].immutable.paths[0]', 'JSON pointer']]],
      ['bad direction', (s) => (s.invariants[0] = { name: 'm', monotonic: { paths: ['/spec/x'], direction: 'Up' } }), [['spec.invariants[0].monotonic.direction', 'Unsupported value: "Up"']]],
      ['bad budget window', (s) => (s.invariants[0] = { name: 'b', budget: { count: 1, window: '10 minutes' } }), [['spec.invariants[0].budget.window', 'a duration such as 30s']]],
      ['zero budget window', (s) => (s.invariants[0] = { name: 'b', budget: { count: 1, window: '0s' } }), [['spec.invariants[0].budget.window', 'longer than 0s']]],
      ['negative count', (s) => (s.invariants[0] = { name: 'c', maxCascade: { count: -1 } }), [['spec.invariants[0].maxCascade.count', 'greater than or equal to 0']]],
      ['duplicate names', (s) => s.invariants.push({ name: 'data-survives', maxCascade: { count: 3 } }), [['spec.invariants[1].name', 'Duplicate value: "data-survives"']]],
      [
        'CEL that does not parse, with its column',
        (s) => s.invariants.push({ name: 'x', maxCascade: { count: 1 } }, { name: 'y', maxCascade: { count: 1 } }, { name: 'e', expression: 'object.spec.replicas >= ' }),
        [['spec.invariants[3].expression', 'invalid CEL: Unexpected token: EOF at column 25']],
      ],
      ['CEL that does not type-check', (s) => (s.invariants[0] = { name: 'e', expression: 'request.operaton == "DELETE"' }), [['spec.invariants[0].expression', 'No such key: operaton at column 9']]],
      ['CEL of the wrong type', (s) => (s.invariants[0] = { name: 'e', expression: 'size(impact.deleted)' }), [['spec.invariants[0].expression', 'must evaluate to bool, but it evaluates to int']]],
      ['messageExpression not a string', (s) => (s.invariants[0] = { name: 'e', expression: 'true', messageExpression: '1 + 1' }), [['spec.invariants[0].messageExpression', 'must evaluate to string']]],
      [
        'avert entries: both and neither',
        (s) => (s.invariants[0] = { name: 'e', expression: 'true', avert: { set: [{ path: '/spec/replicas', value: '2', valueExpression: '2' }, { path: '/spec/x' }] } }),
        [
          ['spec.invariants[0].avert.set[0]', 'not both'],
          ['spec.invariants[0].avert.set[1]', 'one of value or valueExpression'],
        ],
      ],
      ['avert valueExpression', (s) => (s.invariants[0] = { name: 'e', expression: 'true', avert: { set: [{ path: '/spec/replicas', valueExpression: 'object.' }] } }), [['spec.invariants[0].avert.set[0].valueExpression', 'invalid CEL']]],
      [
        'avert on a DELETE-only policy',
        (s) => {
          s.operations = ['DELETE'];
          s.invariants[0] = { name: 'e', expression: 'true', avert: { set: [{ path: '/spec/replicas', value: '2' }] } };
        },
        [['spec.invariants[0].avert', 'avert patches CREATE and UPDATE requests']],
      ],
      ['ServiceAccount subject without namespace', (s) => (s.subjects = [{ kind: 'ServiceAccount', name: 'x' }]), [['spec.subjects[0].namespace', 'Required value']]],
      ['subject kind', (s) => (s.subjects = [{ kind: 'Robot', name: 'x' }]), [['spec.subjects[0].kind', 'Unsupported value: "Robot"']]],
      ['In without values', (s) => (s.match[0].selector = { matchExpressions: [{ key: 'app', operator: 'In' }] }), [['spec.match[0].selector.matchExpressions[0].values', 'at least one value']]],
      ['Exists with values', (s) => (s.match[0].namespaceSelector = { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }), [['spec.match[0].namespaceSelector.matchExpressions[0].values', 'takes no values']]],
      ['label value type', (s) => (s.match[0].selector = { matchLabels: { app: 1 } }), [['spec.match[0].selector.matchLabels.app', 'must be of type string']]],
      ['condition with no kind', (s) => (s.relaxWhen = [{}]), [['spec.relaxWhen[0]', 'a condition has exactly one of schedule, expression, metric']]],
      ['condition with two kinds', (s) => (s.enforceWhen = [{ expression: 'true', metric: { url: 'http://p:9090', query: 'up', below: 1 } }]), [['spec.enforceWhen[0]', 'found expression and metric']]],
      ['cron with 6 fields', (s) => (s.relaxWhen = [{ schedule: { cron: '0 0 2 * * 6', duration: '2h' } }]), [['spec.relaxWhen[0].schedule.cron', 'a cron schedule has 5 fields']]],
      ['cron out of range', (s) => (s.relaxWhen = [{ schedule: { cron: '61 2 * * *', duration: '2h' } }]), [['spec.relaxWhen[0].schedule.cron', 'Invalid value: "61 2 * * *"']]],
      ['unknown time zone', (s) => (s.relaxWhen = [{ schedule: { cron: '0 2 * * *', duration: '2h', timeZone: 'Europe/Atlantis' } }]), [['spec.relaxWhen[0].schedule.timeZone', 'not a known IANA time zone']]],
      ['bad schedule duration', (s) => (s.relaxWhen = [{ schedule: { cron: '0 2 * * *', duration: '2 hours' } }]), [['spec.relaxWhen[0].schedule.duration', 'a duration such as']]],
      ['condition CEL', (s) => (s.relaxWhen = [{ expression: "cluster.get('v1')" }]), [['spec.relaxWhen[0].expression', 'invalid CEL']]],
      ['metric without bounds', (s) => (s.relaxWhen = [{ metric: { url: 'http://prometheus:9090', query: 'up' } }]), [['spec.relaxWhen[0].metric', 'one of below or above']]],
      ['metric url', (s) => (s.relaxWhen = [{ metric: { url: 'prometheus:9090', query: 'up', below: 1 } }]), [['spec.relaxWhen[0].metric.url', 'http or https URL']]],
      ['metric staleAfter', (s) => (s.relaxWhen = [{ metric: { url: 'http://p', query: 'up', below: 1, staleAfter: '2' } }]), [['spec.relaxWhen[0].metric.staleAfter', 'a duration such as']]],
      ['too many conditions', (s) => (s.enforceWhen = Array.from({ length: 17 }, () => ({ expression: 'true' }))), [['spec.enforceWhen', 'at most 16 items']]],
      [
        'many errors at once, all reported',
        (s) => {
          s.enforcement = 'Nope';
          s.invariants = [{ name: 'a', protect: {}, expression: 'true' }, { name: 'a', budget: { count: 1, window: 'x' } }];
          s.relaxWhen = [{ schedule: { cron: 'x', duration: '1h', timeZone: 'Nowhere/City' } }];
        },
        [
          ['spec.enforcement', 'Unsupported value'],
          ['spec.invariants[0]', 'found protect and expression'],
          ['spec.invariants[1].budget.window', 'a duration'],
          ['spec.invariants[1].name', 'Duplicate value'],
          ['spec.relaxWhen[0].schedule.timeZone', 'IANA'],
          ['spec.relaxWhen[0].schedule.cron', '5 fields'],
        ],
      ],
    ];
    for (const [name, change, expected] of cases) {
      it(name, () => expectErrors(validatePolicy(policyWith(change)), expected));
    }
  });

  describe('nothing invalid crashes', () => {
    const garbage: [string, unknown, [string, string][]][] = [
      ['null', null, [['', 'is an object']]],
      ['a string', 'policy', [['', 'is an object']]],
      ['no spec', { apiVersion: 'suture.dev/v1alpha1', kind: 'SuturePolicy', metadata: { name: 'x' } }, [['spec', 'Required value']]],
      ['wrong kind and apiVersion', { apiVersion: 'v1', kind: 'Pod', metadata: {}, spec: basePolicy() }, [['apiVersion', 'Unsupported value: "v1"'], ['kind', 'Unsupported value: "Pod"']]],
      ['unknown top-level field', { kind: 'SuturePolicy', spec: basePolicy(), extra: 1 }, [['extra', 'unknown field']]],
      ['spec is a list', { spec: [] }, [['spec', 'must be of type object']]],
      ['invariants is a string', { spec: { match: [{}], invariants: 'protect' } }, [['spec.invariants', 'must be of type array']]],
      ['invariant entries of the wrong type', { spec: { match: [{}], invariants: [null, 3, { name: 'x', expression: 42 }] } }, [['spec.invariants[0]', 'object'], ['spec.invariants[1]', 'object'], ['spec.invariants[2].expression', 'string']]],
    ];
    for (const [name, obj, expected] of garbage) {
      it(name, () => expectErrors(validatePolicy(obj), expected));
    }

    it('deeply wrong shapes in every kind give errors, not exceptions', () => {
      for (const v of [undefined, 0, [], { spec: null }, { spec: { holder: 'x', resources: {} } }, { spec: { relaxWhen: [{ schedule: 'x' }, { metric: [] }] } }]) {
        expect(validatePolicy(v)).to.be.an('array').that.is.not.empty;
        expect(validateLease(v)).to.be.an('array').that.is.not.empty;
        expect(validateException(v, NOW)).to.be.an('array').that.is.not.empty;
      }
    });
  });

  describe('SutureLease', () => {
    const cases: [string, (s: Record<string, any>) => void, [string, string][]][] = [
      ['a valid lease', () => {}, []],
      ['renewTime null (OpenAPI nullable)', (s) => (s.renewTime = null), []],
      ['renewTime not a date-time', (s) => (s.renewTime = 'yesterday'), [['spec.renewTime', 'RFC 3339 date-time']]],
      ['holder ServiceAccount without namespace', (s) => delete s.holder.namespace, [['spec.holder.namespace', 'Required value']]],
      ['wildcard holder', (s) => (s.holder.name = '*'), [['spec.holder.name', 'one identity']]],
      ['no resources', (s) => (s.resources = []), [['spec.resources', 'at least 1 item']]],
      ['bad field pointer', (s) => (s.resources[0].fields = ['spec.replicas']), [['spec.resources[0].fields[0]', 'JSON pointer']]],
      ['bad duration', (s) => (s.duration = '30 min'), [['spec.duration', 'a duration such as']]],
      ['zero duration', (s) => (s.duration = '0m'), [['spec.duration', 'longer than 0s']]],
      ['enums', (s) => Object.assign(s, { access: 'Mine', enforce: 'All', rbac: 'Yes', network: 'Closed' }), [['spec.access', '"Mine"'], ['spec.enforce', '"All"'], ['spec.rbac', '"Yes"'], ['spec.network', '"Closed"']]],
      ['unknown resource field', (s) => (s.resources[0].kind = 'Pod'), [['spec.resources[0].kind', 'unknown field "kind"']]],
    ];
    for (const [name, change, expected] of cases) {
      it(name, () => {
        const spec = baseLease();
        change(spec);
        expectErrors(validateLease({ apiVersion: 'suture.dev/v1alpha1', kind: 'SutureLease', metadata: { name: 'l', namespace: 'ops' }, spec }), expected);
      });
    }
  });

  describe('SutureException', () => {
    const cases: [string, (s: Record<string, any>) => void, [string, string][]][] = [
      ['a valid exception', () => {}, []],
      ['leases instead of policies', (s) => Object.assign(s, { policies: undefined, leases: [{ namespace: 'ops', name: 'l' }] }), []],
      ['without reason', (s) => delete s.reason, [['spec.reason', 'Required value']]],
      ['empty reason', (s) => (s.reason = ''), [['spec.reason', 'must not be empty']]],
      ['blank reason', (s) => (s.reason = '   '), [['spec.reason', 'say why']]],
      ['no policy or lease', (s) => (s.policies = []), [['spec.policies', 'at least one policy or lease']]],
      ['no subjects', (s) => (s.subjects = []), [['spec.subjects', 'at least 1 item']]],
      ['expiresAt missing', (s) => delete s.expiresAt, [['spec.expiresAt', 'Required value']]],
      ['expiresAt not a date', (s) => (s.expiresAt = 'tomorrow'), [['spec.expiresAt', 'RFC 3339 date-time']]],
      ['expiresAt in the past', (s) => (s.expiresAt = '2026-11-23T08:59:59Z'), [['spec.expiresAt', 'is in the past']]],
      ['expiresAt too far', (s) => (s.expiresAt = '2026-11-24T09:00:01Z'), [['spec.expiresAt', 'more than 24h from now']]],
      ['expiresAt exactly at the maximum', (s) => (s.expiresAt = '2026-11-24T09:00:00Z'), []],
    ];
    for (const [name, change, expected] of cases) {
      it(name, () => {
        const spec = baseException();
        change(spec);
        expectErrors(validateException(exceptionObject('x', spec), NOW), expected);
      });
    }

    it('takes the maximum duration as configuration', () => {
      expectErrors(validateException(exceptionObject('x', baseException()), NOW, 3600), [['spec.expiresAt', 'more than 1h from now']]);
    });
  });

  describe('shipped objects are valid', () => {
    const files: string[] = [];
    for (const dir of ['examples/policies', 'examples/leases', 'examples/exceptions']) {
      const full = join(root, dir);
      if (existsSync(full)) files.push(...readdirSync(full).filter((f) => f.endsWith('.yaml')).map((f) => join(full, f)));
    }
    for (const file of files) {
      it(file.slice(root.length + 1), () => {
        for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
          const obj = doc.toJS() as { kind: string; spec: { expiresAt?: string } };
          if (obj.kind === 'SuturePolicy') expect(validatePolicy(obj)).to.deep.equal([]);
          if (obj.kind === 'SutureLease') expect(validateLease(obj)).to.deep.equal([]);
          if (obj.kind === 'SutureException') expect(validateException(obj, Date.parse(obj.spec.expiresAt ?? '') - 3600_000)).to.deep.equal([]);
        }
      });
    }
  });
});
