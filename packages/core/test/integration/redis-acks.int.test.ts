/**
 * The Redis broker's ack batcher against a real Redis: every ack of one event-loop turn leaves
 * `unacked` and `unacked_index` (Kombu's QoS.ack), also past the 1000 tags one script call takes,
 * and the entries of deliveries not acked stay.
 */
import { parseRedisUrl } from '../../src/brokers/redis/redis-url';
import { KombuKeys } from '../../src/brokers/redis/keys';
import { AckBatcher } from '../../src/brokers/redis/redis-acks';
import { RedisClients } from '../../src/brokers/redis/redis-connection';
import { testNamespace } from '../helpers/namespace';

const ns = testNamespace('redis-acks');
afterAll(() => ns.cleanup());

it('acks 2,500 tags of one turn in chunks, leaving the others held', async () => {
  const clients = new RedisClients(parseRedisUrl(ns.redisUrl, 'brokerUrl'), 5);
  const keys = new KombuKeys(ns.prefix);
  await clients.open(clients.cmd);
  try {
    const tags = Array.from({ length: 2600 }, (_, i) => `tag-${i}`);
    const pipe = clients.cmd.pipeline();
    for (const tag of tags) pipe.zadd(keys.unackedIndex, 1, tag).hset(keys.unacked, tag, '[]');
    await clients.exec(pipe);
    const acks = new AckBatcher(clients, keys);
    await Promise.all(tags.slice(0, 2500).map((tag) => acks.ack(tag)));
    expect((await clients.cmd.hkeys(keys.unacked)).sort()).toEqual(tags.slice(2500).sort());
    expect((await clients.cmd.zrange(keys.unackedIndex, 0, -1)).sort()).toEqual(tags.slice(2500).sort());
  } finally {
    await clients.cmd.quit();
  }
});
