import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { expect } from 'chai';
import { API_KEEP_ALIVE_MS, loadKubeConfig } from '../../../src/kube/client.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('kube/client loadKubeConfig', () => {
  it('reuses one connection pool (undici dispatcher) per cluster and user instead of one per API call', () => {
    const dir = mkdtempSync(join(tmpdir(), 'suture-kc-'));
    const path = join(dir, 'kubeconfig');
    writeFileSync(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: ' + b64('not a real CA') + '}}]',
        'users: [{name: u, user: {token: t}}]',
        'contexts: [{name: x, context: {cluster: c, user: u}}]',
        'current-context: x',
      ].join('\n'),
    );
    const kc = loadKubeConfig({ kind: 'file', path });
    const create = (kc as unknown as { createDispatcher: (cluster: unknown, options: unknown) => unknown }).createDispatcher;
    const first = create(kc.getCurrentCluster(), { ca: Buffer.from('ca') });
    expect(first).to.not.equal(undefined);
    expect(create(kc.getCurrentCluster(), { ca: Buffer.from('ca') })).to.equal(first);
    // client-node's own undici Agent, keeping idle connections for minutes instead of undici's 4 s.
    const symbols = Object.getOwnPropertySymbols(first);
    const options = symbols.map((s) => (first as Record<symbol, unknown>)[s]).find((v): v is { keepAliveTimeout?: number } => typeof v === 'object' && v !== null && 'keepAliveTimeout' in v);
    expect((first as object).constructor.name).to.equal('Agent');
    expect(options?.keepAliveTimeout).to.equal(API_KEEP_ALIVE_MS);
  });

  it('gives every connection of a pool one SecureContext, built once from the TLS options', () => {
    const dir = mkdtempSync(join(tmpdir(), 'suture-kc-'));
    const path = join(dir, 'kubeconfig');
    writeFileSync(path, ['apiVersion: v1', 'kind: Config', 'clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}}]', 'users: [{name: u, user: {token: t}}]', 'contexts: [{name: x, context: {cluster: c, user: u}}]', 'current-context: x'].join('\n'));
    const kc = loadKubeConfig({ kind: 'file', path });
    const options = (kc as unknown as { createDispatcherOptions: (cluster: unknown, options: unknown) => { type: string; connect?: Record<string, unknown> } }).createDispatcherOptions;
    const opts = options(kc.getCurrentCluster(), { rejectUnauthorized: false });
    expect(opts.type).to.equal('agent');
    expect(opts.connect?.['secureContext']).to.be.instanceOf(tls.createSecureContext({}).constructor);
    expect(opts.connect?.['rejectUnauthorized']).to.equal(false);
  });
});
