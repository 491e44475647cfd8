// `celeriac beat` in-process on the memory broker: the banner, tasks sent on schedule, the state
// file, a clean stop on SIGTERM, and usage errors. Each test loads a fresh module registry.
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeProcess, freshCli } from '../helpers/fake-cli';
import { waitFor } from '../helpers/wait';

let dir: string;
beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'celeriac-beat-cli-'))));
afterEach(() => rm(dir, { recursive: true, force: true }));

it('celeriac beat sends due tasks, keeps state in -s, and stops on SIGTERM with exit 0', async () => {
  const { main, core } = freshCli();
  const url = `memory://beat-cli-${randomUUID()}`;
  const file = join(dir, 'state.json');
  const p = fakeProcess({ env: { CELERIAC_BEAT_SCHEDULE: JSON.stringify({ adder: { task: 'math.add', schedule: { every: 100 }, args: [1, 2] } }) } });
  const running = main(['beat', '-A', 'src-app.js', '-b', url, '-s', file, '--max-interval', '1'], p.ctx);
  await waitFor(() => p.stdout().includes('adder: math.add every 100ms'), 5000, 'the banner');
  expect(p.stdout()).toContain(`store -> FileScheduleStore (${file})`);
  const peer = new core.Celeriac({ brokerUrl: url, logger: core.createLogger('silent') });
  await peer.broker.connect();
  await waitFor(async () => (await peer.broker.queueLength('celery')) >= 2, 5000, 'two messages sent');
  p.signals.emit('SIGTERM', 'SIGTERM');
  await expect(running).resolves.toBe(0);
  const state = JSON.parse(await readFile(file, 'utf8'));
  expect(state.entries.adder.totalRunCount).toBeGreaterThanOrEqual(2);
  await peer.close();
});

it('reports a bad schedule (exit 1) and usage errors (exit 2)', async () => {
  const { main } = freshCli();
  const bad = fakeProcess({ env: { CELERIAC_BEAT_SCHEDULE: JSON.stringify({ nightly: { task: 'x', schedule: { crontab: '0 3 * * 9' } } }) } });
  await expect(main(['beat', '-A', 'src-app.js', '-b', 'memory://beat-cli-bad'], bad.ctx)).resolves.toBe(1);
  expect(bad.stderr()).toMatch(/beatSchedule entry "nightly": Invalid crontab "0 3 \* \* 9"/);
  const noApp = fakeProcess();
  await expect(main(['beat'], noApp.ctx)).resolves.toBe(2);
  const badFlag = fakeProcess();
  await expect(main(['beat', '-A', 'src-app.js', '--max-interval', '0'], badFlag.ctx)).resolves.toBe(2);
});
