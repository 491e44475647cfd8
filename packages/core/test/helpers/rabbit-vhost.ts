/**
 * A RabbitMQ vhost of a test file's own (rabbitmqctl add_vhost + permissions for guest), deleted
 * with everything in it afterwards: queues and exchanges cannot leak between test files.
 *
 * @example
 * const vhost = await createTestVhost('rpc'); // amqp://guest:guest@127.0.0.1:5672/t-rpc-1a2b3c4d
 * afterAll(() => vhost.delete());
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** RabbitMQ used by tests; override with CELERIAC_TEST_AMQP_URL (no vhost path). */
export const TEST_AMQP_BASE = process.env.CELERIAC_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export interface TestVhost {
  readonly name: string;
  /** `amqp://guest:guest@127.0.0.1:5672/<name>` */
  readonly url: string;
  delete(): Promise<void>;
}

export async function createTestVhost(label: string): Promise<TestVhost> {
  const name = `t-${label}-${randomBytes(4).toString('hex')}`;
  await run('rabbitmqctl', ['-q', 'add_vhost', name]);
  await run('rabbitmqctl', ['-q', 'set_permissions', '-p', name, 'guest', '.*', '.*', '.*']);
  return {
    name,
    url: `${TEST_AMQP_BASE}/${encodeURIComponent(name)}`,
    delete: async () => {
      await run('rabbitmqctl', ['-q', 'delete_vhost', name]);
    },
  };
}

/** Queues of a vhost as RabbitMQ lists them: name, durable, auto_delete, arguments. */
export async function listQueues(vhost: string): Promise<Array<{ name: string; durable: boolean; auto_delete: boolean; arguments: Record<string, unknown> }>> {
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_queues', '-p', vhost, '--formatter', 'json', 'name', 'durable', 'auto_delete', 'arguments']);
  const rows = JSON.parse(stdout) as Array<{ name: string; durable: boolean; auto_delete: boolean; arguments: unknown }>;
  // rabbitmqctl prints arguments as [[key, value], ...] (or [key, value] pairs with a type); make them an object.
  return rows.map((r) => ({ ...r, arguments: argumentsObject(r.arguments) }));
}

function argumentsObject(raw: unknown): Record<string, unknown> {
  if (!Array.isArray(raw)) return (raw as Record<string, unknown>) ?? {};
  const out: Record<string, unknown> = {};
  for (const pair of raw) if (Array.isArray(pair)) out[String(pair[0])] = pair[pair.length - 1];
  return out;
}
