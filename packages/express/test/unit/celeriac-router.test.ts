import { Celeriac, ConfigError, MemoryBroker, MemoryKeyValueStore, Worker, createLogger } from '@celeriac/core';
import { celeriacMiddleware, celeriacRouter } from '@celeriac/express';
import express, { type ErrorRequestHandler } from 'express';
import request from 'supertest';
import { eventually, makeApp } from './helpers';

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

describe('celeriacRouter', () => {
  let app: Celeriac;
  let worker: Worker;
  let server: express.Express;

  beforeEach(async () => {
    app = makeApp();
    app.task('math.add', async (x: number, y: number) => x + y);
    app.task('greet', async (greeting: string, name: string = 'world') => `${greeting}, ${name}`);
    app.task('boom', async () => {
      throw new RangeError('bad range');
    });
    app.task('hidden', async () => 'secret');
    worker = new Worker(app);
    await worker.start();
    server = express().use('/celeriac', celeriacRouter({ app, tasks: ['math.add', 'greet', 'boom'], exposeTracebacks: true }));
  });

  afterEach(async () => {
    await worker.close();
    await app.close();
  });

  const finalStatus = (id: string) =>
    eventually(async () => {
      const res = await request(server).get(`/celeriac/tasks/${id}`);
      return ['SUCCESS', 'FAILURE'].includes(res.body.state) ? res : undefined;
    });

  it('POST runs an allowed task and GET returns SUCCESS with the value', async () => {
    const sent = await request(server).post('/celeriac/tasks/math.add').send({ args: [2, 3] });
    expect(sent.status).toBe(202);
    expect(sent.body).toEqual({ id: expect.any(String), name: 'math.add', state: 'PENDING' });
    expect(sent.headers.location).toBe(`/celeriac/tasks/${sent.body.id}`);
    const done = await finalStatus(sent.body.id);
    expect(done.status).toBe(200);
    expect(done.body).toEqual({ id: sent.body.id, state: 'SUCCESS', known: true, result: 5, dateDone: expect.stringMatching(/Z$/) });
  });

  it('POST /tasks/:id/revoke revokes a waiting task on the workers, and terminate stops a running one', async () => {
    const sent = await request(server).post('/celeriac/tasks/math.add').send({ args: [1, 1], options: { countdown: 30 } });
    const revoked = await request(server).post(`/celeriac/tasks/${sent.body.id}/revoke`).send({});
    expect(revoked.status).toBe(202);
    expect(revoked.body).toEqual({ id: sent.body.id, revoked: true, terminate: false });
    const done = await eventually(async () => {
      const res = await request(server).get(`/celeriac/tasks/${sent.body.id}`);
      return res.body.state === 'REVOKED' ? res : undefined;
    });
    expect(done.body.error).toMatchObject({ type: 'TaskRevokedError' });
    const bad = await request(server).post(`/celeriac/tasks/${sent.body.id}/revoke`).send({ terminate: 'yes' });
    expect(bad.status).toBe(400);
    const off = express().use(celeriacRouter({ app, tasks: [], revoke: false }));
    expect((await request(off).post(`/tasks/${sent.body.id}/revoke`).send({})).status).toBe(404);
  });

  it('passes kwargs to the task', async () => {
    const sent = await request(server).post('/celeriac/tasks/greet').send({ kwargs: { greeting: 'hi', name: 'ana' } });
    expect(sent.status).toBe(202);
    expect((await finalStatus(sent.body.id)).body.result).toBe('hi, ana');
  });

  it('accepts an empty body', async () => {
    const sent = await request(server).post('/celeriac/tasks/greet').send({ args: ['hello'] });
    expect((await finalStatus(sent.body.id)).body.result).toBe('hello, world');
  });

  it('answers 404 for a task outside the allow-list, even a registered one', async () => {
    for (const name of ['hidden', 'nope']) {
      const res = await request(server).post(`/celeriac/tasks/${name}`).send({});
      expect(res.status).toBe(404);
      expect(res.body.error).toEqual({ message: expect.stringContaining(`"${name}"`), field: 'name' });
    }
  });

  it.each([
    [{ args: 'x' }, 'args'],
    [{ kwargs: [1] }, 'kwargs'],
    [{ options: 5 }, 'options'],
    [{ options: { retries: 3 } }, 'options.retries'],
    [{ options: { countdown: -1 } }, 'options.countdown'],
    [{ options: { countdown: '10' } }, 'options.countdown'],
    [{ options: { eta: 'tomorrow' } }, 'options.eta'],
    [{ options: { countdown: 1, eta: '2030-01-01T00:00:00Z' } }, 'options.eta'],
    [{ options: { expires: 0 } }, 'options.expires'],
    [{ options: { queue: '' } }, 'options.queue'],
    [{ options: { priority: 1.5 } }, 'options.priority'],
    [{ argz: [] }, 'argz'],
    [[1, 2], 'body'],
  ])('answers 400 naming the field for %j', async (body, field) => {
    const res = await request(server).post('/celeriac/tasks/math.add').send(body);
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe(field);
    expect(typeof res.body.error.message).toBe('string');
  });

  it('answers 400 for malformed JSON', async () => {
    const res = await request(server).post('/celeriac/tasks/math.add').set('content-type', 'application/json').send('{"args": [1,');
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe('body');
  });

  it('shows a failure with its error type, message and traceback', async () => {
    const sent = await request(server).post('/celeriac/tasks/boom').send({});
    const done = await finalStatus(sent.body.id);
    expect(done.body).toMatchObject({ state: 'FAILURE', known: true, error: { type: 'ValueError', module: 'builtins', message: 'bad range', traceback: expect.stringContaining('bad range') } });
    expect(done.body.result).toBeUndefined();
  });

  it('hides tracebacks unless exposeTracebacks is set', async () => {
    const plain = express().use(celeriacRouter({ app, tasks: ['boom'] }));
    const sent = await request(plain).post('/tasks/boom').send({});
    const done = await eventually(async () => {
      const res = await request(plain).get(`/tasks/${sent.body.id}`);
      return res.body.state === 'FAILURE' ? res : undefined;
    });
    expect(done.body.error).toMatchObject({ type: 'ValueError', message: 'bad range', traceback: null });
  });

  it('reports an unknown id as PENDING with known false', async () => {
    const res = await request(server).get('/celeriac/tasks/no-such-id');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: 'no-such-id', state: 'PENDING', known: false, dateDone: null });
  });

  it('accepts a countdown and runs the task after it', async () => {
    const started = Date.now();
    const sent = await request(server).post('/celeriac/tasks/math.add').send({ args: [1, 1], options: { countdown: 0.3, priority: 0, queue: 'celery' } });
    expect(sent.status).toBe(202);
    const early = await request(server).get(`/celeriac/tasks/${sent.body.id}`);
    expect(early.body.state).toBe('PENDING');
    const done = await finalStatus(sent.body.id);
    expect(done.body.result).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it("allows any task with tasks: '*'", async () => {
    const open = express().use(celeriacRouter({ app, tasks: '*' }));
    const sent = await request(open).post('/tasks/hidden').send({});
    expect(sent.status).toBe(202);
    const done = await eventually(async () => {
      const res = await request(open).get(`/tasks/${sent.body.id}`);
      return res.body.state === 'SUCCESS' ? res : undefined;
    });
    expect(done.body.result).toBe('secret');
  });

  it('passes async errors to the application error handler', async () => {
    const noResults = new Celeriac({ brokerUrl: `memory://express-nores-${Date.now()}`, logger: createLogger('silent') });
    const seen: unknown[] = [];
    const handler: ErrorRequestHandler = (err, _req, res, _next) => {
      seen.push(err);
      res.status(503).json({ handled: true });
    };
    const withHandler = express().use(celeriacRouter({ app: noResults, tasks: '*' })).use(handler);
    const res = await request(withHandler).get('/tasks/some-id');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ handled: true });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(ConfigError);
    expect((seen[0] as ConfigError).key).toBe('resultBackend');
    await noResults.close();
  });
});

