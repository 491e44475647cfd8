/**
 * Global rate limits on real Redis: two workers (separate apps, each consuming a queue of its own, so
 * only the shared Redis bucket can space them) run a '20/s' task at 20/s combined, dropping nothing;
 * the bucket's key expires once idle.
 *
 * Isolation: DB 0 with this file's own prefix on broker keys and rate-limit keys (testNamespace);
 * everything under it is deleted afterwards.
 */
import { Redis } from 'ioredis';
import { Celeriac, Worker, createLogger } from '../../src';
import { testNamespace } from '../helpers/namespace';
import { waitFor } from '../helpers/wait';

const ns = testNamespace('global-rate');
const redis = new Redis(ns.redisUrl, { lazyConnect: true });
const starts: Array<{ at: number; worker: string }> = [];

function makeApp(worker: string): Celeriac {
  const app = new Celeriac({
    ...ns.redisBroker(),
    ...ns.redisResults(),
    rateLimitKeyPrefix: ns.prefix,
    logger: createLogger('silent'),
  });
  app.task(
    'g.tick',
    async (i: number) => {
      starts.push({ at: Date.now(), worker });
      return i;
    },
    { globalRateLimit: '20/s' },
  );
  return app;
}

const client = makeApp('client');
const apps = [makeApp('w1'), makeApp('w2')];
const workers = apps.map((app, i) => new Worker(app, { concurrency: 10, queues: [ns.name(`q${i + 1}`)], hostname: `w${i + 1}@global-rate`, remoteControl: false }));

beforeAll(async () => {
  await redis.connect();
  for (const w of workers) await w.start();
});

afterAll(async () => {
  for (const w of workers) await w.close();
  for (const app of [client, ...apps]) await app.close();
  await ns.cleanup();
  redis.disconnect();
});

it('spaces a globalRateLimit task across two workers at the shared rate, runs every one, and leaves no key behind', async () => {
  const key = `${ns.prefix}ratelimit:g.tick`;
  const sent = [];
  for (let i = 0; i < 40; i++) sent.push(await client.sendTask<number>('g.tick', [i], {}, { queue: ns.name(i % 2 ? 'q2' : 'q1') }));
  // while they run, the bucket's key exists and expires about a second after its last slot
  await waitFor(async () => (await redis.exists(key)) === 1, 5000, 'the bucket key');
  const pttl = await redis.pttl(key);
  expect(pttl).toBeGreaterThan(0);
  expect(pttl).toBeLessThanOrEqual(2000 + 1000 + 100);

  const results = await Promise.all(sent.map((r) => r.get({ timeout: 20_000 })));
  expect(results.sort((a, b) => a - b)).toEqual([...Array(40).keys()]);
  expect(starts.filter((s) => s.worker === 'w1')).toHaveLength(20);
  expect(starts.filter((s) => s.worker === 'w2')).toHaveLength(20);

  const at = starts.map((s) => s.at).sort((a, b) => a - b);
  // Slot k is 50k ms after the first (in Redis's clock); a start is never before its slot.
  expect(at[39]! - at[0]!).toBeGreaterThanOrEqual(1900);
  for (let k = 1; k < at.length; k++) expect(at[k]! - at[0]!).toBeGreaterThanOrEqual(50 * k - 25);
  // and never a burst anywhere: any 10 consecutive starts span 9 slots (450 ms), less a late start's delay
  for (let k = 0; k + 9 < at.length; k++) expect(at[k + 9]! - at[k]!).toBeGreaterThanOrEqual(450 - 100);

  await waitFor(async () => (await redis.exists(key)) === 0, 3000, 'the bucket key to expire');
});
