/**
 * Beat on every replica, against a real Redis: one leader holds the lease, each scheduled run is
 * claimed and sent once, state is shared, and when the leader stops or is killed another beat takes
 * over within the lease time. A worker on the same Redis runs what beat sends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { Beat, Celeriac, createLogger, RedisCoordinator, Worker, type BeatEventMap } from '../../src';
import { testNamespace } from '../helpers/namespace';
import { waitFor } from '../helpers/wait';

const ns = testNamespace('beat-redis');
const raw = new Redis(ns.redisUrl);
const ROOT = resolve(__dirname, '../../../..');
const MAIN = resolve(ROOT, 'packages/core/dist/cli/main.js');
const FIXTURE = resolve(__dirname, '../fixtures/cli/beat-app.js');
const children: ChildProcess[] = [];
const closers: Array<() => Promise<void>> = [];

type Sent = BeatEventMap['sent'][0];

/** An app as one replica would build it: Redis broker and beat under this file's prefix. */
function replica(prefix: string, extra: Record<string, unknown> = {}): Celeriac {
  const app = new Celeriac({
    brokerUrl: ns.redisUrl,
    brokerTransportOptions: { globalKeyprefix: prefix },
    beatKeyPrefix: prefix,
    beatLeaseTime: 1,
    beatMaxLoopInterval: 1,
    beatSchedule: { tick: { task: 'beat.tick', schedule: { every: 200 } } },
    logger: createLogger('silent'),
    ...extra,
  });
  closers.push(() => app.close());
  return app;
}

function beatOf(app: Celeriac, sent: Sent[], options: ConstructorParameters<typeof Beat>[1] = {}): Beat {
  const beat = new Beat(app, options);
  beat.on('sent', (s) => sent.push(s));
  closers.push(() => beat.close());
  return beat;
}

/** A worker counting `beat.tick` runs. */
async function tickWorker(prefix: string): Promise<{ runs: () => number }> {
  const app = replica(prefix);
  let runs = 0;
  app.task('beat.tick', async () => void (runs += 1));
  const worker = new Worker(app, { concurrency: 4 });
  closers.unshift(() => worker.close());
  await worker.start();
  return { runs: () => runs };
}

const times = (sent: Sent[]): number[] => sent.map((s) => s.runAt.getTime());

afterEach(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  while (closers.length) await closers.pop()!().catch(() => undefined);
});
afterAll(async () => {
  raw.disconnect();
  await ns.cleanup();
});

it('two beats on one schedule: one leads, each run is sent once, and a worker runs every one', async () => {
  const prefix = ns.name('two:');
  const worker = await tickWorker(prefix);
  const sentA: Sent[] = [];
  const sentB: Sent[] = [];
  const a = beatOf(replica(prefix), sentA);
  const b = beatOf(replica(prefix), sentB);
  await Promise.all([a.start(), b.start()]);
  await waitFor(() => sentA.length + sentB.length >= 8, 15_000, 'eight runs sent');
  expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
  const all = [...sentA, ...sentB];
  expect(Math.min(sentA.length, sentB.length)).toBe(0);
  expect(new Set(times(all)).size).toBe(all.length);
  // On the 0.2 s grid from the first run, with no run sent twice.
  const sorted = times(all).sort((x, y) => x - y);
  for (let i = 1; i < sorted.length; i++) expect((sorted[i]! - sorted[0]!) % 200).toBe(0);
  await a.close();
  await b.close();
  await waitFor(() => worker.runs() === all.length, 10_000, 'the worker to run every sent task');
  expect(await raw.get(`${prefix}beat:leader`)).toBeNull();
  const state = JSON.parse((await raw.hget(`${prefix}beat:state`, 'tick'))!);
  expect(state).toMatchObject({ totalRunCount: expect.any(Number), lastRunAt: new Date(sorted[sorted.length - 1]!).toISOString() });
});

it('sends each run once even when two beats both believe they lead (the per-run claim)', async () => {
  const prefix = ns.name('overlap:');
  let now = Date.parse('2026-01-01T10:00:00Z');
  const sent: Sent[] = [];
  const skipped: string[] = [];
  const beats = [0, 1].map(() => {
    const app = replica(prefix, { beatStore: 'memory' }); // separate state: each beat thinks every run is its own
    const client = new Redis(ns.redisUrl);
    closers.push(async () => void client.disconnect());
    const coordinator = new RedisCoordinator(client, { prefix, leaseMs: 1000 });
    jest.spyOn(coordinator, 'isLeader').mockReturnValue(true);
    const beat = beatOf(app, sent, { coordinator, now: () => new Date(now), loop: false });
    beat.on('skipped', (s) => skipped.push(`${s.reason} ${s.runAt.toISOString()}`));
    jest.spyOn(app, 'sendTask').mockImplementation(async () => ({ id: `id-${sent.length}` }) as never);
    return beat;
  });
  await Promise.all(beats.map((b) => b.start()));
  await Promise.all(beats.map((b) => b.tick()));
  for (let i = 1; i <= 5; i++) {
    now += 200;
    await Promise.all(beats.map((b) => b.tick()));
  }
  expect(sent.map((s) => s.runAt.toISOString())).toEqual([1, 2, 3, 4, 5].map((i) => new Date(Date.parse('2026-01-01T10:00:00Z') + i * 200).toISOString()));
  expect(skipped).toHaveLength(5);
  expect(skipped.every((s) => s.startsWith('claimed '))).toBe(true);
  const tokens = beats.map((b) => (b.coordinator as RedisCoordinator).token);
  expect(tokens).toContain(await raw.get(`${prefix}beat:run:tick:2026-01-01T10:00:00.400Z`));
  expect(await raw.pttl(`${prefix}beat:run:tick:2026-01-01T10:00:00.400Z`)).toBeGreaterThan(0);
});

