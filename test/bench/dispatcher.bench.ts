// Sequential LISTs through the ObjectClient, with client-node's default (a new undici dispatcher, so a new TLS
// connection, per API call) and with shareDispatchers (one per cluster and user), interleaved twice.
//   npx tsx test/bench/dispatcher.bench.ts <kubeconfig> [calls=100]
import { KubeConfig } from '@kubernetes/client-node';
import { createObjectClient, shareDispatchers } from '../../src/kube/client.js';

const [path, calls = '100'] = process.argv.slice(2);
if (path === undefined) throw new Error('usage: dispatcher.bench.ts <kubeconfig> [calls]');

async function run(label: string, kc: KubeConfig): Promise<void> {
  const client = createObjectClient(kc);
  await client.list('v1', 'Namespace');
  const t0 = performance.now();
  for (let i = 0; i < Number(calls); i++) await client.list('v1', 'Namespace');
  console.log(`${label}: ${calls} sequential LISTs in ${(performance.now() - t0).toFixed(0)} ms`);
}

const load = (): KubeConfig => {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
};
for (let round = 0; round < 2; round++) {
  await run('client-node default, a dispatcher per call', load());
  await run('shareDispatchers, one per cluster and user', shareDispatchers(load()));
}
