/** Celery's task rate limits, per worker: parsing, the token bucket, and the worker delaying (never dropping). */
import { randomUUID } from 'node:crypto';
import { Celeriac, ConfigError, MemoryBroker, MemoryKeyValueStore, Worker, createLogger } from '../../src';
import { RateLimiter, parseRateLimit } from '../../src/worker/rate-limit';

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

describe('parseRateLimit', () => {
  it("reads Celery's forms as tasks per second", () => {
    expect(parseRateLimit('10/s')).toBe(10);
    expect(parseRateLimit('120/m')).toBe(2);
    expect(parseRateLimit('3600/h')).toBe(1);
    expect(parseRateLimit('5')).toBe(5);
    expect(parseRateLimit(2.5)).toBe(2.5);
    expect(parseRateLimit(undefined)).toBeNull();
    expect(parseRateLimit('0')).toBeNull();
  });

  it('names a bad value', () => {
    expect(() => parseRateLimit('10/d')).toThrow(ConfigError);
    expect(() => parseRateLimit('fast')).toThrow(/'10\/s', '100\/m' or '1000\/h'/);
    expect(() => new Celeriac({ brokerUrl: 'memory://', taskDefaultRateLimit: 'lots' })).toThrow(/taskDefaultRateLimit/);
    const app = new Celeriac({ brokerUrl: 'memory://' });
    expect(() => app.task('t.x', async () => 1, { rateLimit: '1/week' })).toThrow(/Task "t.x" rateLimit/);
  });
});

describe('RateLimiter', () => {
  it('spaces a task type at its rate, each call reserving the next slot', () => {
    let now = 1_000;
    const limiter = new RateLimiter(() => now);
    limiter.setRate('t', 4); // every 250 ms
    expect([limiter.reserve('t'), limiter.reserve('t'), limiter.reserve('t')]).toEqual([0, 250, 500]);
    now += 1_000; // idle: no burst saved up (capacity 1)
    expect([limiter.reserve('t'), limiter.reserve('t')]).toEqual([0, 250]);
    expect(limiter.reserve('other')).toBe(0);
    limiter.setRate('t', null);
    expect(limiter.reserve('t')).toBe(0);
  });
});

describe('the worker', () => {
  it('delays over-limit tasks of a type (runs them all, spaced), leaves other types alone, and takes rate_limit remotely', async () => {
    const hub = `memory://${randomUUID()}`;
    const app = new Celeriac({ brokerUrl: hub, resultBackend: hub, logger: createLogger('silent') });
    const starts: number[] = [];
    const slow = app.task(
      't.limited',
      async (i: number) => {
        starts.push(Date.now());
        return i;
      },
      { rateLimit: '10/s' },
    );
    const free = app.task('t.free', async (i: number) => i);
    const worker = new Worker(app, { concurrency: 10, hostname: 'rl@test' });
    await worker.start();
    try {
      const limited = await Promise.all([0, 1, 2, 3, 4].map((i) => slow.delay(i)));
      const unlimited = await Promise.all([0, 1, 2].map((i) => free.delay(i)));
      await expect(Promise.all(unlimited.map((r) => r.get({ timeout: 5000 })))).resolves.toEqual([0, 1, 2]);
      await expect(Promise.all(limited.map((r) => r.get({ timeout: 10_000 })))).resolves.toEqual([0, 1, 2, 3, 4]);
      // At 10/s, five runs take at least 400 ms from the first to the last (a lower bound: slowness only adds).
      expect(starts[4]! - starts[0]!).toBeGreaterThanOrEqual(390);
      const replies = await app.control.rateLimit('t.limited', '0', { reply: true, destination: ['rl@test'] });
      expect(replies).toEqual([{ 'rl@test': { ok: 'new rate limit set successfully' } }]);
      expect(worker.rateLimiter.rateOf('t.limited')).toBeNull();
      const unknown = await app.control.rateLimit('t.nope', '1/s', { reply: true, destination: ['rl@test'] });
      expect(unknown[0]!['rl@test']).toEqual({ error: 'unknown task "t.nope"' });
    } finally {
      await worker.close();
      await app.close();
    }
  });
});
