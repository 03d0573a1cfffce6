// Small network helpers: free loopback ports, one-shot HTTP(S) probes and a poll loop.
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Asks the kernel for a free TCP port on 127.0.0.1. Another process could take it before use; startup then fails loudly. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** TLS material for an HTTPS probe; all PEM. */
export interface ProbeTls {
  readonly ca: string;
  readonly cert?: string;
  readonly key?: string;
}

/** The status code and body of a probe. */
export interface ProbeResult {
  readonly status: number;
  readonly body: string;
}

/** GET `url` once (HTTPS when `tls` is given); rejects on network errors and after `timeoutMs`. */
export async function probe(url: string, tls?: ProbeTls, timeoutMs = 5_000): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    };
    const req = tls === undefined ? httpRequest(url, { timeout: timeoutMs }, onResponse) : httpsRequest(url, { ...tls, timeout: timeoutMs }, onResponse);
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs}ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** How to poll: what is awaited, for how long, and a check that fails fast (e.g. the process died). */
export interface PollOptions {
  readonly what: string;
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  /** Returns a reason to give up at once, or undefined to go on. */
  readonly abort?: () => string | undefined;
}

/** Calls `check` until it returns true; throws with the last failure when `timeoutMs` passes or `abort` says so. */
export async function pollUntil(check: () => Promise<boolean>, options: PollOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let last: string;
  for (;;) {
    const reason = options.abort?.();
    if (reason !== undefined) throw new Error(`${options.what}: ${reason}`);
    try {
      if (await check()) return;
      last = 'not ready';
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) throw new Error(`${options.what}: not ready after ${options.timeoutMs}ms (last: ${last})`);
    await sleep(options.intervalMs ?? 200);
  }
}
