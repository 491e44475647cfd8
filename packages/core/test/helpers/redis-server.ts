/**
 * A private redis-server on a free port, for fault tests that stop or start a broker: the shared
 * service on 6379 is never touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  start(): Promise<void>;
  /** SIGKILL, keeping its directory (and append-only file) for the next start(): a crash. */
  kill(): Promise<void>;
  /** SIGKILL and delete its directory. */
  stop(): Promise<void>;
}

export interface PrivateRedisOptions {
  /** Persist every write before replying (appendonly, appendfsync always), so a kill loses nothing acknowledged. */
  durable?: boolean;
}

export function privateRedis(port: number, options: PrivateRedisOptions = {}): PrivateRedis {
  let child: ChildProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-redis-'));
  const url = `redis://127.0.0.1:${port}/0`;
  const persistence = options.durable ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const kill = async (): Promise<void> => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  };
  return {
    port,
    url,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir], { stdio: 'ignore' });
      const deadline = Date.now() + 10_000;
      for (;;) {
        const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        try {
          await probe.connect();
          await probe.ping();
          probe.disconnect();
          return;
        } catch {
          probe.disconnect();
          if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    },
    kill,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
