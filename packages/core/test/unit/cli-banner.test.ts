// The worker banner: Celery's facts (node, app, transport, results, concurrency, events, queues,
// tasks) with passwords masked.
import { randomUUID } from 'node:crypto';
import { Celeriac, createLogger, MemoryBroker, Worker } from '../../src';
import { formatBanner, maskUrl } from '../../src/cli/banner';
import { workerBanner } from '../../src/cli/commands/worker.command';

afterAll(() => MemoryBroker.reset());

describe('maskUrl', () => {
  it.each([
    ['redis://:hunter2@localhost:6379/0', 'redis://:***@localhost:6379/0'],
    ['rediss://default:s3cr%40t@cache.example.com:6380/1?ssl_cert_reqs=none', 'rediss://default:***@cache.example.com:6380/1?ssl_cert_reqs=none'],
    ['amqp://guest:guest@rabbit//', 'amqp://guest:***@rabbit//'],
    ['redis://:pa/ss@localhost:6379/0', 'redis://:***@localhost:6379/0'],
    ['redis://:p@ss@localhost/0', 'redis://:***@localhost/0'],
  ])('masks the password of %s', (url, masked) => {
    expect(maskUrl(url)).toBe(masked);
  });

  it.each(['redis://localhost:6379/0', 'redis://user@localhost', 'memory://', 'memory://name', 'redis://localhost:6379/0?x=a@b', 'not a url'])('leaves %s alone', (url) => {
    expect(maskUrl(url)).toBe(url);
  });
});

describe('formatBanner', () => {
  const info = {
    hostname: 'w1@box',
    version: '1.2.3',
    app: 'proj (dist/worker.js:app)',
    brokerUrl: 'redis://:topsecret@redis.internal:6379/0',
    resultBackend: 'redis://user:alsosecret@redis.internal:6379/1',
    concurrency: 4,
    queues: [
      { name: 'celery', exchange: 'celery', exchangeType: 'direct', routingKey: 'celery' },
      { name: 'billing', exchange: 'billing', exchangeType: 'direct', routingKey: 'billing' },
    ],
    tasks: ['billing.charge', 'math.add'],
    timestamp: new Date(2030, 0, 31, 12, 5, 9),
    platform: 'Linux-6.1-x64',
  };

  it('shows what Celery shows, in its layout', () => {
    const text = formatBanner(info);
    expect(text.split('\n')).toEqual([
      `w1@box v1.2.3 (Node ${process.version})`,
      '',
      'Linux-6.1-x64 2030-01-31 12:05:09',
      '',
      '[config]',
      '.> app:         proj (dist/worker.js:app)',
      '.> transport:   redis://:***@redis.internal:6379/0',
      '.> results:     redis://user:***@redis.internal:6379/1',
      '.> concurrency: 4 (async)',
      '.> task events: OFF (enable -E to monitor tasks in this worker)',
      '',
      '[queues]',
      '.> celery           exchange=celery(direct) key=celery',
      '.> billing          exchange=billing(direct) key=billing',
      '',
      '[tasks]',
      '  . billing.charge',
      '  . math.add',
      '',
      '',
    ]);
  });

  it('says ON when the worker sends task events (-E)', () => {
    expect(formatBanner({ ...info, taskEvents: true })).toContain('\n.> task events: ON\n');
  });

  it('never prints a password', () => {
    const text = formatBanner(info);
    expect(text).not.toContain('topsecret');
    expect(text).not.toContain('alsosecret');
  });

  it('says disabled:// without a result backend and hides [tasks] when asked', () => {
    const text = formatBanner({ ...info, resultBackend: undefined, tasks: undefined });
    expect(text).toContain('.> results:     disabled://');
    expect(text).not.toContain('[tasks]');
  });
});

describe('workerBanner', () => {
  it('describes a real worker: node name, queues as declared, registered tasks', async () => {
    const app = new Celeriac({ main: 'proj', brokerUrl: `memory://${randomUUID()}`, logger: createLogger('silent'), workerLogLevel: 'info' });
    app.task('math.add', async (x: number, y: number) => x + y);
    app.task('billing.charge', async () => 'ok');
    const worker = new Worker(app, { queues: ['celery', 'billing'], excludeQueues: ['billing'], concurrency: 3, hostname: 'w1@%h' });
    const text = workerBanner(worker, { app, file: '/srv/proj/dist/worker.js', exportName: 'app' }, '9.9.9', '/srv/proj');
    expect(text).toMatch(/^w1@\S+ v9\.9\.9 /);
    expect(text).toContain('.> app:         proj (dist/worker.js:app)');
    expect(text).toContain('.> concurrency: 3 (async)');
    expect(text).toContain('.> celery           exchange=celery(direct) key=celery');
    expect(text).not.toContain('billing(direct)');
    expect(text).toContain('[tasks]\n  . billing.charge\n  . math.add\n');
    app.conf.workerLogLevel = 'warning';
    expect(workerBanner(worker, { app, file: '/srv/proj/dist/worker.js', exportName: 'app' }, '9.9.9', '/srv/proj')).not.toContain('[tasks]');
    await app.close();
  });
});
