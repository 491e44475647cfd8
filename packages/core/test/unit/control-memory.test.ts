/**
 * Remote control on the memory broker: ping, inspect (active, reserved, scheduled, registered,
 * stats, revoked), revoke of waiting/ETA/unknown-yet tasks, revoke with terminate, the revoked set
 * surviving a restart through the state file, destination filtering and unknown commands.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Celeriac, MemoryBroker, MemoryKeyValueStore, TaskRevokedError, Worker, group, type TaskContext } from '../../src';
import { deferred } from '../helpers/wait';
import { memoryApp } from '../helpers/memory-app';

const makeApp = (): Celeriac => memoryApp();

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

describe('remote control', () => {
  let app: Celeriac;
  const workers: Worker[] = [];
  let dir: string;
  beforeEach(async () => {
    app = makeApp();
    dir = await mkdtemp(path.join(tmpdir(), 'celeriac-control-'));
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.close({ graceful: false });
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });
  async function start(hostname: string, extra: ConstructorParameters<typeof Worker>[1] = {}): Promise<Worker> {
    const w = new Worker(app, { hostname, concurrency: 2, ...extra });
    workers.push(w);
    await w.start();
    return w;
  }

  it('ping and inspect reach every worker; a destination narrows it', async () => {
    app.task('t.add', async (x: number, y: number) => x + y);
    await start('w1@test');
    await start('w2@test');
    const pongs = await app.control.ping({ timeout: 0.5 });
    expect(pongs.map((r) => Object.keys(r)[0]).sort()).toEqual(['w1@test', 'w2@test']);
    expect(pongs[0]).toEqual({ [Object.keys(pongs[0]!)[0]!]: { ok: 'pong' } });
    const only = await app.control.ping({ destination: ['w2@test'], timeout: 2 });
    expect(only).toEqual([{ 'w2@test': { ok: 'pong' } }]);
    const registered = await app.control.inspect({ timeout: 0.5 }).registered();
    expect(registered).toEqual({ 'w1@test': ['t.add'], 'w2@test': ['t.add'] });
    const stats = await app.control.inspect({ destination: ['w1@test'] }).stats();
    expect(stats!['w1@test']).toMatchObject({ pid: process.pid, prefetch_count: 8, pool: { 'max-concurrency': 2 } });
    const byPattern = await app.control.ping({ pattern: 'w1@*', timeout: 0.5 });
    expect(byPattern).toEqual([{ 'w1@test': { ok: 'pong' } }]);
  });

  it('answers an unknown command with an error, and keeps working', async () => {
    await start('w1@test');
    const replies = await app.control.broadcast('no_such_thing', { reply: true, destination: ['w1@test'] });
    expect(replies[0]!['w1@test']).toEqual({ error: expect.stringContaining('no_such_thing') });
    await expect(app.control.ping({ destination: ['w1@test'] })).resolves.toHaveLength(1);
  });

  it('a task revoked before it arrives never runs and is REVOKED', async () => {
    let runs = 0;
    const add = app.task('t.add', async (x: number, y: number) => {
      runs++;
      return x + y;
    });
    await start('w1@test');
    const id = randomUUID();
    const replies = await app.control.revoke(id, { reply: true, destination: ['w1@test'] });
    expect(replies).toEqual([{ 'w1@test': { ok: `tasks ${id} flagged as revoked` } }]);
    const r = await add.applyAsync([1, 2], { taskId: id });
    await expect(r.get({ timeout: 5000 })).rejects.toBeInstanceOf(TaskRevokedError);
    expect(runs).toBe(0);
    const revoked = await app.control.inspect({ destination: ['w1@test'] }).revoked();
    expect(revoked!['w1@test']).toContain(id);
  });

  it('revoking an ETA task drops it at once; scheduled lists it before', async () => {
    const add = app.task('t.add', async (x: number, y: number) => x + y);
    await start('w1@test');
    const r = await add.applyAsync([1, 2], { countdown: 60 });
    let scheduled: Record<string, Array<Record<string, unknown>>> | null = null;
    for (let i = 0; i < 100 && !scheduled?.['w1@test']?.length; i++) scheduled = await app.control.inspect({ destination: ['w1@test'] }).scheduled();
    expect(scheduled!['w1@test']![0]).toMatchObject({ request: { id: r.id, name: 't.add' } });
    await r.revoke();
    await expect(r.get({ timeout: 5000 })).rejects.toMatchObject({ reason: 'revoked' });
    await expect(app.control.inspect({ destination: ['w1@test'] }).scheduled()).resolves.toEqual({ 'w1@test': [] });
  });

  it('revoke with terminate stops a running task, aborts its signal and stores REVOKED', async () => {
    const started = deferred<void>();
    let aborted: unknown;
    const slow = app.task('t.slow', async function (this: TaskContext) {
      this.signal.addEventListener('abort', () => (aborted = this.signal.reason));
      started.resolve();
      await new Promise((r) => setTimeout(r, 60_000).unref());
      return 'finished';
    });
    const w = await start('w1@test');
    const revokedEvents: string[] = [];
    w.on('task-revoked', (e) => revokedEvents.push(e.id));
    const r = await slow.delay();
    await started.promise;
    const active = await app.control.inspect({ destination: ['w1@test'] }).active();
    expect(active!['w1@test']!.map((a) => a.id)).toEqual([r.id]);
    await r.revoke({ terminate: true });
    await expect(r.get({ timeout: 5000 })).rejects.toMatchObject({ reason: 'terminated' });
    expect(aborted).toBeInstanceOf(TaskRevokedError);
    for (let i = 0; i < 100 && !revokedEvents.length; i++) await new Promise((res) => setTimeout(res, 5));
    expect(revokedEvents).toEqual([r.id]);
    expect(w.active).toBe(0);
  });

  it('revoking a group revokes every member', async () => {
    const gate = deferred<void>();
    const add = app.task('t.add', async (x: number, y: number) => {
      await gate.promise;
      return x + y;
    });
    await start('w1@test', { concurrency: 1 });
    const g = await group([add.s(1, 1), add.s(2, 2), add.s(3, 3)]).applyAsync();
    await new Promise((r) => setTimeout(r, 50));
    // Waiting for the reply makes sure the worker has the revoke before the first member frees its slot.
    await app.control.revoke(g.revokeIds(), { reply: true, destination: ['w1@test'] });
    gate.resolve();
    const values = await g.get({ timeout: 5000, propagate: false });
    // The first member was already running (no terminate): it finishes; the waiting ones are revoked.
    expect(values[0]).toBe(2);
    expect(values[1]).toBeInstanceOf(TaskRevokedError);
    expect(values[2]).toBeInstanceOf(TaskRevokedError);
  });

  it('revokes survive a restart through the state file', async () => {
    let runs = 0;
    const add = app.task('t.add', async (x: number, y: number) => {
      runs++;
      return x + y;
    });
    const stateDb = path.join(dir, 'worker.state');
    const first = await start('w1@test', { stateDb });
    const id = randomUUID();
    await app.control.revoke(id, { reply: true, destination: ['w1@test'] });
    await first.close();
    workers.splice(workers.indexOf(first), 1);
    expect(JSON.parse(await readFile(stateDb, 'utf8'))).toMatchObject({ revoked: { [id]: expect.any(Number) } });
    await start('w1@test', { stateDb });
    const r = await add.applyAsync([1, 1], { taskId: id });
    await expect(r.get({ timeout: 5000 })).rejects.toBeInstanceOf(TaskRevokedError);
    expect(runs).toBe(0);
  });

  it('a remote shutdown stops the worker', async () => {
    const w = await start('w1@test');
    const stopped = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if ((w as unknown as { stopping?: unknown }).stopping) {
          clearInterval(check);
          resolve();
        }
      }, 5);
    });
    await app.control.shutdown({ destination: ['w1@test'] });
    await stopped;
    await expect(app.control.ping({ destination: ['w1@test'], timeout: 0.3 })).resolves.toEqual([]);
  });
});
