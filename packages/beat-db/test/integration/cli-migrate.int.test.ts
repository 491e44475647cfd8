/** `celeriac-beat-db migrate | show | revert` on SQLite and PostgreSQL, and its usage errors. */
import { runCli, type CliIo } from '../../src/cli/main';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

function io(env: Record<string, string | undefined> = {}): CliIo & { out: string; err: string } {
  const captured = {
    env,
    cwd: process.cwd(),
    out: '',
    err: '',
    stdout(text: string) {
      captured.out += text;
    },
    stderr(text: string) {
      captured.err += text;
    },
    signals: process,
  };
  return captured;
}

describe.each(['sqlite', 'postgres'] as const)('celeriac-beat-db migrations on %s', (kind) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(kind, { migrate: false });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('applies, lists and reverts the migrations', async () => {
    const show = io();
    expect(await runCli(['show', '--url', db.url], show)).toBe(0);
    expect(show.out).toMatch(/^\[ \] BeatDbInitial\d+$/m);

    const migrate = io({ CELERIAC_BEAT_DB_URL: db.url });
    expect(await runCli(['migrate'], migrate)).toBe(0);
    expect(migrate.out).toMatch(/Applied 1 migration\(s\)[\s\S]*BeatDbInitial/);
    expect(await db.dataSource.createQueryRunner().hasTable('celeriac_beat_periodic_task')).toBe(true);

    const again = io();
    expect(await runCli(['migrate', '--url', db.url], again)).toBe(0);
    expect(again.out).toMatch(/is up to date/);

    const shown = io();
    await runCli(['show', '--url', db.url], shown);
    expect(shown.out).toMatch(/^\[X\] BeatDbInitial\d+$/m);

    expect(await runCli(['revert', '--url', db.url], io())).toBe(0);
    expect(await db.dataSource.createQueryRunner().hasTable('celeriac_beat_periodic_task')).toBe(false);
  });
});

describe('celeriac-beat-db usage errors', () => {
  it('exits 2 on an unknown command, a bad flag or an unsupported URL, with the reason', async () => {
    const unknown = io();
    expect(await runCli(['migrat'], unknown)).toBe(2);
    expect(unknown.err).toMatch(/unknown command "migrat"/);
    const flag = io();
    expect(await runCli(['migrate', '--nope'], flag)).toBe(2);
    expect(flag.err).toMatch(/--nope/);
    const url = io();
    expect(await runCli(['migrate', '--url', 'oracle://x'], url)).toBe(2);
    expect(url.err).toMatch(/Unsupported beat database URL "oracle:\/\/x"/);
    const noApp = io();
    expect(await runCli(['beat'], noApp)).toBe(2);
    expect(noApp.err).toMatch(/-A/);
  });

  it('exits 1 naming the database when it cannot be reached, with the password hidden', async () => {
    const down = io();
    expect(await runCli(['migrate', '--url', 'postgres://u:secret@127.0.0.1:1/db'], down)).toBe(1);
    expect(down.err).toMatch(/migrate failed on postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/db/);
    expect(down.err).not.toMatch(/secret/);
  });
});
