/**
 * The admin REST API through the Express router, on SQLite, PostgreSQL and MariaDB: CRUD, the list's
 * search/filter/sort/pagination, field-level validation, 409s, enable/disable/bulk, run now (a real
 * message on a memory broker, with the row's routing), previews in a time zone, run history and the
 * audit log. Auth and CSRF (database-independent) run on SQLite in admin-auth.int.test.ts.
 */
import { decodeTaskMessage, type Celeriac, type Delivery, type TaskMessage } from '@celeriac/core';
import { beatAdminRouter } from '@celeriac/beat-db/express';
import express from 'express';
import request from 'supertest';
import { memoryApp } from '../../../core/test/helpers/memory-app';
import { ClockedScheduleEntity, CrontabScheduleEntity, PeriodicTaskEntity } from '../../src/entities';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../helpers/test-database';

const BASE = '/admin/beat';
const TOKEN = 'test-token-0123456789abcdef';

const cron = (fields: Partial<Record<'minute' | 'hour' | 'dayOfMonth' | 'monthOfYear' | 'dayOfWeek' | 'timezone', string>>) => ({
  kind: 'crontab',
  minute: '0',
  hour: '3',
  dayOfMonth: '*',
  monthOfYear: '*',
  dayOfWeek: '*',
  timezone: 'UTC',
  ...fields,
});
const every = (n: number, period = 'minutes') => ({ kind: 'interval', every: n, period });

