/**
 * Fanout between RedisBroker and Python Kombu 5.2.4 (Debian's /usr/bin/python3, py/kombu_fanout.py),
 * both ways, with and without a key prefix (Kombu's `global_keyprefix`): a Kombu consumer of a fanout
 * queue receives our PUBLISH, and a Kombu producer's PUBLISH reaches our subscriber.
 *
 * Redis DB 13 (other test files use 0, 5, 9, 11, 12, 14, 15); exchange names are unique to the run, and
 * the keys Kombu leaves (its bindings) are deleted afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Delivery } from '../../src/brokers/broker';
import { RedisBroker } from '../../src/brokers/redis/redis-broker';
import { testMessage } from '../contract/broker.contract';
import { waitFor } from '../helpers/wait';

const PYTHON = process.env.CELERIAC_TEST_PYTHON ?? '/usr/bin/python3';
const SCRIPT = path.join(__dirname, 'py', 'kombu_fanout.py');
const URL = process.env.CELERIAC_TEST_FANOUT_REDIS_URL ?? 'redis://127.0.0.1:6379/13';
const run = randomBytes(4).toString('hex');

/** One kombu_fanout.py process; `lines` fills with its parsed JSON output. */
function kombu(args: string[]): { child: ChildProcess; lines: Record<string, unknown>[]; stderr: () => string; done: Promise<number | null> } {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' };
  for (const name of ['PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV']) delete env[name];
  const child = spawn(PYTHON, [SCRIPT, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    for (let i = out.indexOf('\n'); i >= 0; i = out.indexOf('\n')) {
      lines.push(JSON.parse(out.slice(0, i)) as Record<string, unknown>);
      out = out.slice(i + 1);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const done = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, lines, stderr: () => err, done };
}

describe.each([
  ['without a key prefix', ''],
  ['with a key prefix', `celeriac-fanout-${run}:`],
])('fanout with Python Kombu, %s', (_label, prefix) => {
  const brokers: RedisBroker[] = [];
  const children: ChildProcess[] = [];
  const exchanges: string[] = [];
  let n = 0;
  const exchange = (): string => {
    const name = `celeriac-fx-${run}-${++n}${prefix ? 'p' : ''}`;
    exchanges.push(name);
    return name;
  };

  async function broker(): Promise<RedisBroker> {
    const b = new RedisBroker({ url: URL, keyPrefix: prefix });
    brokers.push(b);
    await b.connect();
    return b;
  }

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await Promise.all(brokers.map((b) => b.close()));
    const raw = new Redis(URL);
    await raw.del(...exchanges.map((e) => `${prefix}_kombu.binding.${e}`));
    raw.disconnect();
  });

  it('a Kombu consumer receives our broadcast', async () => {
    const b = await broker();
    const ex = exchange();
    await b.declareExchange(ex, 'fanout');
    const py = kombu(['consume', URL, ex, '#', '20', prefix]);
    children.push(py.child);
    await waitFor(() => py.lines.length > 0 || py.child.exitCode !== null, 15_000, 'the Kombu consumer to start');
    expect(py.lines[0]).toEqual({ ready: true });
    const sent = testMessage(`to-python-${run}`);
    // Kombu subscribes on its first drain_events, after printing "ready": send until it has one.
    await waitFor(async () => {
      if (py.lines.length < 2) await b.publish(sent, { exchange: ex, routingKey: 'worker.heartbeat' });
      return py.lines.length >= 2 || py.child.exitCode !== null;
    }, 20_000, 'the Kombu consumer to receive it', 100);
    expect(await py.done).toBe(0);
    const got = py.lines[1]!;
    expect(got.timeout).toBeUndefined();
    expect(got.body).toEqual(JSON.parse(sent.body.toString('utf8')));
    expect(got.headers).toEqual(sent.headers);
    expect(got.content_type).toBe('application/json');
    expect(got.delivery_info).toMatchObject({ exchange: ex, routing_key: 'worker.heartbeat' });
  });

  it('our consumer receives a Kombu broadcast', async () => {
    const b = await broker();
    const ex = exchange();
    const q = `celeriac-fq-${run}-${n}`;
    await b.declareQueue({ name: q, exchange: ex, routingKey: '', exchangeType: 'fanout' });
    const got: Delivery[] = [];
    const errors: unknown[] = [];
    await b.consume([q], (d) => void got.push(d), { prefetch: 10, onError: (e) => errors.push(e) });
    const body = { method: 'ping', arguments: {}, destination: null, ticket: run };
    const py = kombu(['publish', URL, ex, '', JSON.stringify(body), prefix]);
    children.push(py.child);
    expect(await py.done).toBe(0);
    expect(py.lines).toEqual([{ published: true }]);
    await waitFor(() => got.length === 1, 5000, 'the Kombu broadcast');
    const d = got[0]!;
    expect(d.info).toMatchObject({ exchange: ex, routingKey: '', queue: q, redelivered: false });
    expect(d.message.headers).toEqual({ from: 'kombu' });
    expect(d.message.contentType).toBe('application/json');
    expect(JSON.parse(d.message.body.toString('utf8'))).toEqual(body);
    expect(errors).toEqual([]);
  });
});
