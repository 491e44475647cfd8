/** CSRF tokens and the auth check, without HTTP. */
import { AdminError, csrfTokenFor, resolveAdminOptions, verifyCsrfToken, type AdminAuthOptions, type AdminRequest } from '../../src/admin';
import { authenticate } from '../../src/admin/auth';
import type { DataSource } from 'typeorm';

const fakeDataSource = { getRepository: () => ({}), transaction: () => Promise.resolve() } as unknown as DataSource;
const req = (headers: Record<string, string> = {}): AdminRequest => ({ method: 'GET', path: '/', query: {}, headers });
const auth = (options: AdminAuthOptions) => resolveAdminOptions({ dataSource: fakeDataSource, auth: options }).auth;
const refusal = async (promise: Promise<unknown>): Promise<AdminError> => {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AdminError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
};

describe('CSRF tokens', () => {
  const secret = 's'.repeat(32);

  it('are stable per secret and actor, and differ across both', () => {
    const token = csrfTokenFor(secret, 'ops');
    expect(csrfTokenFor(secret, 'ops')).toBe(token);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(csrfTokenFor(secret, 'alice')).not.toBe(token);
    expect(csrfTokenFor('t'.repeat(32), 'ops')).not.toBe(token);
  });

  it('verify only the exact token of the actor', () => {
    const token = csrfTokenFor(secret, 'ops');
    expect(verifyCsrfToken(secret, 'ops', token)).toBe(true);
    expect(verifyCsrfToken(secret, 'alice', token)).toBe(false);
    expect(verifyCsrfToken(secret, 'ops', token.slice(1))).toBe(false);
    expect(verifyCsrfToken(secret, 'ops', undefined)).toBe(false);
    expect(verifyCsrfToken(secret, 'ops', '')).toBe(false);
  });
});

describe('authenticate', () => {
  const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

  it('refuses everyone when nothing is configured', async () => {
    const err = await refusal(authenticate(req(basic('a', 'b')), auth({})));
    expect([err.status, err.code]).toEqual([403, 'AUTH_NOT_CONFIGURED']);
  });

  it('accepts basic users (passwords may hold colons) and names the actor', async () => {
    const config = auth({ basic: [{ username: 'ops', password: 'a:b:c' }, { username: 'dev', password: 'x' }] });
    expect(await authenticate(req(basic('ops', 'a:b:c')), config)).toEqual({ actor: 'ops' });
    expect(await authenticate(req(basic('dev', 'x')), config)).toEqual({ actor: 'dev' });
    expect((await refusal(authenticate(req(basic('dev', 'a:b:c')), config))).status).toBe(401);
  });

  it('marks bearer-token identities so they skip CSRF', async () => {
    const token = 'k'.repeat(20);
    expect(await authenticate(req({ authorization: `bearer ${token}` }), auth({ token }))).toEqual({ actor: 'token', viaToken: true });
  });

  it('lets the hook decide when the built-in methods do not match', async () => {
    const config = auth({ token: 'k'.repeat(20), authorize: (r) => (r.headers['x-user'] ? { actor: r.headers['x-user'] } : null) });
    expect(await authenticate(req({ 'x-user': 'sam' }), config)).toEqual({ actor: 'sam', viaToken: false });
    // With a token configured too, a refusal is a 401 challenge for it.
    expect((await refusal(authenticate(req(), config))).headers).toEqual({ 'www-authenticate': 'Bearer realm="Celeriac beat admin"' });
  });
});