describe('celeriacMiddleware', () => {
  it('attaches the app as req.celeriac', async () => {
    const app = makeApp();
    const server = express()
      .use(celeriacMiddleware({ app }))
      .get('/who', (req, res) => {
        const celeriac: Celeriac = req.celeriac; // typed by declaration merging
        res.json({ same: celeriac === app, oid: celeriac.oid });
      });
    const res = await request(server).get('/who');
    expect(res.body).toEqual({ same: true, oid: app.oid });
    await app.close();
  });
});

describe('option validation', () => {
  const app = makeApp();
  afterAll(() => app.close());

  const configError = (fn: () => unknown): ConfigError => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return err as ConfigError;
    }
    throw new Error('expected a ConfigError');
  };

  it('names an unknown option key', () => {
    expect(configError(() => celeriacRouter({ app, tasks: [], taks: ['x'] } as never)).key).toBe('taks');
    expect(configError(() => celeriacMiddleware({ app, extra: 1 } as never)).key).toBe('extra');
  });

  it('requires the tasks allow-list and an app', () => {
    const missing = configError(() => celeriacRouter({ app } as never));
    expect(missing.key).toBe('tasks');
    expect(missing.message).toContain('required');
    expect(configError(() => celeriacRouter({ app, tasks: 'all' } as never)).key).toBe('tasks');
    expect(configError(() => celeriacRouter({ app, tasks: [''] })).key).toBe('tasks');
    expect(configError(() => celeriacMiddleware({ app: {} } as never)).key).toBe('app');
  });

  it('checks value types', () => {
    expect(configError(() => celeriacRouter({ app, tasks: '*', exposeTracebacks: 'yes' } as never)).key).toBe('exposeTracebacks');
    expect(configError(() => celeriacRouter({ app, tasks: '*', jsonLimit: -1 })).key).toBe('jsonLimit');
  });
});
