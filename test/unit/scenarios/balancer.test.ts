import type { AddressInfo, Server } from 'node:net';
import { connect, createServer } from 'node:net';
import { expect } from 'chai';
import { TcpBalancer } from '../../scenarios/balancer.js';

/** A loopback server that answers each connection's first bytes with `name:` and closes. */
function named(name: string): Promise<Server> {
  const server = createServer((socket) => socket.once('data', (data) => socket.end(`${name}:${data.toString('utf8')}`)));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function ask(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(text));
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('utf8')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

const portOf = (s: Server): number => (s.address() as AddressInfo).port;
const close = (s: Server): Promise<void> => new Promise((resolve) => s.close(() => resolve()));

describe('TcpBalancer', () => {
  it('sends new connections round robin and fails over to the next backend when one refuses', async () => {
    const a = await named('a');
    const b = await named('b');
    const balancer = new TcpBalancer();
    const portA = portOf(a);
    balancer.setBackends([portA, portOf(b)]);
    const port = await balancer.listen();
    try {
      expect([await ask(port, '1'), await ask(port, '2'), await ask(port, '3')]).to.deep.equal(['a:1', 'b:2', 'a:3']);
      await close(b);
      expect([await ask(port, '4'), await ask(port, '5')]).to.deep.equal(['a:4', 'a:5']);
      await close(a);
      expect(await ask(port, '6')).to.equal('');
      expect(balancer.stats().unserved).to.equal(1);
      expect(balancer.stats().perBackend.get(portA)).to.equal(4);
    } finally {
      await balancer.close();
    }
  });
});