it('a stopped leader hands over at once, and the next leader continues from the shared state', async () => {
  const prefix = ns.name('handover:');
  const sentA: Sent[] = [];
  const sentB: Sent[] = [];
  const a = beatOf(replica(prefix), sentA);
  await a.start();
  await waitFor(() => a.isLeader && sentA.length >= 3, 10_000, 'A leading and sending');
  const b = beatOf(replica(prefix), sentB);
  const bLeads = new Promise<void>((r) => b.on('leader', (leader) => leader && r()));
  await b.start();
  expect(b.isLeader).toBe(false);
  await a.close();
  const lastOfA = Math.max(...times(sentA));
  await bLeads;
  await waitFor(() => sentB.length >= 3, 10_000, 'B sending');
  // B picked up where A stopped: no run of A's sent again, none before A's last.
  expect(Math.min(...times(sentB))).toBeGreaterThan(lastOfA);
  expect(new Set([...times(sentA), ...times(sentB)]).size).toBe(sentA.length + sentB.length);
});

it('a killed leader (SIGKILL) is replaced within the lease time', async () => {
  const prefix = ns.name('killed:');
  const worker = await tickWorker(prefix);
  const leaseMs = 2000;
  const child = spawn(process.execPath, [MAIN, 'beat', '-A', FIXTURE, '-l', 'warning'], {
    cwd: ROOT,
    env: { ...process.env, BEAT_REDIS_URL: ns.redisUrl, BEAT_PREFIX: prefix, BEAT_LEASE_TIME: String(leaseMs / 1000) },
    stdio: 'ignore',
  });
  children.push(child);
  await waitFor(async () => (await raw.get(`${prefix}beat:leader`)) !== null && worker.runs() >= 3, 20_000, 'the child beat leading and its runs executed');

  const sentB: Sent[] = [];
  const b = beatOf(replica(prefix, { beatLeaseTime: leaseMs / 1000 }), sentB);
  let tookOverAt = 0;
  b.on('leader', (leader) => leader && (tookOverAt = Date.now()));
  await b.start();
  expect(b.isLeader).toBe(false);

  const exited = new Promise((r) => child.once('exit', r));
  const killedAt = Date.now();
  child.kill('SIGKILL');
  await exited;
  const runsAtKill = worker.runs();
  // The lease the child last renewed runs out at most leaseMs after the kill; B retries at its expiry.
  await waitFor(() => tookOverAt > 0, leaseMs + 3000, 'B to take the lease');
  // Within the lease, plus timer slack on a busy machine.
  expect(tookOverAt - killedAt).toBeLessThanOrEqual(leaseMs + 1000);
  await waitFor(() => sentB.length >= 3 && worker.runs() >= runsAtKill + 3, 10_000, 'runs sent by B, executed');
});

it('a beat whose own token still holds the lease key takes it at once (a late renewal does not leave it waiting for its own key to expire)', async () => {
  const prefix = ns.name('own-key:');
  const client = new Redis(ns.redisUrl);
  closers.push(async () => void client.disconnect());
  const coordinator = new RedisCoordinator(client, { prefix, leaseMs: 30_000 });
  closers.push(() => coordinator.stop());
  // The key as this beat left it when it stepped down: its token, most of the lease left.
  await raw.set(`${prefix}beat:leader`, coordinator.token, 'PX', 20_000);
  const changes: boolean[] = [];
  await coordinator.start((leader) => changes.push(leader));
  expect(changes).toEqual([true]);
  expect(coordinator.isLeader()).toBe(true);
  expect(await raw.pttl(`${prefix}beat:leader`)).toBeGreaterThan(20_000); // extended to a full lease
  // Another beat's token is not taken over.
  const other = new RedisCoordinator(client, { prefix: ns.name('other-key:'), leaseMs: 30_000 });
  closers.push(() => other.stop());
  await raw.set(`${ns.name('other-key:')}beat:leader`, 'someone-else', 'PX', 20_000);
  await other.start(() => undefined);
  expect(other.isLeader()).toBe(false);
});
