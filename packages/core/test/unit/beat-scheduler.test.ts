/**
 * Beat on the memory broker with a fake clock: what is sent and when, the misfire policy (catch-up
 * window), state kept across a restart, skip-if-running, failed sends, and a worker running the tasks.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Beat, Celeriac, FileScheduleStore, MemoryBroker, MemoryKeyValueStore, MemoryScheduleStore, Worker, createLogger, type BeatEntryConfig, type ScheduleStore } from '../../src';
import { waitFor } from '../helpers/wait';

type Sent = { task: string; args: unknown[]; kwargs: Record<string, unknown>; options: Record<string, unknown>; at: string };

class Harness {
  readonly app: Celeriac;
  readonly sent: Sent[] = [];
  readonly skipped: Array<{ entry: string; reason: string; runAt: string }> = [];
  t: number;
  private beats: Beat[] = [];

  constructor(beatSchedule: Record<string, BeatEntryConfig>, start: string, extra: Record<string, unknown> = {}) {
    const name = randomUUID();
    this.app = new Celeriac({ brokerUrl: `memory://${name}`, resultBackend: `memory://${name}`, logger: createLogger('silent'), beatSchedule, ...extra });
    this.t = Date.parse(start);
    const send = this.app.sendTask.bind(this.app);
    jest.spyOn(this.app, 'sendTask').mockImplementation(async (task, args = [], kwargs = {}, options = {}) => {
      this.sent.push({ task, args, kwargs, options: { ...options }, at: new Date(this.t).toISOString() });
      return send(task, args, kwargs, options);
    });
  }

  /** A beat on this app's fake clock; call tick() by hand. */
  async beat(store: ScheduleStore = new MemoryScheduleStore(), catchUpWindow?: number): Promise<Beat> {
    const beat = new Beat(this.app, { store, now: () => new Date(this.t), loop: false, ...(catchUpWindow === undefined ? {} : { catchUpWindow }) });
    beat.on('skipped', (s) => this.skipped.push({ entry: s.entry, reason: s.reason, runAt: s.runAt.toISOString() }));
    await beat.start();
    this.beats.push(beat);
    return beat;
  }

  /** Moves the clock to `iso` and ticks. */
  async at(iso: string, beat: Beat): Promise<number> {
    this.t = Date.parse(iso);
    return beat.tick();
  }

  async close(): Promise<void> {
    for (const b of this.beats) await b.close();
    await this.app.close();
  }
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});
afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

