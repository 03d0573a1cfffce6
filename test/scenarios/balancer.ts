// A TCP load balancer on one loopback port in front of several Suture replicas, as a Service is in front of pods:
// the API server calls one webhook URL, and each new connection goes to the next replica (round robin). TLS passes
// through untouched (each replica serves the same certificate from the shared Secret). When a replica does not
// accept the connection (stopped, killed, restarting), the next one is tried before a byte is forwarded, so the
// API server sees a failure only when no replica answers at all — kube-proxy with a readiness-aware endpoint list
// behaves the same way for new connections.
import type { AddressInfo, Server, Socket } from 'node:net';
import { connect, createServer } from 'node:net';

export interface BalancerStats {
  /** Connections handed to each backend port. */
  readonly perBackend: ReadonlyMap<number, number>;
  /** Connections that found no backend accepting them (closed at once). */
  readonly unserved: number;
}

export class TcpBalancer {
  private server: Server | undefined;
  private backends: number[] = [];
  private next = 0;
  private readonly counts = new Map<number, number>();
  private unserved = 0;
  private readonly sockets = new Set<Socket>();

  /** Replaces the backend ports (loopback); connections already open stay where they are. */
  setBackends(ports: readonly number[]): void {
    this.backends = [...ports];
  }

  /** Listens on 127.0.0.1 (`port` 0 = any free port) and resolves the port. */
  async listen(port = 0): Promise<number> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  stats(): BalancerStats {
    return { perBackend: new Map(this.counts), unserved: this.unserved };
  }

  resetStats(): void {
    this.counts.clear();
    this.unserved = 0;
  }

  /** Closes every open connection (both sides); the next request of a client connects anew. */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private accept(client: Socket): void {
    this.track(client);
    client.pause();
    client.on('error', () => client.destroy());
    const order = this.backends.map((_, i) => this.backends[(this.next + i) % this.backends.length] as number);
    this.next = this.backends.length === 0 ? 0 : (this.next + 1) % this.backends.length;
    this.tryBackend(client, order);
  }

  /** Connects to the first backend of `order` that accepts; the client's bytes wait (paused) until then. */
  private tryBackend(client: Socket, order: number[]): void {
    const [port, ...rest] = order;
    if (port === undefined || client.destroyed) {
      if (!client.destroyed) this.unserved += 1;
      client.destroy();
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port });
    this.track(upstream);
    const refused = (): void => {
      upstream.destroy();
      this.tryBackend(client, rest);
    };
    upstream.once('error', refused);
    upstream.once('connect', () => {
      upstream.off('error', refused);
      this.counts.set(port, (this.counts.get(port) ?? 0) + 1);
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  }
}
