/**
 * Fault test: publishing while the broker is unreachable. Uses its own redis-server on a free port,
 * never the shared one.
 */
import { BrokerConnectionError, Celeriac, createLogger } from '../../src';
import { freePort, privateRedis, type PrivateRedis } from '../helpers/redis-server';
import pino from 'pino';

describe('publish retry when the broker is unreachable', () => {
  let server: PrivateRedis;
  let app: Celeriac | undefined;

  beforeEach(async () => {
    server = privateRedis(await freePort());
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await server.stop();
  });

  it('retries per the policy, then fails with BrokerConnectionError', async () => {
    const warnings: string[] = [];
    app = new Celeriac({
      brokerUrl: server.url,
      brokerConnectionTimeout: 1,
      taskPublishRetryPolicy: { maxRetries: 3, intervalStart: 0.01, intervalStep: 0.01, intervalMax: 0.05 },
      logger: pino({ level: 'warn' }, { write: (s: string) => void warnings.push(s) }),
    });
    const t = app.task('down.t', async () => 1);
    const started = Date.now();
    await expect(t.delay()).rejects.toBeInstanceOf(BrokerConnectionError);
    expect(warnings.filter((w) => w.includes('Publish failed'))).toHaveLength(3);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('does not retry when retry is false', async () => {
    const warnings: string[] = [];
    app = new Celeriac({ brokerUrl: server.url, logger: pino({ level: 'warn' }, { write: (s: string) => void warnings.push(s) }) });
    const t = app.task('down.t2', async () => 1);
    await expect(t.applyAsync([], { retry: false })).rejects.toBeInstanceOf(BrokerConnectionError);
    expect(warnings.filter((w) => w.includes('Publish failed'))).toHaveLength(0);
  });

  it('succeeds once the broker comes up within the retry window', async () => {
    app = new Celeriac({ brokerUrl: server.url, logger: createLogger('silent') });
    const t = app.task('late.t', async () => 1);
    const sending = t.applyAsync([], { retryPolicy: { maxRetries: 100, intervalStart: 0.05, intervalStep: 0.05, intervalMax: 0.1 } });
    const startLater = new Promise((r) => setTimeout(r, 300)).then(() => server.start());
    const result = await sending;
    await startLater;
    expect(typeof result.id).toBe('string');
    expect(await app.broker.queueLength('celery')).toBe(1);
  });
});
