/** Global rate limits without a usable Redis: a clear ConfigError when none is configured, fail-open with one warning when it is unreachable. */
import { Writable } from 'node:stream';
import pino from 'pino';
import { ConfigError, MemoryBroker, MemoryKeyValueStore, Worker } from '../../src';
import { memoryApp } from '../helpers/memory-app';

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

describe('a global rate limit with no Redis', () => {
  it('fails the worker start with a ConfigError naming rateLimitRedisUrl (task option, default, annotation)', async () => {
    const cases = [
      memoryApp(),
      memoryApp({ taskDefaultGlobalRateLimit: '5/s' }),
      memoryApp({ taskAnnotations: { 'gl.*': { globalRateLimit: '5/m' } } }),
    ];
    cases[0]!.task('gl.task', async () => 1, { globalRateLimit: '5/s' });
    for (const app of cases.slice(1)) app.task('gl.task', async () => 1);
    for (const app of cases) {
      const worker = new Worker(app, { remoteControl: false });
      const started = worker.start();
      await expect(started).rejects.toThrow(ConfigError);
      await expect(started).rejects.toThrow(/sets a global rate limit, which needs Redis: set rateLimitRedisUrl/);
      await worker.close();
      await app.close();
    }
  });

  it('rejects a bad rate at app creation and at task definition', () => {
    expect(() => memoryApp({ taskDefaultGlobalRateLimit: 'often' })).toThrow(/taskDefaultGlobalRateLimit/);
    expect(() => memoryApp().task('gl.bad', async () => 1, { globalRateLimit: '1/fortnight' })).toThrow(/Task "gl.bad" globalRateLimit/);
  });
});

describe('a global rate limit whose Redis is unreachable', () => {
  it('runs the tasks without it and warns once', async () => {
    const lines: Array<{ level: number; msg: string }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as { level: number; msg: string });
        done();
      },
    });
    // port 1: nothing listens there, so every connection is refused at once
    const app = memoryApp({ rateLimitRedisUrl: 'redis://127.0.0.1:1/0', logger: pino({ level: 'warn' }, sink) });
    const t = app.task('gl.offline', async (i: number) => i, { globalRateLimit: '1/m' });
    const worker = new Worker(app, { concurrency: 2, remoteControl: false });
    await worker.start();
    try {
      const results = await Promise.all([1, 2, 3].map((i) => t.delay(i)));
      // at 1/m, the second and third would wait a minute each if the limit applied
      await expect(Promise.all(results.map((r) => r.get({ timeout: 5000 })))).resolves.toEqual([1, 2, 3]);
    } finally {
      await worker.close();
      await app.close();
    }
    const warnings = lines.filter((l) => /Global rate limits are not applied: Redis is unreachable/.test(l.msg));
    expect(warnings).toHaveLength(1);
  });
});
