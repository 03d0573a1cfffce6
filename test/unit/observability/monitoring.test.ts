// Every metric the Grafana dashboard (config/grafana/suture.json) and the alerts (config/prometheus/rules.yaml) query
// is one the process exports: the names are parsed out of each PromQL expression and compared with the registry that
// src/operator.ts builds (observability's metrics, the admission edge's, Node's process metrics).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { admissionMetricsOn } from '../../../src/admission/metrics.js';
import { createMetrics } from '../../../src/observability/metrics.js';

const root = join(import.meta.dirname, '..', '..', '..');

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression selects (not its functions, label names, keywords or Grafana variables). */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""') // string literals
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // range and subquery windows
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '') // grouping label lists
    .replace(/\$\w+/g, ''); // Grafana variables
  const names: string[] = [];
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(?=\s*(\()?)/g)) {
    const followedByParen = m[1] !== undefined;
    const name = m[0];
    if (followedByParen || KEYWORDS.has(name.toLowerCase())) continue;
    if (/^[0-9]/.test(name)) continue;
    names.push(name);
  }
  return names;
}

/** A histogram's series names are its name with _bucket, _sum and _count. */
function exported(names: readonly { name: string; type: string }[]): Set<string> {
  return new Set(names.flatMap(({ name, type }) => (type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : type === 'summary' ? [name, `${name}_sum`, `${name}_count`] : [name])));
}

function dashboardExpressions(): string[] {
  type Panel = { targets?: { expr?: string }[]; panels?: Panel[] };
  const dashboard = JSON.parse(readFileSync(join(root, 'config', 'grafana', 'suture.json'), 'utf8')) as Panel & { templating: { list: { query?: unknown }[] } };
  const walk = (p: Panel): string[] => [...(p.targets ?? []).flatMap((t) => (t.expr === undefined ? [] : [t.expr])), ...(p.panels ?? []).flatMap(walk)];
  const variables = dashboard.templating.list.flatMap((v) => (typeof v.query === 'string' && v.query.startsWith('label_values(') ? [v.query.replace(/^label_values\(([^,)]+).*$/, '$1')] : []));
  return [...walk(dashboard), ...variables];
}

function ruleExpressions(): string[] {
  const rule = parse(readFileSync(join(root, 'config', 'prometheus', 'rules.yaml'), 'utf8')) as { spec: { groups: { rules: { expr: string; alert?: string }[] }[] } };
  return rule.spec.groups.flatMap((g) => g.rules.map((r) => r.expr));
}

describe('monitoring (dashboard and alerts) against the exported metrics', () => {
  const metrics = createMetrics({ collectDefault: true });
  admissionMetricsOn(metrics);
  const names = exported(metrics.registry.getMetricsAsArray().map((m) => ({ name: m.name, type: String((m as unknown as { type: string }).type) })));

  it('parses metric names out of PromQL', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (le, operation) (rate(suture_admission_duration_seconds_bucket{namespace="$namespace"}[$__rate_interval])))')).to.deep.equal(['suture_admission_duration_seconds_bucket']);
    expect(metricNames('min by (pod) (x_total) - time() < 21 * 24 * 3600')).to.deep.equal(['x_total']);
    expect(metricNames('sum(rate(a{verdict="error"}[5m])) / sum(rate(b[5m])) > 0.01 and on (pod) c')).to.deep.equal(['a', 'b', 'c']);
  });

  it('the registry has the names the process exports, histograms with their series', () => {
    for (const name of ['suture_decisions_total', 'suture_admission_duration_seconds_bucket', 'suture_admission_http_requests_total', 'suture_certificate_expiry_timestamp_seconds']) expect(names.has(name), name).to.equal(true);
  });

  for (const [what, expressions] of [['config/grafana/suture.json', dashboardExpressions()], ['config/prometheus/rules.yaml', ruleExpressions()]] as const) {
    it(`${what} queries only exported metrics`, () => {
      const queried = new Set(expressions.flatMap(metricNames));
      expect(queried.size, 'metric names found').to.be.greaterThan(5);
      expect([...queried].filter((n) => !names.has(n))).to.deep.equal([]);
    });
  }

  it('the alerts cover webhook errors, latency, stale caches, certificate expiry and reconcile errors', () => {
    const rule = parse(readFileSync(join(root, 'config', 'prometheus', 'rules.yaml'), 'utf8')) as { spec: { groups: { rules: { alert: string; expr: string; labels: { severity: string }; annotations: { summary: string; description: string } }[] }[] } };
    const rules = rule.spec.groups.flatMap((g) => g.rules);
    for (const name of ['SutureWebhookErrors', 'SutureWebhookLatencyHigh', 'SutureCacheNotSynced', 'SutureCertificateExpiresSoon', 'SutureReconcileErrors']) expect(rules.map((r) => r.alert)).to.include(name);
    for (const r of rules) {
      expect(r.labels.severity, r.alert).to.be.oneOf(['info', 'warning', 'critical']);
      expect(r.annotations.summary, r.alert).to.be.a('string').and.not.empty;
      expect(r.annotations.description, r.alert).to.be.a('string').and.not.empty;
    }
  });
});
