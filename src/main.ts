#!/usr/bin/env node
// `suture run`: the operator process. The only module besides config.ts that reads argv and the environment.
import { ConfigError, defaults, loadConfig } from './config.js';
import { createLogger } from './observability/logger.js';
import { runSuture } from './operator.js';
import { enableLinearRegExp } from './runtime/regexp.js';

const HELP = `suture — governs Kubernetes operators by the impact of their requests.

Usage:
  suture run [flags]

Connection:
  --kubeconfig <path>            kubeconfig (env KUBECONFIG; in a pod: the service account)
  --context <name>               kubeconfig context
  --namespace <ns>               Suture's own namespace (env POD_NAMESPACE; default ${defaults.namespace})

Admission server (HTTPS; serves /validate /mutate /validate-objects /healthz /readyz /metrics /decisions/<id>):
  --webhook-host <addr>          listen address (default ${defaults.webhookHost})
  --webhook-port <port>          listen port (default ${defaults.webhookPort})
  --webhook-service <name>       Service the API server calls in a cluster (default ${defaults.webhookService})
  --webhook-url <url>            call this URL instead (Suture outside the cluster, e.g. https://127.0.0.1:9443)
  --cert-source secret|dir       secret: generate and rotate a CA and serving certificate in --cert-secret (default);
                                 dir: read tls.crt/tls.key/ca.crt from --cert-dir (cert-manager)
  --cert-secret <name>           default ${defaults.certSecret}
  --cert-dir <path>              default ${defaults.certDir}
  --failure-policy Fail|Ignore   webhook failurePolicy for governed identities (default ${defaults.failurePolicy})

Governance:
  --exempt-namespace <ns>        service accounts of this namespace are not governed (repeatable; kube-system and
                                 Suture's namespace always are)
  --exempt-user <name>           never governed; its removals of protected objects are still judged (repeatable)
  --exempt-group <name>          never governed; its removals of protected objects are still judged (repeatable)
  --self-protection true|false   install and repair the ValidatingAdmissionPolicy that lets only Suture and admins
                                 write Suture's own objects; /readyz checks Suture's rights (default true)
  --service-account <name>       Suture's service account in --namespace (default ${defaults.serviceAccount})
  --admin-user <name>            may write Suture's own objects besides system:masters (repeatable)
  --admin-group <name>           likewise, a group (repeatable)
  --max-exception-duration <d>   longest SutureException (default ${defaults.maxExceptionDuration})
  --freshness-timeout <d>        how long a decision may wait for fresh state (default ${defaults.freshnessTimeout})

Reconcilers:
  --leader-elect true|false      elect one leader among replicas (default true)
  --leader-election-namespace, --leader-election-id (default ${defaults.leaderElectionId}),
  --lease-duration (${defaults.leaseDuration}), --renew-deadline (${defaults.renewDeadline}), --retry-period (${defaults.retryPeriod})
  --workers <n>                  workers per reconciler (default ${defaults.workers})

Logging:
  --log-level error|warn|info|debug   (env SUTURE_LOG_LEVEL; default ${defaults.logLevel})

Tests only:
  --unsafe-test-clock <RFC3339>  decisions take this instant as "now" at start-up; refused unless
                                 SUTURE_ALLOW_TEST_CLOCK=1 is also set, and logged as UNSAFE.
`;

async function run(args: readonly string[]): Promise<void> {
  const { config, warnings } = loadConfig(args);
  const logger = createLogger({ level: config.logLevel, base: { component: 'suture', pod: config.podName } });
  for (const warning of warnings) logger.warn(warning);
  const suture = await runSuture(config, logger);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info('Stopping Suture', { signal });
    suture.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('Failed to stop cleanly', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help' || rest.includes('--help')) {
    process.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'run') {
    process.stderr.write(`suture: unknown command ${JSON.stringify(command)}; try "suture run --help"\n`);
    return 2;
  }
  try {
    await run(rest);
    return -1; // keeps running until a signal
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`suture: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`suture: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}

enableLinearRegExp();
void main(process.argv.slice(2)).then((code) => {
  if (code >= 0) process.exit(code);
});
