// A real Prometheus for the integration tests (`make prometheus` puts Debian's package on PATH): started on a free
// loopback port with a temp dir, scraping itself every second, so `up{job="self"}` is 1 once it has scraped.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './support.js';

export interface PrometheusServer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  stop(): void;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** Starts Prometheus and resolves once it has scraped itself (at most 45 s). */
export async function startPrometheus(): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'suture-prom-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  writeFileSync(join(dir, 'prometheus.yml'), `global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: self\n    static_configs: [{targets: ['127.0.0.1:${port}']}]\n`);
  const child: ChildProcess = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
  const stop = (): void => {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await eventually('Prometheus to scrape itself', async () => {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent('up{job="self"}')}`);
      const body = (await res.json()) as { data?: { result?: unknown[] } };
      return (body.data?.result?.length ?? 0) === 1;
    }, 45_000);
  } catch (error) {
    stop();
    throw error;
  }
  return { url, stop };
}
