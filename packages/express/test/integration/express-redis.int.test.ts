// The router against a real Redis on 127.0.0.1:6379: POST sends through the Redis broker, an
// in-process worker runs the task, GET reads SUCCESS from the Redis result backend. Every key sits
// under this file's own prefix; afterAll deletes only those keys (SCAN MATCH + UNLINK).
import { randomBytes } from 'node:crypto';
import { Celeriac, Worker, createLogger } from '@celeriac/core';
import { celeriacRouter } from '@celeriac/express';
import express from 'express';
import Redis from 'ioredis';
import request from 'supertest';

const REDIS_URL = process.env.CELERIAC_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const PREFIX = `t-express-${randomBytes(4).toString('hex')}:`;

const raw = new Redis(REDIS_URL, { lazyConnect: true });

async function deleteOurKeys(): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await raw.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) await raw.unlink(...keys);
  } while (cursor !== '0');
}

describe('celeriacRouter on Redis', () => {
  let app: Celeriac;
  let worker: Worker;

  beforeAll(async () => {
    await raw.connect();
    app = new Celeriac({
      brokerUrl: REDIS_URL,
      resultBackend: REDIS_URL,
      brokerTransportOptions: { globalKeyprefix: PREFIX },
      resultBackendTransportOptions: { globalKeyprefix: PREFIX },
      logger: createLogger('silent'),
    });
    app.task('math.mul', async (x: number, y: number) => x * y);
    worker = new Worker(app);
    await worker.start();
  });

  afterAll(async () => {
    await worker?.close();
    await app?.close();
    await deleteOurKeys();
    await raw.quit();
  });

  it('POST sends the task, the worker runs it, GET returns SUCCESS with the value', async () => {
    const server = express().use('/celeriac', celeriacRouter({ app, tasks: ['math.mul'] }));
    const sent = await request(server).post('/celeriac/tasks/math.mul').send({ args: [6, 7] });
    expect(sent.status).toBe(202);
    const id = sent.body.id as string;
    const deadline = Date.now() + 10_000;
    let body: Record<string, unknown> = {};
    while (Date.now() < deadline) {
      body = (await request(server).get(`/celeriac/tasks/${id}`)).body;
      if (body.state === 'SUCCESS') break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(body).toEqual({ id, state: 'SUCCESS', known: true, result: 42, dateDone: expect.any(String) });
    // The result really lives under our prefix in Redis.
    await expect(raw.exists(`${PREFIX}celery-task-meta-${id}`)).resolves.toBe(1);
  });
});
