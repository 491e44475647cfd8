/**
 * BeatAdminModule in a Nest app (Express platform): forRootAsync with the DataSource and the Celeriac
 * app from DI, the admin on its path next to the app's own controllers, and forRoot under a global prefix.
 */
import 'reflect-metadata';
import { decodeTaskMessage, type Celeriac } from '@celeriac/core';
import { BeatAdminModule, BEAT_ADMIN_HANDLERS } from '@celeriac/beat-db/nestjs';
import { CELERIAC_APP } from '@celeriac/nestjs';
import { Controller, Get, Global, Module, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { memoryApp } from '../../../core/test/helpers/memory-app';
import type { AdminHandlers } from '../../src/admin';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

const TOKEN = 'nest-admin-token-0123456789';
const bearer = `Bearer ${TOKEN}`;
const basic = `Basic ${Buffer.from('ops:nest-pass').toString('base64')}`;

@Controller('health')
class HealthController {
  @Get()
  health() {
    return { ok: true };
  }
}

describe('BeatAdminModule (Nest, Express platform, SQLite)', () => {
  let db: TestDatabase;
  let celeriac: Celeriac;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    celeriac = memoryApp();
    celeriac.task('reports.build', async () => 'done');
  });
  afterAll(async () => {
    await celeriac?.close();
    await db?.drop();
  });

  describe('forRootAsync with the DataSource and the app from DI', () => {
    let nest: INestApplication;
    beforeAll(async () => {
      @Global()
      @Module({ providers: [{ provide: DataSource, useValue: db.dataSource }, { provide: CELERIAC_APP, useValue: celeriac }], exports: [DataSource, CELERIAC_APP] })
      class InfraModule {}

      const moduleRef = await Test.createTestingModule({
        imports: [
          InfraModule,
          BeatAdminModule.forRootAsync({
            path: '/admin/periodic-tasks',
            inject: [DataSource, CELERIAC_APP],
            useFactory: (dataSource: DataSource, app: Celeriac) => ({ dataSource, app, auth: { token: TOKEN, basic: { username: 'ops', password: 'nest-pass' } } }),
          }),
        ],
        controllers: [HealthController],
      }).compile();
      nest = moduleRef.createNestApplication({ logger: false });
      await nest.init();
    });
    afterAll(async () => {
      await nest?.close();
    });

    it('serves the API on its path and leaves the other routes to Nest', async () => {
      const server = nest.getHttpServer();
      expect((await request(server).get('/health')).body).toEqual({ ok: true });
      const created = await request(server)
        .post('/admin/periodic-tasks/api/periodic-tasks')
        .set('authorization', bearer)
        .send({ name: 'nest-report', task: 'reports.build', schedule: { kind: 'interval', every: 10, period: 'minutes' }, queue: 'nest-q', args: [1] });
      expect(created.status).toBe(201);
      const list = await request(server).get('/admin/periodic-tasks/api/periodic-tasks?search=nest').set('authorization', bearer);
      expect(list.body).toMatchObject({ total: 1, items: [{ name: 'nest-report', scheduleText: 'every 10 minutes' }] });
      expect((await request(server).get('/admin/periodic-tasks/api/periodic-tasks')).status).toBe(401);
      expect((await request(server).get('/admin/periodic-tasks-other')).status).toBe(404);
    });

    it('serves the page at the bare path and checks CSRF with the token it embeds', async () => {
      const server = nest.getHttpServer();
      const page = await request(server).get('/admin/periodic-tasks').set('authorization', basic);
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      const csrf = nest.get<AdminHandlers>(BEAT_ADMIN_HANDLERS).csrfToken('ops');
      expect(page.text).toContain(csrf);
      const body = { name: 'nest-csrf', task: 'reports.build', schedule: { kind: 'interval', every: 1, period: 'hours' } };
      expect((await request(server).post('/admin/periodic-tasks/api/periodic-tasks').set('authorization', basic).send(body)).status).toBe(403);
      expect((await request(server).post('/admin/periodic-tasks/api/periodic-tasks').set('authorization', basic).set('x-csrf-token', csrf).send(body)).status).toBe(201);
    });

    it('runs a task now through the injected app', async () => {
      const server = nest.getHttpServer();
      const list = await request(server).get('/admin/periodic-tasks/api/periodic-tasks?search=nest-report').set('authorization', bearer);
      const received = new Promise<{ task: string; args: unknown[] }>((resolve, reject) => {
        celeriac.broker
          .consume(['nest-q'], async (d) => {
            await d.ack();
            resolve(decodeTaskMessage(d.message, ['json']));
          }, { prefetch: 1 })
          .catch(reject);
      });
      const run = await request(server).post(`/admin/periodic-tasks/api/periodic-tasks/${list.body.items[0].id}/run`).set('authorization', bearer);
      expect(run.status).toBe(202);
      expect(await received).toMatchObject({ id: run.body.taskId, task: 'reports.build', args: [1] });
    });
  });

  it('works with forRoot under a global prefix', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [BeatAdminModule.forRoot({ path: '/beat', dataSource: db.dataSource, auth: { token: TOKEN }, allowAnyTask: true })],
    }).compile();
    const nest = moduleRef.createNestApplication({ logger: false });
    nest.setGlobalPrefix('internal');
    await nest.init();
    try {
      const res = await request(nest.getHttpServer()).get('/internal/beat/api/periodic-tasks?search=nest-report').set('authorization', bearer);
      expect(res.status).toBe(200);
      expect(res.body.total).toBe(1);
      expect((await request(nest.getHttpServer()).get('/internal/beat/api/tasks').set('authorization', bearer)).body).toEqual({ items: [] });
    } finally {
      await nest.close();
    }
  });

  it('refuses a path with wildcards', () => {
    expect(() => BeatAdminModule.forRoot({ path: '/admin/*', dataSource: db.dataSource })).toThrow(/plain path/);
  });
});
