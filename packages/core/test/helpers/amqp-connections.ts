/**
 * Cuts every client connection of one RabbitMQ vhost (rabbitmqctl close_connection), as a broker
 * restart or a network failure would, without touching other test files' vhosts.
 *
 * @example
 * expect(await closeVhostConnections(vhost.name)).toBeGreaterThan(0);
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Closes the vhost's connections; returns how many there were. */
export async function closeVhostConnections(vhost: string): Promise<number> {
  // The table form: close_connection wants `<rabbit@host.1.2.3>`, the JSON form prints `#PID<...>`.
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_connections', 'vhost', 'pid', '--no-table-headers'], { timeout: 20_000 });
  const mine = stdout.split('\n').map((line) => line.split('\t')).filter(([v, pid]) => v === vhost && pid);
  for (const [, pid] of mine) await run('rabbitmqctl', ['-q', 'close_connection', pid!, 'celeriac test: connection loss'], { timeout: 20_000 });
  return mine.length;
}
