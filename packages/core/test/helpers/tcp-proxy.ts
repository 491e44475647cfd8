/**
 * A TCP proxy in front of a server, for fault tests: `freeze` makes chosen connections stop passing
 * bytes without closing (a half-open connection after a network fault), which no client notices by
 * itself. Closing either side closes the other.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface ProxiedConnection {
  readonly client: Socket;
  readonly upstream: Socket;
  frozen: boolean;
}

export interface TcpProxy {
  readonly port: number;
  /** Every connection accepted so far, in order. */
  readonly connections: ProxiedConnection[];
  /** Stops passing bytes both ways on these connections; nothing is closed. */
  freeze(connections: ProxiedConnection[]): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const connections: ProxiedConnection[] = [];
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    const conn: ProxiedConnection = { client, upstream, frozen: false };
    connections.push(conn);
    client.on('data', (d) => conn.frozen || upstream.write(d));
    upstream.on('data', (d) => conn.frozen || client.write(d));
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    connections,
    freeze(list) {
      for (const c of list) c.frozen = true;
    },
    async close() {
      for (const c of connections) {
        c.client.destroy();
        c.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