/** The first message on a queue (memory broker), with its delivery info. */
function nextMessage(app: Celeriac, queue: string): Promise<{ message: TaskMessage; info: Delivery['info'] }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message on ${queue} within 5 s`)), 5000);
    void app.broker
      .consume(
        [queue],
        async (delivery) => {
          clearTimeout(timer);
          await delivery.ack();
          try {
            resolve({ message: decodeTaskMessage(delivery.message, ['json']), info: delivery.info });
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        },
        { prefetch: 1 },
      )
      .catch(reject);
  });
}

describe.each(DATABASE_KINDS)('beat admin REST API on %s', (kind) => {
  let db: TestDatabase;
  let app: Celeriac;
  let server: express.Express;

  const api = {
    get: (path: string) => request(server).get(BASE + path).set('authorization', `Bearer ${TOKEN}`),
    post: (path: string, body?: object) => request(server).post(BASE + path).set('authorization', `Bearer ${TOKEN}`).send(body),
    patch: (path: string, body: object) => request(server).patch(BASE + path).set('authorization', `Bearer ${TOKEN}`).send(body),
    delete: (path: string) => request(server).delete(BASE + path).set('authorization', `Bearer ${TOKEN}`),
  };
  const create = async (body: object) => {
    const res = await api.post('/api/periodic-tasks', { task: 'reports.build', schedule: every(5), ...body });
    expect(res.status).toBe(201);
    return res.body as { id: number; name: string; version: number };
  };

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    app = memoryApp();
    app.task('reports.build', async (month: string) => month);
    server = express().use(BASE, beatAdminRouter({ dataSource: db.dataSource, app, auth: { token: TOKEN }, allowedTasks: ['py.tasks.report', /^legacy\./] }));
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('creates, reads, edits and deletes a periodic task, auditing each step', async () => {
    const created = await api.post('/api/periodic-tasks', {
      name: 'nightly-report',
      task: 'reports.build',
      schedule: cron({ hour: '3', timezone: 'Europe/Paris' }),
      args: ['2026-11'],
      kwargs: { format: 'pdf' },
      description: 'The monthly report',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'nightly-report',
      task: 'reports.build',
      args: ['2026-11'],
      kwargs: { format: 'pdf' },
      enabled: true,
      source: 'admin',
      version: 1,
      totalRunCount: 0,
      lastRunAt: null,
      scheduleText: 'At 03:00 (Europe/Paris)',
      schedule: cron({ hour: '3', timezone: 'Europe/Paris' }),
    });
    const id = created.body.id as number;
    expect((await api.get(`/api/periodic-tasks/${id}`)).body).toEqual(created.body);

    const edited = await api.patch(`/api/periodic-tasks/${id}`, { args: ['2026-12'], schedule: every(90), queue: 'reports' });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ args: ['2026-12'], queue: 'reports', scheduleText: 'every 90 minutes', version: 2, kwargs: { format: 'pdf' } });
    // Saving the form unchanged writes nothing: no new version, no audit row.
    const { name, task, args, kwargs, queue, description, enabled, expires } = edited.body;
    expect((await api.patch(`/api/periodic-tasks/${id}`, { name, task, args, kwargs, queue, description, enabled, expires, schedule: every(90) })).body.version).toBe(2);

    expect((await api.delete(`/api/periodic-tasks/${id}`)).status).toBe(204);
    expect((await api.get(`/api/periodic-tasks/${id}`)).body).toMatchObject({ error: { code: 'NOT_FOUND' } });

    const audit = (await api.get(`/api/periodic-tasks/${id}/audit`)).body.items as Array<{ action: string; actor: string; changes: Record<string, [unknown, unknown]> }>;
    expect(audit.map((a) => a.action)).toEqual(['delete', 'update', 'create']);
    expect(audit.every((a) => a.actor === 'token')).toBe(true);
    expect(audit[1]!.changes).toEqual({
      args: [['2026-11'], ['2026-12']],
      queue: [null, 'reports'],
      schedule: [cron({ hour: '3', timezone: 'Europe/Paris' }), every(90)],
    });
    expect(audit[2]!.changes.name).toEqual([null, 'nightly-report']);
    expect(audit[0]!.changes.task).toEqual(['reports.build', null]);
  });

  it('answers field-level errors for every bad field at once', async () => {
    const res = await api.post('/api/periodic-tasks', {
      name: '  ',
      task: 'not.registered',
      schedule: cron({ minute: '99', dayOfWeek: 'funday', timezone: 'Mars/Olympus' }),
      args: '[1, 2',
      kwargs: [1],
      headers: 'null',
      priority: 300,
      expires: 'tomorrow',
      expireSeconds: 0,
      colour: 'red',
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION');
    const fields = res.body.error.fields as Record<string, string>;
    expect(Object.keys(fields).sort()).toEqual(
      ['args', 'colour', 'expireSeconds', 'expires', 'headers', 'kwargs', 'name', 'priority', 'schedule.dayOfWeek', 'schedule.minute', 'schedule.timezone', 'task'].sort(),
    );
    expect(fields['schedule.minute']).toContain('99');
    expect(fields['schedule.timezone']).toContain('Mars/Olympus');
    expect(fields.task).toContain('allowedTasks');
    expect(fields.args).toContain('not valid JSON');
    expect(await db.dataSource.getRepository(PeriodicTaskEntity).countBy({ task: 'not.registered' })).toBe(0);
  });

  it('validates interval, solar and clocked fields, and a cron text with the wrong number of fields', async () => {
    const post = (schedule: object) => api.post('/api/periodic-tasks', { name: 'bad-schedule', task: 'reports.build', schedule });
    expect((await post(every(0, 'weeks'))).body.error.fields).toEqual({ 'schedule.every': expect.any(String), 'schedule.period': expect.stringContaining('minutes') });
    expect((await post({ kind: 'solar', event: 'sunsett', latitude: 100, longitude: 2 })).body.error.fields).toEqual({
      'schedule.event': expect.stringContaining('did you mean "sunset"'),
      'schedule.latitude': expect.any(String),
    });
    expect((await post({ kind: 'clocked', clockedTime: '2030-01-01 10:00' })).body.error.fields).toEqual({ 'schedule.clockedTime': expect.stringContaining('ISO 8601') });
    expect((await post({ kind: 'weekly' })).body.error.fields).toEqual({ 'schedule.kind': expect.any(String) });
    expect((await post(cron({ hour: '9 17' }))).body.error.fields).toEqual({ 'schedule.hour': expect.any(String) });
  });

  it('accepts allowed task names (strings and RegExps) besides the registered ones', async () => {
    await create({ name: 'python-report', task: 'py.tasks.report' });
    await create({ name: 'legacy-report', task: 'legacy.reports.monthly' });
    const refused = await api.post('/api/periodic-tasks', { name: 'other', task: 'py.tasks.other', schedule: every(1) });
    expect(refused.body.error.fields).toEqual({ task: expect.stringContaining('py.tasks.other') });
    // An edit may keep a task this app does not know (a row written by code elsewhere or by SQL).
    const repo = db.dataSource.getRepository(PeriodicTaskEntity);
    const row = await repo.findOneByOrFail({ name: 'legacy-report' });
    await repo.update(row.id, { task: 'elsewhere.only' });
    expect((await api.patch(`/api/periodic-tasks/${row.id}`, { description: 'kept', task: 'elsewhere.only' })).status).toBe(200);
  });

  it('refuses a duplicate name with 409, on create and on rename', async () => {
    await create({ name: 'unique-a' });
    const b = await create({ name: 'unique-b' });
    const dup = await api.post('/api/periodic-tasks', { name: 'unique-a', task: 'reports.build', schedule: every(5) });
    expect(dup.status).toBe(409);
    expect(dup.body.error).toMatchObject({ code: 'CONFLICT', fields: { name: expect.any(String) } });
    expect((await api.patch(`/api/periodic-tasks/${b.id}`, { name: 'unique-a' })).status).toBe(409);
    expect((await api.get(`/api/periodic-tasks/${b.id}`)).body.name).toBe('unique-b');
  });

  describe('list', () => {
    beforeAll(async () => {
      for (let i = 1; i <= 12; i++) {
        await create({
          name: `list-item-${String(i).padStart(2, '0')}`,
          task: i % 3 === 0 ? 'py.tasks.report' : 'reports.build',
          queue: i % 2 === 0 ? 'even' : 'odd',
          enabled: i % 4 !== 0,
        });
      }
      await create({ name: 'list-100%_done', queue: 'odd' });
      await create({ name: 'list-100xxdone', queue: 'odd' });
    });
    const list = async (query: string) => {
      const res = await api.get(`/api/periodic-tasks?${query}`);
      expect(res.status).toBe(200);
      return res.body as { items: Array<{ name: string; nextRunAt: string | null }>; total: number; page: number; pageSize: number };
    };

    it('searches name and task case-insensitively, with pagination and a total', async () => {
      const page3 = await list('search=LIST-ITEM&pageSize=5&page=3');
      expect(page3).toMatchObject({ total: 12, page: 3, pageSize: 5 });
      expect(page3.items.map((t) => t.name)).toEqual(['list-item-11', 'list-item-12']);
      expect((await list('search=py.tasks&pageSize=200')).items.every((t) => t.name.startsWith('list-item-') || t.name === 'python-report')).toBe(true);
    });

    it('treats % and _ in the search as text', async () => {
      expect((await list('search=100%25_')).items.map((t) => t.name)).toEqual(['list-100%_done']);
    });

    it('filters by enabled, task and queue', async () => {
      expect((await list('search=list-item&enabled=false')).items.map((t) => t.name)).toEqual(['list-item-04', 'list-item-08', 'list-item-12']);
      expect((await list('search=list-item&task=py.tasks.report&queue=even')).items.map((t) => t.name)).toEqual(['list-item-06', 'list-item-12']);
    });

    it('sorts by whitelisted columns, never-run rows last in both directions', async () => {
      expect((await list('search=list-item&sort=-name&pageSize=2')).items.map((t) => t.name)).toEqual(['list-item-12', 'list-item-11']);
      const repo = db.dataSource.getRepository(PeriodicTaskEntity);
      await repo.update({ name: 'list-item-05' }, { nextRunAt: new Date('2030-01-02T00:00:00Z') });
      await repo.update({ name: 'list-item-07' }, { nextRunAt: new Date('2030-01-01T00:00:00Z') });
      const names = async (sort: string) => (await list(`search=list-item&sort=${sort}&pageSize=3`)).items.map((t) => t.name);
      expect(await names('nextRunAt')).toEqual(['list-item-07', 'list-item-05', 'list-item-01']);
      expect((await names('-nextRunAt')).slice(0, 2)).toEqual(['list-item-05', 'list-item-07']);
    });

    it('refuses an unknown sort and out-of-range paging', async () => {
      const sort = await api.get('/api/periodic-tasks?sort=password');
      expect(sort.status).toBe(400);
      expect(sort.body.error).toMatchObject({ code: 'BAD_REQUEST', fields: { sort: expect.any(String) } });
      expect((await api.get('/api/periodic-tasks?pageSize=1000')).status).toBe(400);
      expect((await api.get('/api/periodic-tasks?enabled=yes')).status).toBe(400);
    });
  });

  it('enables and disables one task, auditing only real changes', async () => {
    const { id } = await create({ name: 'toggle' });
    expect((await api.post(`/api/periodic-tasks/${id}/disable`)).body.enabled).toBe(false);
    expect((await api.post(`/api/periodic-tasks/${id}/disable`)).body.enabled).toBe(false);
    expect((await api.post(`/api/periodic-tasks/${id}/enable`)).body.enabled).toBe(true);
    const audit = (await api.get(`/api/periodic-tasks/${id}/audit`)).body.items as Array<{ action: string; changes: object }>;
    expect(audit.map((a) => [a.action, a.changes])).toEqual([
      ['enable', { enabled: [false, true] }],
      ['disable', { enabled: [true, false] }],
      ['create', expect.any(Object)],
    ]);
    expect((await api.post('/api/periodic-tasks/999999/enable')).status).toBe(404);
  });

  it('enables, disables and deletes in bulk', async () => {
    const ids = [(await create({ name: 'bulk-1' })).id, (await create({ name: 'bulk-2' })).id, (await create({ name: 'bulk-3', enabled: false })).id];
    expect((await api.post('/api/periodic-tasks/bulk', { ids, action: 'disable' })).body).toEqual({ affected: 2 });
    expect((await api.post('/api/periodic-tasks/bulk', { ids: [...ids, 999999], action: 'enable' })).body).toEqual({ affected: 3 });
    const bad = await api.post('/api/periodic-tasks/bulk', { ids: ['x'], action: 'explode' });
    expect(bad.body.error.fields).toEqual({ ids: expect.any(String), action: expect.any(String) });
    expect((await api.post('/api/periodic-tasks/bulk', { ids, action: 'delete' })).body).toEqual({ affected: 3 });
    expect((await api.get(`/api/periodic-tasks/${ids[0]}`)).status).toBe(404);
    const audit = (await api.get('/api/audit?limit=1000')).body.items as Array<{ action: string; periodicTaskId: number }>;
    expect(audit.filter((a) => ids.includes(a.periodicTaskId)).map((a) => a.action).slice(0, 3)).toEqual(['delete', 'delete', 'delete']);
  });

  it("runs a task now with the row's arguments and routing, records a manual run, and leaves the schedule alone", async () => {
    const { id } = await create({
      name: 'run-me',
      args: ['2026-10'],
      kwargs: { format: 'csv' },
      queue: 'reports',
      exchange: 'reports-x',
      routingKey: 'reports.high',
      priority: 7,
      headers: { 'x-source': 'admin-test' },
      expireSeconds: 600,
    });
    const received = nextMessage(app, 'reports');
    const res = await api.post(`/api/periodic-tasks/${id}/run`);
    expect(res.status).toBe(202);
    const { message, info } = await received;
    expect(message).toMatchObject({ id: res.body.taskId, task: 'reports.build', args: ['2026-10'], kwargs: { format: 'csv' }, priority: 7 });
    expect(message.customHeaders).toMatchObject({ 'x-source': 'admin-test' });
    expect(message.expires!.getTime() - Date.now()).toBeGreaterThan(500_000);
    expect(info).toMatchObject({ exchange: 'reports-x', routingKey: 'reports.high', queue: 'reports' });

    const runs = (await api.get(`/api/periodic-tasks/${id}/runs`)).body.items;
    expect(runs).toEqual([expect.objectContaining({ taskId: res.body.taskId, state: 'SENT', manual: true, finishedAt: null })]);
    expect(Math.abs(Date.parse(runs[0].scheduledFor) - Date.now())).toBeLessThan(60_000);
    expect((await api.get(`/api/periodic-tasks/${id}`)).body).toMatchObject({ totalRunCount: 0, lastRunAt: null, lastTaskId: null, version: 1 });
    expect((await api.get(`/api/periodic-tasks/${id}/audit`)).body.items[0]).toMatchObject({ action: 'run', changes: { taskId: [null, res.body.taskId] } });
  });

  it('previews the next runs in the crontab time zone, and unsaved schedules', async () => {
    const { id } = await create({ name: 'preview-paris', schedule: cron({ minute: '30', hour: '9', dayOfWeek: 'mon-fri', timezone: 'Europe/Paris' }) });
    const preview = (await api.get(`/api/periodic-tasks/${id}/preview?count=6`)).body as { description: string; timezone: string; nextRuns: string[] };
    expect(preview.description).toBe('At 09:30, Monday through Friday (Europe/Paris)');
    expect(preview.timezone).toBe('Europe/Paris');
    expect(preview.nextRuns).toHaveLength(6);
    const paris = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', weekday: 'short', hour: '2-digit', minute: '2-digit' });
    for (const run of preview.nextRuns) {
      expect(run).toMatch(/Z$/);
      expect(paris.format(new Date(run))).toMatch(/^(Mon|Tue|Wed|Thu|Fri) 09:30$/);
    }
    expect([...preview.nextRuns].sort()).toEqual(preview.nextRuns);

    const interval = (await api.post('/api/schedules/preview', { schedule: every(90), count: 2 })).body;
    expect(interval).toMatchObject({ description: 'every 90 minutes', timezone: 'UTC' });
    expect(Date.parse(interval.nextRuns[1]) - Date.parse(interval.nextRuns[0])).toBe(90 * 60_000);
    const clocked = (await api.post('/api/schedules/preview', { schedule: { kind: 'clocked', clockedTime: '2031-05-01T12:00:00+02:00' } })).body;
    expect(clocked).toEqual({ description: 'once at 2031-05-01 10:00 UTC', timezone: 'UTC', nextRuns: ['2031-05-01T10:00:00.000Z'] });
    const bad = await api.post('/api/schedules/preview', { schedule: cron({ hour: '25' }), count: 500 });
    expect(bad.body.error.fields).toEqual({ 'schedule.hour': expect.any(String), count: expect.any(String) });
  });

  it('gives each clocked task its own schedule row and removes it with the task or a schedule change', async () => {
    const clocked = db.dataSource.getRepository(ClockedScheduleEntity);
    const at = { kind: 'clocked', clockedTime: '2031-01-01T00:00:00.000Z' };
    const a = await create({ name: 'clocked-a', schedule: at });
    const b = await create({ name: 'clocked-b', schedule: at });
    const idOf = async (id: number) => (await db.dataSource.getRepository(PeriodicTaskEntity).findOneByOrFail({ id })).clockedId!;
    const [rowA, rowB] = [await idOf(a.id), await idOf(b.id)];
    expect(rowA).not.toBe(rowB);
    // The same time again keeps the row (and the version: nothing changed).
    expect((await api.patch(`/api/periodic-tasks/${a.id}`, { schedule: at })).body.version).toBe(1);
    expect(await idOf(a.id)).toBe(rowA);
    expect((await api.patch(`/api/periodic-tasks/${a.id}`, { schedule: every(1, 'days') })).body.scheduleText).toBe('every day');
    await api.delete(`/api/periodic-tasks/${b.id}`);
    expect(await clocked.countBy([{ id: rowA }, { id: rowB }])).toBe(0);
    expect((await api.get(`/api/periodic-tasks/${a.id}`)).status).toBe(200);
  });

  it('previews a saved row from its last run, bounded by expires, and refuses a stored schedule core cannot read', async () => {
    const { id } = await create({ name: 'preview-bounded', schedule: every(1, 'hours'), expires: '2030-01-01T03:30:00Z' });
    await db.dataSource.getRepository(PeriodicTaskEntity).update(id, { lastRunAt: new Date('2030-01-01T00:00:00Z') });
    expect((await api.get(`/api/periodic-tasks/${id}/preview?count=10`)).body.nextRuns).toEqual(['2030-01-01T01:00:00.000Z', '2030-01-01T02:00:00.000Z', '2030-01-01T03:00:00.000Z']);

    const broken = await create({ name: 'preview-broken', schedule: cron({ minute: '7' }) });
    const row = await db.dataSource.getRepository(PeriodicTaskEntity).findOneByOrFail({ id: broken.id });
    await db.dataSource.getRepository(CrontabScheduleEntity).update(row.crontabId!, { hour: '99' });
    const res = await api.get(`/api/periodic-tasks/${broken.id}/preview`);
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toEqual({ schedule: expect.stringContaining('99') });
  });

  it('lists task names for the form: registered and allowed, without Celery built-ins', async () => {
    const all = (await api.get('/api/tasks')).body.items as string[];
    expect(all).toEqual(expect.arrayContaining(['reports.build', 'py.tasks.report']));
    expect(all.some((n) => n.startsWith('celery.'))).toBe(false);
    expect((await api.get('/api/tasks?search=PY.')).body.items).toEqual(['py.tasks.report']);
  });

  it('keeps run history and audit of a deleted task', async () => {
    const { id } = await create({ name: 'short-lived', queue: 'short' });
    const received = nextMessage(app, 'short');
    await api.post(`/api/periodic-tasks/${id}/run`);
    await received;
    await api.delete(`/api/periodic-tasks/${id}`);
    expect((await api.get(`/api/periodic-tasks/${id}/runs`)).body.items).toHaveLength(1);
    const all = (await api.get('/api/audit')).body.items as Array<{ name: string; action: string }>;
    expect(all.filter((a) => a.name === 'short-lived').map((a) => a.action)).toEqual(['delete', 'run', 'create']);
  });
});
