import { expect } from 'chai';
import { ConfigError, TEST_CLOCK_ENV, defaults, formatDuration, parseConfig } from '../../src/config.js';
import { parseDurationMs } from '../../src/core/units.js';

const host = { hostname: 'node-1', pid: 42 };
const env = { HOME: '/home/me' };

function problems(args: string[], environment: Record<string, string> = env): readonly string[] {
  try {
    parseConfig(args, environment, host);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  expect.fail('expected a ConfigError');
}

describe('config', () => {
  describe('durations', () => {
    const cases: [string, number | undefined][] = [
      ['10m', 600_000],
      ['2h', 7_200_000],
      ['1h30m', 5_400_000],
      ['250ms', 250],
      ['1.5s', 1500],
      ['24h', 86_400_000],
      ['0', 0],
      ['10', undefined],
      ['ten minutes', undefined],
      ['-5m', undefined],
      ['', undefined],
    ];
    for (const [text, ms] of cases) it(`parses "${text}"`, () => expect(parseDurationMs(text)).to.equal(ms));
    it('formats durations', () => {
      expect(formatDuration(5_400_000)).to.equal('1h30m');
      expect(formatDuration(1500)).to.equal('1s500ms');
      expect(formatDuration(0)).to.equal('0s');
    });
  });

  it('has defaults for everything', () => {
    const { config, warnings } = parseConfig([], env, host);
    expect(config.kubeconfig).to.deep.equal({ kind: 'file', path: '/home/me/.kube/config' });
    expect(config.namespace).to.equal('suture-system');
    expect(config.podName).to.equal('node-1-42');
    expect(config.webhook).to.deep.equal({
      host: '0.0.0.0',
      port: 9443,
      service: 'suture-webhook',
      url: undefined,
      certSource: 'secret',
      certSecret: 'suture-webhook-cert',
      certDir: defaults.certDir,
      failurePolicy: 'Fail',
    });
    expect(config.exemptions).to.deep.equal({ namespaces: ['kube-system', 'suture-system'], users: [], groups: [] });
    expect(config.leaderElection).to.deep.equal({
      enabled: true,
      namespace: 'suture-system',
      name: 'suture-leader',
      identity: 'node-1-42',
      leaseDurationMs: 10_000,
      renewDeadlineMs: 8_000,
      retryPeriodMs: 2_000,
    });
    expect(config.maxExceptionDurationMs).to.equal(24 * 3_600_000);
    expect(config.logLevel).to.equal('info');
    expect(config.testClock).to.equal(undefined);
    expect(warnings).to.deep.equal([]);
  });

  it('reads flags over environment over defaults', () => {
    const { config } = parseConfig(
      [
        '--kubeconfig=/tmp/kc',
        '--context',
        'dev',
        '--namespace=ops',
        '--webhook-port=8443',
        '--failure-policy=Ignore',
        '--exempt-namespace=a,b',
        '--exempt-namespace=c',
        '--exempt-user=alice',
        '--lease-duration=15s',
        '--renew-deadline=10s',
        '--webhook-url=https://127.0.0.1:8443',
        '--cert-source=dir',
        '--max-exception-duration=2h',
        '--log-level=debug',
        '--workers=4',
      ],
      { ...env, KUBECONFIG: '/env/kc', POD_NAMESPACE: 'from-env', POD_NAME: 'suture-abc', SUTURE_LOG_LEVEL: 'warn' },
      host,
    );
    expect(config.kubeconfig).to.deep.equal({ kind: 'file', path: '/tmp/kc', context: 'dev' });
    expect(config.namespace).to.equal('ops');
    expect(config.podName).to.equal('suture-abc');
    expect(config.leaderElection).to.include({ identity: 'suture-abc', namespace: 'ops', leaseDurationMs: 15_000, renewDeadlineMs: 10_000 });
    expect(config.webhook).to.include({ port: 8443, failurePolicy: 'Ignore' });
    expect(config.exemptions).to.deep.equal({ namespaces: ['kube-system', 'ops', 'a', 'b', 'c'], users: ['alice'], groups: [] });
    expect(config.webhook).to.include({ url: 'https://127.0.0.1:8443', certSource: 'dir' });
    expect(config.maxExceptionDurationMs).to.equal(7_200_000);
    expect(config.logLevel).to.equal('debug');
    expect(config.workers).to.equal(4);
  });

  it('uses the environment when flags are absent, and in-cluster config in a pod', () => {
    const { config } = parseConfig([], { KUBERNETES_SERVICE_HOST: '10.0.0.1', POD_NAMESPACE: 'suture', SUTURE_LOG_LEVEL: 'warn' }, host);
    expect(config.kubeconfig).to.deep.equal({ kind: 'inCluster' });
    expect(config.namespace).to.equal('suture');
    expect(config.logLevel).to.equal('warn');
    expect(parseConfig([], { KUBECONFIG: '/a:/b' }, host).config.kubeconfig).to.deep.equal({ kind: 'file', path: '/a' });
  });

  it('self-protection: on by default with service account suture and no further admins; admins from repeatable flags', () => {
    expect(parseConfig([], env, host).config.selfProtection).to.deep.equal({ enabled: true, serviceAccount: 'suture', adminUsers: [], adminGroups: [] });
    const { config } = parseConfig(['--self-protection=false', '--service-account=guard', '--admin-user=alice', '--admin-user=ci,bob', '--admin-group=platform'], env, host);
    expect(config.selfProtection).to.deep.equal({ enabled: false, serviceAccount: 'guard', adminUsers: ['alice', 'ci', 'bob'], adminGroups: ['platform'] });
    expect(() => parseConfig(['--self-protection=maybe'], env, host)).to.throw('--self-protection=maybe must be one of true, false');
  });

    it('warns when leader election is off', () => {
    const { config, warnings } = parseConfig(['--leader-elect=false'], env, host);
    expect(config.leaderElection.enabled).to.be.false;
    expect(warnings[0]).to.match(/leader election is disabled/);
  });

  it('collects every problem, naming the flag, the value and what is accepted', () => {
    const found = problems(['--webhook-port=99999', '--failure-policy=Maybe', '--lease-duration=soon', '--log-level=loud', '--cert-source=vault']);
    expect(found).to.have.length(5);
    expect(found).to.include('--webhook-port=99999 must be an integer from 1 to 65535');
    expect(found).to.include('--failure-policy=Maybe must be one of Fail, Ignore');
    expect(found.some((p) => p.startsWith('--lease-duration=soon is not a duration'))).to.be.true;
  });

  it('refuses a renew deadline not shorter than the lease duration', () => {
    expect(problems(['--lease-duration=5s', '--renew-deadline=5s'])[0]).to.match(/--renew-deadline \(5s\) must be shorter than --lease-duration \(5s\)/);
  });

  it('refuses unknown flags', () => {
    expect(problems(['--kubeconfg=/x'])[0]).to.match(/kubeconfg/);
  });

  describe('the test clock', () => {
    it('is refused with the flag alone', () => {
      expect(problems(['--unsafe-test-clock=2026-01-01T00:00:00Z'])[0]).to.match(/refused without SUTURE_ALLOW_TEST_CLOCK=1/);
    });

    it('is ignored with the environment variable alone', () => {
      expect(parseConfig([], { ...env, [TEST_CLOCK_ENV]: '1' }, host).config.testClock).to.equal(undefined);
    });

    it('is honoured with both, and announced loudly', () => {
      const { config, warnings } = parseConfig(['--unsafe-test-clock=2026-01-01T00:00:00Z'], { ...env, [TEST_CLOCK_ENV]: '1' }, host);
      expect(config.testClock?.start.toISOString()).to.equal('2026-01-01T00:00:00.000Z');
      expect(warnings.some((w) => w.startsWith('UNSAFE: the test clock is enabled'))).to.be.true;
    });

    it('needs a valid time', () => {
      expect(problems(['--unsafe-test-clock=tomorrow'], { ...env, [TEST_CLOCK_ENV]: '1' })[0]).to.match(/not an RFC 3339 time/);
    });
  });
});