describe('beat with a fake clock', () => {
  it('sends an interval entry each time it is due, with its args, kwargs and options', async () => {
    h = new Harness({ refresh: { task: 'cache.refresh', schedule: { every: '5m' }, args: ['all'], kwargs: { deep: true }, options: { queue: 'cache', priority: 3, expires: 240 } } }, '2026-01-01T10:00:00Z');
    const beat = await h.beat();
    expect(await h.at('2026-01-01T10:00:00Z', beat)).toBe(300_000); // first sight: counted from now
    expect(h.sent).toHaveLength(0);
    expect(await h.at('2026-01-01T10:04:59Z', beat)).toBe(1000);
    expect(h.sent).toHaveLength(0);
    expect(await h.at('2026-01-01T10:05:00.250Z', beat)).toBe(300_000 - 250);
    expect(h.sent).toEqual([{ task: 'cache.refresh', args: ['all'], kwargs: { deep: true }, options: { queue: 'cache', priority: 3, expires: 240 }, at: '2026-01-01T10:05:00.250Z' }]);
    await h.at('2026-01-01T10:05:01Z', beat);
    await h.at('2026-01-01T10:10:00Z', beat);
    expect(h.sent.map((s) => s.at)).toEqual(['2026-01-01T10:05:00.250Z', '2026-01-01T10:10:00.000Z']);
    expect(beat.entryState('refresh')).toMatchObject({ lastRunAt: '2026-01-01T10:10:00.000Z', totalRunCount: 2 });
  });

  it('sleeps until the nearest entry is due, at most beatMaxLoopInterval', async () => {
    h = new Harness({ a: { task: 'a', schedule: { every: '2h' } }, b: { task: 'b', schedule: '*/10 * * * *' } }, '2026-01-01T10:01:00Z', { beatMaxLoopInterval: 60 });
    const beat = await h.beat();
    expect(await h.at('2026-01-01T10:01:00Z', beat)).toBe(60_000);
    expect(await h.at('2026-01-01T10:09:30Z', beat)).toBe(30_000);
  });

  it('never sends a disabled entry', async () => {
    h = new Harness({ off: { task: 'off', schedule: { every: '1s' }, enabled: false } }, '2026-01-01T10:00:00Z');
    const beat = await h.beat();
    await h.at('2026-01-01T10:00:00Z', beat);
    await h.at('2026-01-01T11:00:00Z', beat);
    expect(h.sent).toHaveLength(0);
  });

  describe('misfire policy', () => {
    const hourly = { hourly: { task: 'report.hourly', schedule: { crontab: '0 * * * *' } } };

    it('sends one run for a gap within the catch-up window, the latest missed one', async () => {
      h = new Harness(hourly, '2026-01-01T09:30:00Z');
      const store = new MemoryScheduleStore();
      await store.save('hourly', { lastRunAt: '2026-01-01T10:00:00.000Z', totalRunCount: 1 });
      const beat = await h.beat(store, 600);
      // Down from 10:00 to 12:05: 11:00 and 12:00 were missed; 12:00 is 5 min late.
      await h.at('2026-01-01T12:05:00Z', beat);
      await h.at('2026-01-01T12:06:00Z', beat);
      expect(h.sent.map((s) => s.at)).toEqual(['2026-01-01T12:05:00.000Z']);
      expect(beat.entryState('hourly')?.lastRunAt).toBe('2026-01-01T12:00:00.000Z');
      await h.at('2026-01-01T13:00:00Z', beat);
      expect(h.sent).toHaveLength(2);
    });

    it('skips (and reports) a missed run older than the catch-up window, then keeps the schedule', async () => {
      h = new Harness(hourly, '2026-01-01T09:30:00Z');
      const store = new MemoryScheduleStore();
      await store.save('hourly', { lastRunAt: '2026-01-01T10:00:00.000Z', totalRunCount: 1 });
      const beat = await h.beat(store, 600);
      await h.at('2026-01-01T12:30:00Z', beat);
      expect(h.sent).toHaveLength(0);
      expect(h.skipped).toEqual([{ entry: 'hourly', reason: 'missed', runAt: '2026-01-01T12:00:00.000Z' }]);
      await h.at('2026-01-01T12:59:59Z', beat);
      expect(h.sent).toHaveLength(0);
      await h.at('2026-01-01T13:00:00Z', beat);
      expect(h.sent.map((s) => s.at)).toEqual(['2026-01-01T13:00:00.000Z']);
    });

    it('runs a clocked entry once if its time passed within the window, never when it passed long ago', async () => {
      h = new Harness(
        { recent: { task: 'once.recent', schedule: { clocked: '2026-01-01T09:55:00Z' } }, old: { task: 'once.old', schedule: { clocked: '2026-01-01T08:00:00Z' } }, later: { task: 'once.later', schedule: { clocked: new Date('2026-01-01T10:30:00Z') } } },
        '2026-01-01T10:00:00Z',
      );
      const beat = await h.beat(new MemoryScheduleStore(), 3600 / 2);
      await h.at('2026-01-01T10:00:00Z', beat);
      expect(h.sent.map((s) => s.task)).toEqual(['once.recent']);
      expect(h.skipped).toEqual([{ entry: 'old', reason: 'missed', runAt: '2026-01-01T08:00:00.000Z' }]);
      await h.at('2026-01-01T10:30:00Z', beat);
      await h.at('2026-01-02T10:30:00Z', beat);
      expect(h.sent.map((s) => s.task)).toEqual(['once.recent', 'once.later']);
    });
  });

  describe('state across a restart (file store)', () => {
    let dir: string;
    beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'celeriac-beat-'))));
    afterEach(() => rm(dir, { recursive: true, force: true }));

    it('neither repeats nor skips: the next run after a restart is the one after the last sent', async () => {
      const file = join(dir, 'celerybeat-schedule.json');
      h = new Harness({ every5: { task: 'tick', schedule: { every: '5m' } }, daily: { task: 'daily', schedule: { crontab: '30 2 * * *', timezone: 'Europe/Paris' } } }, '2026-01-01T10:00:00Z');
      let beat = await h.beat(new FileScheduleStore(file));
      await h.at('2026-01-01T10:00:00Z', beat);
      await h.at('2026-01-01T10:05:00Z', beat);
      expect(h.sent.map((s) => s.task)).toEqual(['tick']);
      await beat.close();
      const saved = JSON.parse(await readFile(file, 'utf8'));
      expect(saved).toMatchObject({ version: 1, entries: { every5: { lastRunAt: '2026-01-01T10:05:00.000Z', totalRunCount: 1 } } });

      // Restart before the next run is due: nothing is repeated.
      beat = await h.beat(new FileScheduleStore(file));
      expect(await h.at('2026-01-01T10:07:00Z', beat)).toBe(180_000);
      expect(h.sent).toHaveLength(1);
      await beat.close();

      // Down across 10:10 and the 02:30 Paris run (01:30Z next day is far off): 10:10 is sent once on start.
      beat = await h.beat(new FileScheduleStore(file));
      await h.at('2026-01-01T10:12:00Z', beat);
      await h.at('2026-01-01T10:13:00Z', beat);
      expect(h.sent.map((s) => s.at)).toEqual(['2026-01-01T10:05:00.000Z', '2026-01-01T10:12:00.000Z']);
      await h.at('2026-01-01T10:15:00Z', beat);
      expect(h.sent).toHaveLength(3);
      // The crontab counted from when beat first saw it (10:00), not from each restart.
      await beat.close();
      beat = await h.beat(new FileScheduleStore(file));
      await h.at('2026-01-02T01:31:00Z', beat);
      expect(h.sent.slice(3).map((s) => s.task)).toEqual(['tick', 'daily']);
    });

    it('sets an unreadable state file aside and starts afresh', async () => {
      const file = join(dir, 'state.json');
      await (await import('node:fs/promises')).writeFile(file, '{ not json');
      const store = new FileScheduleStore(file);
      await store.open();
      await expect(store.load()).resolves.toEqual({});
      const files = await (await import('node:fs/promises')).readdir(dir);
      expect(files.some((f) => f.startsWith('state.json.corrupt-'))).toBe(true);
    });
  });

  it('skips a run while the previous run has not finished (skipIfRunning), then sends again', async () => {
    h = new Harness({ slow: { task: 'slow.job', schedule: { every: '1m' }, skipIfRunning: true } }, '2026-01-01T10:00:00Z');
    const beat = await h.beat();
    await h.at('2026-01-01T10:00:00Z', beat);
    await h.at('2026-01-01T10:01:00Z', beat);
    expect(h.sent).toHaveLength(1);
    const firstId = beat.entryState('slow')!.lastTaskId!;
    await h.app.resultBackend().storeResult({ taskId: firstId, status: 'STARTED', result: null, traceback: null, children: [], dateDone: null });
    await h.at('2026-01-01T10:02:00Z', beat);
    expect(h.sent).toHaveLength(1);
    expect(h.skipped).toEqual([{ entry: 'slow', reason: 'running', runAt: '2026-01-01T10:02:00.000Z' }]);
    await h.app.resultBackend().storeResult({ taskId: firstId, status: 'SUCCESS', result: 1, traceback: null, children: [], dateDone: new Date().toISOString() });
    await h.at('2026-01-01T10:03:00Z', beat);
    expect(h.sent).toHaveLength(2);
    expect(beat.entryState('slow')!.lastTaskId).not.toBe(firstId);
  });

  it('retries a failed send on the next tick (its claim is given back)', async () => {
    h = new Harness({ job: { task: 'job', schedule: { every: '1m' } } }, '2026-01-01T10:00:00Z');
    const beat = await h.beat();
    const errors: unknown[] = [];
    beat.on('error', (err) => errors.push(err));
    await h.at('2026-01-01T10:00:00Z', beat);
    const spy = h.app.sendTask as jest.Mock;
    const real = spy.getMockImplementation()!;
    spy.mockImplementationOnce(async () => {
      throw new Error('broker down');
    });
    expect(await h.at('2026-01-01T10:01:00Z', beat)).toBe(1000);
    expect(errors).toHaveLength(1);
    expect(beat.entryState('job')!.totalRunCount).toBe(0);
    spy.mockImplementation(real);
    await h.at('2026-01-01T10:01:01Z', beat);
    expect(h.sent.map((s) => s.at)).toEqual(['2026-01-01T10:01:01.000Z']);
    expect(beat.entryState('job')).toMatchObject({ lastRunAt: '2026-01-01T10:01:00.000Z', totalRunCount: 1 });
  });
});

describe('beat and a worker on the memory broker', () => {
  it('sends scheduled tasks that the worker runs (every 0.2 s, real time)', async () => {
    const name = randomUUID();
    const app = new Celeriac({
      brokerUrl: `memory://${name}`,
      logger: createLogger('silent'),
      beatStore: 'memory',
      beatSchedule: { ping: { task: 'beat.ping', schedule: { every: 200 }, args: ['hello'] } },
    });
    const seen: string[] = [];
    app.task('beat.ping', async (word: string) => void seen.push(word));
    const worker = new Worker(app, { concurrency: 1 });
    const beat = new Beat(app);
    const sent: string[] = [];
    beat.on('sent', (s) => sent.push(s.id));
    try {
      await worker.start();
      await beat.start();
      await waitFor(() => seen.length >= 3, 10_000, 'three runs of beat.ping');
      expect(seen.slice(0, 3)).toEqual(['hello', 'hello', 'hello']);
      expect(sent.length).toBeGreaterThanOrEqual(3);
    } finally {
      await beat.close();
      await worker.close();
      await app.close();
    }
  });
});
