import { expect } from 'chai';
import type { ScenarioReport, StepRow } from '../../../src/scenario/report.js';
import { buildReport, countSteps, formatRow, headerRow, messageColumn, summaryLine, trimText } from '../../../src/scenario/report.js';

function row(fields: Partial<StepRow>): StepRow {
  return { scenario: 'zookeeper-stale-pvc-delete', step: 1, description: 'd', expected: 'denied', got: 'denied', pass: true, message: 'admission webhook "validate.suture.dev" denied the request: no', reason: 'denied by Suture', durationMs: 3, ...fields };
}

function scenario(steps: StepRow[]): ScenarioReport {
  return { name: 's', file: 'f', source: 'x#1', cleanupLeft: [], cleanupMs: 0, durationMs: 1, steps };
}

describe('report', () => {
  it('prints one aligned row per step with PASS or FAIL and the message', () => {
    const line = formatRow(row({}));
    expect(line).to.match(/^zookeeper-stale-pvc-delete\s+1\s+denied\s+denied\s+PASS admission webhook/);
    expect(line.indexOf('PASS')).to.equal(headerRow().indexOf('MESSAGE') - 5);
  });

  it('puts the reason first on failure and trims to one line', () => {
    const failed = row({ pass: false, got: 'rbac', reason: 'expected denied, got refused by RBAC, not Suture', message: 'forbidden:\n  User "x" cannot delete' });
    expect(messageColumn(failed)).to.equal('expected denied, got refused by RBAC, not Suture — forbidden:\n  User "x" cannot delete');
    expect(formatRow(failed)).to.include('FAIL expected denied, got refused by RBAC, not Suture — forbidden: User "x" cannot delete');
    expect(messageColumn(row({ pass: false, message: '', reason: 'setup failed: x' }))).to.equal('setup failed: x');
    expect(formatRow(row({ step: 0 }))).to.match(/^\S+\s+-\s/);
  });

  it('trims long text with an ellipsis', () => {
    expect(trimText('a'.repeat(10), 5)).to.equal('aaaa…');
    expect(trimText(' short ', 10)).to.equal('short');
  });

  it('counts steps, not scenarios, and ends with the summary line', () => {
    const reports = [scenario([row({}), row({ pass: false })]), scenario([row({ pass: false })])];
    expect(countSteps(reports)).to.deep.equal({ passed: 1, failed: 2 });
    expect(summaryLine(countSteps(reports))).to.equal('1 passed, 2 failed');
    const report = buildReport(reports, 0, 1500);
    expect(report).to.deep.include({ passed: 1, failed: 2, durationMs: 1500, startedAt: '1970-01-01T00:00:00.000Z' });
    expect(JSON.parse(JSON.stringify(report))).to.deep.equal(report);
  });
});
