/**
 * A RabbitMQ node of a test file's own, for faults that would break every other test on the shared
 * node (stop_app / start_app): its own node name, AMQP and distribution ports, database and logs in
 * a temporary directory (HOME too, so its Erlang cookie is its own), no plugins. Started from the
 * installed server (CELERIAC_TEST_RABBITMQ_BIN, default /usr/lib/rabbitmq/bin) as a child process;
 * `stop()` halts it and deletes the directory. Boots in a few seconds.
 *
 * @example
 * const node = await startPrivateRabbitNode('fault');
 * try { await node.stopApp(); await node.startApp(); } finally { await node.stop(); }
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from './wait';

const run = promisify(execFile);
const BIN = process.env.CELERIAC_TEST_RABBITMQ_BIN ?? '/usr/lib/rabbitmq/bin';

export interface PrivateRabbitNode {
  /** `rabbit-test-<label>-<hex>@localhost` */
  readonly nodename: string;
  readonly port: number;
  /** `amqp://guest:guest@127.0.0.1:<port>/<vhost>` (vhost `/` when omitted). */
  url(vhost?: string): string;
  /** rabbitmqctl against this node; resolves with stdout. */
  ctl(...args: string[]): Promise<string>;
  /** Creates a vhost with all permissions for guest. */
  addVhost(name: string): Promise<void>;
  /** Closes every client connection of `vhost`; returns how many there were. */
  closeVhostConnections(vhost: string): Promise<number>;
  /** Stops the RabbitMQ application (the Erlang node stays up): clients lose their connections, the port closes. */
  stopApp(): Promise<void>;
  /** Starts it again and waits until it answers. */
  startApp(): Promise<void>;
  /** Halts the node and deletes its directory. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startPrivateRabbitNode(label: string): Promise<PrivateRabbitNode> {
  const dir = await mkdtemp(path.join(tmpdir(), `celeriac-rabbit-${label}-`));
  const nodename = `rabbit-test-${label}-${randomBytes(4).toString('hex')}@localhost`;
  const port = await freePort();
  const distPort = await freePort();
  await writeFile(path.join(dir, 'rabbitmq.conf'), `listeners.tcp.1 = 127.0.0.1:${port}\nloopback_users.guest = true\n`);
  await writeFile(path.join(dir, 'enabled_plugins'), '[].\n');
  await writeFile(path.join(dir, 'rabbitmq-env.conf'), ''); // not the system's (its NODENAME, ports)
  const env = {
    ...process.env,
    HOME: dir,
    RABBITMQ_CONF_ENV_FILE: path.join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_NODENAME: nodename,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq.conf'),
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
  const ctl = async (...args: string[]): Promise<string> => (await run(path.join(BIN, 'rabbitmqctl'), ['-n', nodename, '-q', ...args], { env, cwd: dir, timeout: 30_000 })).stdout;
  const child: ChildProcess = spawn(path.join(BIN, 'rabbitmq-server'), [], { env, cwd: dir, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let exitedEarly = false;
  void exited.then(() => (exitedEarly = true));
  const answers = async (): Promise<boolean> => {
    if (exitedEarly) throw new Error(`RabbitMQ node ${nodename} exited while starting; see ${dir}/log.`);
    return ctl('await_startup', '--timeout', '5').then(
      () => true,
      () => false,
    );
  };

  const stop = async (): Promise<void> => {
    if (!exitedEarly) {
      await ctl('stop').catch(() => child.kill('SIGKILL'));
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000).unref())]);
      if (!exitedEarly) child.kill('SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await waitFor(answers, 60_000, `RabbitMQ node ${nodename} to start`, 250);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    nodename,
    port,
    url: (vhost = '/') => `amqp://guest:guest@127.0.0.1:${port}/${encodeURIComponent(vhost)}`,
    ctl,
    addVhost: async (name) => {
      await ctl('add_vhost', name);
      await ctl('set_permissions', '-p', name, 'guest', '.*', '.*', '.*');
    },
    closeVhostConnections: async (vhost) => {
      // The table form: close_connection wants `<rabbit@host.1.2.3>`, the JSON form prints `#PID<...>`.
      const stdout = await ctl('list_connections', 'vhost', 'pid', '--no-table-headers');
      const mine = stdout.split('\n').map((line) => line.split('\t')).filter(([v, pid]) => v === vhost && pid);
      for (const [, pid] of mine) await ctl('close_connection', pid!, 'celeriac test: connection loss');
      return mine.length;
    },
    stopApp: async () => {
      await ctl('stop_app');
    },
    startApp: async () => {
      await ctl('start_app');
      await waitFor(answers, 60_000, `RabbitMQ node ${nodename} to answer again`, 100);
    },
    stop,
  };
}
