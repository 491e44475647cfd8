/**
 * Who may use the admin, through the Express router on SQLite (the database plays no part): refused
 * without auth configured, basic auth with a browser challenge, bearer tokens, the authorize hook, CSRF
 * on state-changing requests, and what every answer carries (escaped JSON, security headers).
 */
import { ConfigError } from '@celeriac/core';
import { beatAdminRouter } from '@celeriac/beat-db/express';
import express from 'express';
import request from 'supertest';
import { createAdminHandlers, type AdminRequest, type BeatAdminOptions } from '../../src/admin';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

const BASE = '/admin/periodic-tasks';
const TOKEN = 'auth-test-token-0123456789';
const SECRET = 'csrf-secret-0123456789abcdef';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const newTask = (name: string) => ({ name, task: 'any.task', schedule: { kind: 'interval', every: 1, period: 'hours' } });

describe('beat admin auth and CSRF (Express router, SQLite)', () => {
  let db: TestDatabase;
  const serve = (options: Partial<BeatAdminOptions> & { jsonLimit?: string }) =>
    express().use(BASE, beatAdminRouter({ dataSource: db.dataSource, allowAnyTask: true, csrfSecret: SECRET, ...options }));

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('refuses every request, page included, when no auth is configured, saying how to configure it', async () => {
    const server = serve({});
    for (const res of [await request(server).get(`${BASE}/api/periodic-tasks`), await request(server).get(BASE), await request(server).get(`${BASE}/api/periodic-tasks`).set('authorization', basic('a', 'b'))]) {
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('AUTH_NOT_CONFIGURED');
      expect(res.body.error.message).toContain('auth: { basic: { username, password } }');
      expect(res.headers['www-authenticate']).toBeUndefined();
    }
  });

  describe('basic auth', () => {
    const users = [
      { username: 'ops', password: 'correct horse' },
      { username: 'alice', password: 'battery staple' },
    ];
    let server: express.Express;
    beforeAll(() => {
      server = serve({ auth: { basic: users } });
    });

    it('challenges the browser without credentials or with wrong ones', async () => {
      for (const header of [undefined, basic('ops', 'wrong'), basic('nobody', 'correct horse'), 'Basic !!!', `Bearer ${TOKEN}`]) {
        const req = request(server).get(`${BASE}/api/periodic-tasks`);
        const res = header ? await req.set('authorization', header) : await req;
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe('UNAUTHENTICATED');
        expect(res.headers['www-authenticate']).toBe('Basic realm="Celeriac beat admin", charset="UTF-8"');
      }
    });

    it('serves the page with the CSRF token of the signed-in user, and the API', async () => {
      const page = await request(server).get(BASE).set('authorization', basic('ops', 'correct horse'));
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers['x-frame-options']).toBe('DENY');
      const token = createAdminHandlers({ dataSource: db.dataSource, csrfSecret: SECRET }).csrfToken('ops');
      expect(page.text).toContain(token);
      const assets = await request(server).get(`${BASE}/assets/admin.js`).set('authorization', basic('ops', 'correct horse'));
      expect(assets.status).toBe(200);
      expect(assets.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect((await request(server).get(`${BASE}/api/periodic-tasks`).set('authorization', basic('alice', 'battery staple'))).status).toBe(200);
    });

    it('refuses state-changing requests without the right x-csrf-token, and records the actor', async () => {
      const handlers = createAdminHandlers({ dataSource: db.dataSource, csrfSecret: SECRET });
      const post = (user: string, password: string, csrf?: string) => {
        const req = request(server).post(`${BASE}/api/periodic-tasks`).set('authorization', basic(user, password));
        return (csrf === undefined ? req : req.set('x-csrf-token', csrf)).send(newTask(`csrf-${user}-${csrf?.length ?? 0}`));
      };
      const missing = await post('ops', 'correct horse');
      expect(missing.status).toBe(403);
      expect(missing.body.error.code).toBe('CSRF');
      expect((await post('ops', 'correct horse', 'forged')).status).toBe(403);
      // One user's token is not another's.
      expect((await post('alice', 'battery staple', handlers.csrfToken('ops'))).status).toBe(403);
      const ok = await post('ops', 'correct horse', handlers.csrfToken('ops'));
      expect(ok.status).toBe(201);
      const audit = await request(server).get(`${BASE}/api/periodic-tasks/${ok.body.id}/audit`).set('authorization', basic('ops', 'correct horse'));
      expect(audit.body.items).toEqual([expect.objectContaining({ action: 'create', actor: 'ops' })]);
      // Deletes and edits too.
      const del = await request(server).delete(`${BASE}/api/periodic-tasks/${ok.body.id}`).set('authorization', basic('ops', 'correct horse'));
      expect(del.status).toBe(403);
    });
  });

  describe('bearer token', () => {
    it('accepts the token without a CSRF header and refuses a wrong one with a Bearer challenge', async () => {
      const server = serve({ auth: { token: TOKEN } });
      const created = await request(server).post(`${BASE}/api/periodic-tasks`).set('authorization', `Bearer ${TOKEN}`).send(newTask('via-token'));
      expect(created.status).toBe(201);
      const wrong = await request(server).get(`${BASE}/api/periodic-tasks`).set('authorization', `Bearer ${TOKEN}x`);
      expect(wrong.status).toBe(401);
      expect(wrong.headers['www-authenticate']).toBe('Bearer realm="Celeriac beat admin"');
    });

    it('offers both challenges when basic auth and a token are configured', async () => {
      const server = serve({ auth: { token: TOKEN, basic: { username: 'ops', password: 'pw' } } });
      const res = await request(server).get(`${BASE}/api/periodic-tasks`);
      expect(res.headers['www-authenticate']).toBe('Basic realm="Celeriac beat admin", charset="UTF-8", Bearer realm="Celeriac beat admin"');
      expect((await request(server).get(`${BASE}/api/periodic-tasks`).set('authorization', basic('ops', 'pw'))).status).toBe(200);
    });
  });

  it('uses the authorize hook for identities (and refuses with 403 when it returns null)', async () => {
    const seen: AdminRequest[] = [];
    const server = serve({
      auth: {
        authorize: async (req) => {
          seen.push(req);
          return req.headers['x-user'] ? { actor: `sso:${req.headers['x-user']}` } : null;
        },
      },
    });
    const refused = await request(server).get(`${BASE}/api/periodic-tasks?search=x`);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('FORBIDDEN');
    expect(seen[0]).toMatchObject({ method: 'GET', path: '/api/periodic-tasks', query: { search: 'x' }, baseUrl: BASE });
    const csrf = createAdminHandlers({ dataSource: db.dataSource, csrfSecret: SECRET }).csrfToken('sso:bob');
    const created = await request(server).post(`${BASE}/api/periodic-tasks`).set('x-user', 'bob').set('x-csrf-token', csrf).send(newTask('via-hook'));
    expect(created.status).toBe(201);
    const audit = await request(server).get(`${BASE}/api/audit`).set('x-user', 'bob');
    expect(audit.body.items[0]).toMatchObject({ actor: 'sso:bob', name: 'via-hook' });
  });

  describe('answers', () => {
    let server: express.Express;
    const post = (path: string) => request(server).post(BASE + path).set('authorization', `Bearer ${TOKEN}`);
    beforeAll(() => {
      server = serve({ auth: { token: TOKEN }, jsonLimit: '2kb' });
    });

    it('escapes markup in JSON and sends security headers', async () => {
      const res = await post('/api/periodic-tasks').send({ ...newTask('<img src=x onerror=alert(1)>'), description: '</script><script>alert(1)</script>' });
      expect(res.status).toBe(201);
      expect(res.text).not.toMatch(/[<>]/);
      expect(res.body.description).toBe('</script><script>alert(1)</script>');
      expect(res.headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8', 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' });
    });

    it('answers malformed and oversized bodies, unknown routes and methods in the error shape', async () => {
      const malformed = await post('/api/periodic-tasks').set('content-type', 'application/json').send('{"name": ');
      expect(malformed.status).toBe(400);
      expect(malformed.body.error.code).toBe('BAD_REQUEST');
      const large = await post('/api/periodic-tasks').send({ ...newTask('large'), description: 'x'.repeat(4000) });
      expect(large.status).toBe(413);
      expect(large.body.error.code).toBe('PAYLOAD_TOO_LARGE');
      const unknown = await request(server).get(`${BASE}/api/nothing`).set('authorization', `Bearer ${TOKEN}`);
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.code).toBe('NOT_FOUND');
      const method = await request(server).put(`${BASE}/api/periodic-tasks`).set('authorization', `Bearer ${TOKEN}`);
      expect(method.status).toBe(405);
      expect((await request(server).get(`${BASE}/api/periodic-tasks/abc`).set('authorization', `Bearer ${TOKEN}`)).status).toBe(404);
    });

    it('answers run now without an app with 501', async () => {
      const created = await post('/api/periodic-tasks').send(newTask('no-app'));
      const res = await post(`/api/periodic-tasks/${created.body.id}/run`);
      expect(res.status).toBe(501);
      expect(res.body.error.code).toBe('NO_APP');
    });
  });

  it('checks its options when created', () => {
    expect(() => beatAdminRouter({ dataSource: db.dataSource, bogus: 1 } as unknown as BeatAdminOptions)).toThrow(ConfigError);
    expect(() => beatAdminRouter({ dataSource: db.dataSource, auth: { token: 'short' } })).toThrow(/auth.token/);
    expect(() => beatAdminRouter({ dataSource: db.dataSource, auth: { basic: [] } })).toThrow(/auth.basic/);
    expect(() => beatAdminRouter({ dataSource: db.dataSource, csrfSecret: 'x' })).toThrow(/csrfSecret/);
    expect(() => beatAdminRouter({ dataSource: {} as never })).toThrow(/dataSource/);
  });
});
