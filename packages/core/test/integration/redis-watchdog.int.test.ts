/**
 * The Redis list consumer's watchdog against a real Redis behind a TCP proxy of this file's own:
 * the consumer's blocking connection is frozen (no bytes, no close: a half-open connection), so its
 * BRPOP never returns; while messages wait the watchdog reports the stall, reconnects it and the
 * messages are delivered. An idle consumer with nothing waiting is left alone. Keys under this file's
 * prefix on the shared Redis (DB from namespace.ts), deleted afterwards.
 */
import type { ConsumerRecovery, Delivery } from '../../src/brokers/broker';
import { RedisBroker } from '../../src/brokers/redis/redis-broker';
import { testMessage } from '../contract/broker.contract';
import { testNamespace } from '../helpers/namespace';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';
import { waitFor } from '../helpers/wait';

const ns = testNamespace('redis-watchdog');
let proxy: TcpProxy;
const brokers: RedisBroker[] = [];

beforeAll(async () => {
  const url = new URL(ns.redisUrl);
  proxy = await startTcpProxy(Number(url.port || 6379), url.hostname);
});
afterAll(async () => {
  await Promise.all(brokers.map((b) => b.close().catch(() => undefined)));
  await proxy.close();
  await ns.cleanup();
});

function proxiedBroker(): RedisBroker {
  const url = new URL(ns.redisUrl);
  url.port = String(proxy.port);
  const b = new RedisBroker({ url: url.toString(), keyPrefix: ns.prefix, consumerWatchdogInterval: 0.2 });
  brokers.push(b);
  return b;
}

describe('Redis consumer watchdog', () => {
  it('rebuilds a consumer whose connection went silent while messages wait; they are then delivered', async () => {
    const broker = proxiedBroker();
    await broker.connect();
    const queue = `wd-${Date.now()}`;
    await broker.declareQueue({ name: queue, exchange: queue, routingKey: queue });
    const before = proxy.connections.length;
    const got: Delivery[] = [];
    const errors: string[] = [];
    const recoveries: ConsumerRecovery[] = [];
    const sub = await broker.consume([queue], async (d) => {
      got.push(d);
      await d.ack();
    }, { prefetch: 10, onError: (e) => errors.push((e as Error).message), onRecover: (r) => recoveries.push(r) });
    // the consume() call opened the blocking connection: freeze it, the command connection stays live
    const blocking = proxy.connections.slice(before);
    expect(blocking).toHaveLength(1);
    proxy.freeze(blocking);
    // Let the loop's first fetch (command connection) come back empty and its BRPOP go out on the
    // frozen connection, where Redis never sees it; only then publish, so no message is popped into it.
    await new Promise((r) => setTimeout(r, 500));

    // published on another connection (not through the frozen one)
    const publisher = new RedisBroker({ url: ns.redisUrl, keyPrefix: ns.prefix });
    brokers.push(publisher);
    await publisher.connect();
    await publisher.publishMany([1, 2, 3].map((i) => ({ message: testMessage(`wd-${i}`), route: { exchange: '', routingKey: queue } })));

    await waitFor(() => got.length === 3, 10_000, 'the 3 messages after the rebuild');
    expect(got.map((d) => d.message.headers.id).sort()).toEqual(['wd-1', 'wd-2', 'wd-3']);
    expect(errors).toEqual(expect.arrayContaining([expect.stringMatching(/^The consumer of wd-\d+ on Redis stopped receiving \(no progress for \d+ s while 3 message\(s\) wait\): rebuilding its connection\.$/)]));
    await waitFor(() => recoveries.length === 1, 5_000, 'the recovery report');
    expect(recoveries[0]).toMatchObject({ kind: 'rebuilt', queues: [queue] });
    await sub.cancel();
  });

  it('leaves an idle consumer alone: nothing waiting, no rebuild, even on a silent connection', async () => {
    const broker = proxiedBroker();
    await broker.connect();
    const queue = `wd-idle-${Date.now()}`;
    await broker.declareQueue({ name: queue, exchange: queue, routingKey: queue });
    const before = proxy.connections.length;
    const errors: unknown[] = [];
    const sub = await broker.consume([queue], () => undefined, { prefetch: 10, onError: (e) => errors.push(e) });
    proxy.freeze(proxy.connections.slice(before));
    await new Promise((r) => setTimeout(r, 2_500)); // past the stall threshold (1 s BRPOP + 0.2 s) twice over
    expect(errors).toEqual([]);
    expect(proxy.connections.length - before).toBe(1); // no new connection
    // cancel() ends even though the frozen BRPOP never answers (it cuts the connection)
    await sub.cancel();
  });
});
