// The `celeriac` commands run in-process on the memory broker and backend: call, result, purge,
// and the worker's warm and cold shutdown on signals (a fake signal source, no real process).
// Each test loads a fresh module registry, so the fixture app's settings start clean every time.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ResultMeta } from '../../src';
import { CLI_FIXTURES as FIXTURES, fakeProcess, freshCli, type Core, type FakeProcess, type Main } from '../helpers/fake-cli';
import { waitFor } from '../helpers/wait';

const APP = 'src-app.js';

function hub(): { url: string; flags: string[] } {
  const url = `memory://cli-${randomUUID()}`;
  return { url, flags: ['-b', url, '--result-backend', url] };
}

function producer(core: Core, url: string) {
  return new core.Celeriac({ brokerUrl: url, resultBackend: url, logger: core.createLogger('silent') });
}

describe('celeriac call', () => {
  it('sends by name and prints the id', async () => {
    const { main, core } = freshCli();
    const { url, flags } = hub();
    const p = fakeProcess();
    const code = await main(['call', 'math.add', '-A', APP, ...flags, '--args', '[2, 3]', '--queue', 'adds', '--priority', '3'], p.ctx);
    expect({ code, stderr: p.stderr() }).toEqual({ code: 0, stderr: '' });
    expect(p.stdout()).toMatch(/^[0-9a-f-]{36}\n$/);
    const peer = producer(core, url);
    await peer.broker.connect();
    expect(await peer.broker.queueLength('adds')).toBe(1);
    await peer.close();
  });

  it('takes -A from CELERIAC_APP and program options before the command name', async () => {
    const { main } = freshCli();
    const { flags } = hub();
    const p = fakeProcess({ env: { CELERIAC_APP: `${APP}:app` } });
    expect(await main([...flags, 'call', 'math.add'], p.ctx)).toBe(0);
    const q = fakeProcess();
    expect(await main(['-A', APP, 'call', 'math.add', ...flags], q.ctx)).toBe(0);
  });
});

describe('celeriac result', () => {
  async function stored(core: Core, url: string, meta: Partial<ResultMeta>): Promise<string> {
    const peer = producer(core, url);
    const taskId = randomUUID();
    await peer.resultBackend().storeResult({ taskId, status: 'SUCCESS', result: null, traceback: null, children: [], dateDone: '2030-01-01T00:00:00', ...meta });
    await peer.close();
    return taskId;
  }

  it('prints the value as JSON', async () => {
    const { main, core } = freshCli();
    const { url, flags } = hub();
    const id = await stored(core, url, { result: { total: [1, 2], big: 12345678901234567890n } });
    const p = fakeProcess();
    expect(await main(['result', id, '-A', APP, ...flags], p.ctx)).toBe(0);
    expect(p.stdout()).toBe('{"total":[1,2],"big":12345678901234567890}\n');
  });

  it('prints the error of a failed task (and its traceback when asked), exit 1', async () => {
    const { main, core } = freshCli();
    const { url, flags } = hub();
    const id = await stored(core, url, {
      status: 'FAILURE',
      result: { exc_type: 'ValueError', exc_message: ['bad card'], exc_module: 'builtins' },
      traceback: 'Traceback (most recent call last):\n  File "tasks.py", line 3, in charge\nValueError: bad card\n',
    });
    const p = fakeProcess();
    expect(await main(['result', id, '-A', APP, ...flags], p.ctx)).toBe(1);
    expect(p.stderr()).toBe('ValueError: bad card\n');
    const q = fakeProcess();
    expect(await main(['result', id, '-A', APP, ...flags, '--traceback'], q.ctx)).toBe(1);
    expect(q.stderr()).toBe('ValueError: bad card\nTraceback (most recent call last):\n  File "tasks.py", line 3, in charge\nValueError: bad card\n');
    expect(q.stdout()).toBe('');
  });

  it('gives up after --timeout with exit 1', async () => {
    const { main } = freshCli();
    const { flags } = hub();
    const p = fakeProcess();
    expect(await main(['result', randomUUID(), '-A', APP, ...flags, '--timeout', '30'], p.ctx)).toBe(1);
    expect(p.stderr()).toMatch(/^error: Result of task [0-9a-f-]+ not ready after 30 ms/);
  });

  it('says when the app has no result backend', async () => {
    const { main } = freshCli();
    const p = fakeProcess();
    expect(await main(['result', randomUUID(), '-A', APP, '-b', 'memory://x'], p.ctx)).toBe(1);
    expect(p.stderr()).toContain('error: No result backend configured');
  });
});

describe('celeriac purge', () => {
  async function queued(core: Core, url: string, queue: string, n: number): Promise<ReturnType<typeof producer>> {
    const peer = producer(core, url);
    for (let i = 0; i < n; i++) await peer.sendTask('math.add', [i, i], {}, { queue });
    return peer;
  }

  it('refuses without -f when stdin is not a terminal', async () => {
    const { main, core } = freshCli();
    const { url, flags } = hub();
    const peer = await queued(core, url, 'celery', 2);
    const p = fakeProcess({ tty: false });
    expect(await main(['purge', '-A', APP, ...flags], p.ctx)).toBe(2);
    expect(p.stderr()).toBe('error: refusing to purge celery without confirmation: stdin is not a terminal. Re-run with -f/--force.\n');
    expect(await peer.broker.queueLength('celery')).toBe(2);
    await peer.close();
  });

  it('asks on a terminal: no keeps the messages (exit 1), yes purges them', async () => {
    const { main, core } = freshCli();
    const { url, flags } = hub();
    const peer = await queued(core, url, 'celery', 2);
    const no = fakeProcess({ tty: true, answers: ['n'] });
    expect(await main(['purge', '-A', APP, ...flags], no.ctx)).toBe(1);
    expect(no.stderr()).toContain('WARNING: This will remove all tasks from queue: celery.');
    expect(no.stderr()).toContain('Are you sure you want to delete all tasks (yes/NO)? ');
    expect(await peer.broker.queueLength('celery')).toBe(2);
    const yes = fakeProcess({ tty: true, answers: ['yes'] });
    expect(await main(['purge', '-A', APP, ...flags], yes.ctx)).toBe(0);
    expect(yes.stdout()).toBe('Purged 2 messages from 1 known task queue: celery (2).\n');
    expect(await peer.broker.queueLength('celery')).toBe(0);
    await peer.close();
  });

  it('-f purges the -Q queues minus -X and reports each count', async () => {
    const { main, core } = freshCli();
    const { url, flags } = hub();
    const peer = await queued(core, url, 'a', 3);
    await peer.sendTask('math.add', [1, 1], {}, { queue: 'b' });
    await peer.sendTask('math.add', [1, 1], {}, { queue: 'c' });
    const p = fakeProcess();
    expect(await main(['purge', '-A', APP, ...flags, '-Q', 'a,b', '-Q', 'c', '-X', 'c', '-f'], p.ctx)).toBe(0);
    expect(p.stdout()).toBe('Purged 4 messages from 2 known task queues: a (3), b (1).\n');
    expect(await peer.broker.queueLength('c')).toBe(1);
    const again = fakeProcess();
    expect(await main(['purge', '-A', APP, ...flags, '-Q', 'a', '-f'], again.ctx)).toBe(0);
    expect(again.stdout()).toBe('No messages purged from 1 known task queue: a.\n');
    await peer.close();
  });
});

describe('celeriac worker', () => {
  // Returns the exit promise in an object: an async function returning a promise would wait for it.
  async function startWorker(main: Main['main'], flags: string[], p: FakeProcess, queue: string): Promise<{ exited: Promise<number> }> {
    let ended: number | undefined;
    const exited = main(['worker', '-A', APP, ...flags, '-c', '2', '-Q', queue, '-n', 'unit@%h'], p.ctx).then((code) => (ended = code));
    await waitFor(() => {
      if (ended !== undefined) throw new Error(`worker exited with ${ended} before its banner: ${p.stderr()}`);
      return p.stdout().includes('[queues]');
    }, 5000, 'the banner');
    return { exited };
  }

  it('prints the banner, runs tasks, and on SIGTERM lets the running task finish, then exits 0', async () => {
    const { main, core } = freshCli();
    const { url, flags } = hub();
    const p = fakeProcess({ env: { CELERIAC_TASK_TRACK_STARTED: 'true' } });
    const { exited } = await startWorker(main, flags, p, 'work');
    expect(p.stdout()).toMatch(/^unit@\S+ v\d+\.\d+\.\d+ /);
    expect(p.stdout()).toContain('.> app:         cli-unit (src-app.js:app)');
    expect(p.stdout()).toContain(`.> transport:   ${url}`);
    expect(p.stdout()).toContain('.> concurrency: 2 (async)');
    expect(p.stdout()).toContain('.> work             exchange=work(direct) key=work');
    const peer = producer(core, url);
    await expect((await peer.sendTask('math.add', [2, 3], {}, { queue: 'work' })).get({ timeout: 5000 })).resolves.toBe(5);
    const slow = await peer.sendTask('cli.sleep', [150], {}, { queue: 'work' });
    await waitFor(async () => (await slow.state()) === 'STARTED', 5000, 'the task to start');
    p.signals.emit('SIGTERM', 'SIGTERM');
    await expect(exited).resolves.toBe(0);
    expect(p.stderr()).toContain('worker: Warm shutdown (MainProcess)');
    expect(p.exit).not.toHaveBeenCalled();
    expect(await slow.get({ timeout: 1000 })).toBe(150);
    expect(p.signals.listenerCount('SIGTERM') + p.signals.listenerCount('SIGINT') + p.signals.listenerCount('SIGQUIT')).toBe(0);
    await peer.close();
  });

  it('a second SIGINT is a cold shutdown: the running acksLate task goes back to the queue, exit 0', async () => {
    const { main, core } = freshCli();
    const { url, flags } = hub();
    const p = fakeProcess({ env: { CELERIAC_TASK_TRACK_STARTED: 'true', CELERIAC_TASK_ACKS_LATE: 'true' } });
    const { exited } = await startWorker(main, flags, p, 'cold');
    const peer = producer(core, url);
    const slow = await peer.sendTask('cli.sleep', [400], {}, { queue: 'cold' });
    await waitFor(async () => (await slow.state()) === 'STARTED', 5000, 'the task to start');
    p.signals.emit('SIGINT', 'SIGINT');
    p.signals.emit('SIGINT', 'SIGINT');
    await expect(exited).resolves.toBe(0);
    expect(p.exit).toHaveBeenCalledWith(0); // the real process ends here, abandoning the given-back task
    expect(p.stderr()).toContain('worker: Hitting Ctrl+C again will terminate all running tasks!');
    expect(p.stderr()).toContain('worker: Warm shutdown (MainProcess)');
    expect(p.stderr()).toContain('worker: Cold shutdown (MainProcess)');
    await peer.broker.connect();
    expect(await peer.broker.queueLength('cold')).toBe(1);
    await slow.get({ timeout: 2000 }); // let the abandoned run finish before the test ends
    await peer.close();
  });

  it('SIGQUIT is cold at once; a further signal exits immediately with 1', async () => {
    const { main } = freshCli();
    const { flags } = hub();
    const p = fakeProcess();
    const { exited } = await startWorker(main, flags, p, 'quit');
    p.signals.emit('SIGQUIT', 'SIGQUIT');
    p.signals.emit('SIGTERM', 'SIGTERM');
    expect(p.exit).toHaveBeenCalledWith(1);
    await expect(exited).resolves.toBe(0);
    expect(p.exit).toHaveBeenLastCalledWith(0);
    expect(p.stderr()).toContain('worker: Cold shutdown (MainProcess)');
    expect(p.stderr()).not.toContain('Warm shutdown');
  });

  it('exits 2 when -X leaves no queue', async () => {
    const { main } = freshCli();
    const { flags } = hub();
    const p = fakeProcess();
    expect(await main(['worker', '-A', APP, ...flags, '-Q', 'a', '-X', 'a'], p.ctx)).toBe(2);
    expect(p.stderr()).toContain('no queue left to consume');
    expect(p.stdout()).toBe('');
  });
});

describe('celeriac inspect / control', () => {
  it('pings, inspects and revokes through a running worker; exit 1 when nobody answers', async () => {
    const { main, core } = freshCli();
    const { url, flags } = hub();
    // The worker runs on an app of its own: in one process, every main() call shares the fixture's app.
    const workerApp = producer(core, url);
    workerApp.task('math.add', async (x: number, y: number) => x + y);
    const worker = new core.Worker(workerApp, { hostname: 'ctl@test', concurrency: 1 });
    await worker.start();
    try {
      const ping = fakeProcess();
      expect(await main(['inspect', 'ping', '-A', APP, ...flags, '-t', '0.5'], ping.ctx)).toBe(0);
      expect(JSON.parse(ping.stdout())).toEqual({ 'ctl@test': { ok: 'pong' } });

      const registered = fakeProcess();
      expect(await main(['inspect', 'registered', '-A', APP, ...flags, '-d', 'ctl@test'], registered.ctx)).toBe(0);
      expect(JSON.parse(registered.stdout())).toEqual({ 'ctl@test': ['math.add'] });

      const id = randomUUID();
      const revoke = fakeProcess();
      expect(await main(['control', 'revoke', id, '-A', APP, ...flags, '-d', 'ctl@test'], revoke.ctx)).toBe(0);
      expect(JSON.parse(revoke.stdout())).toEqual({ 'ctl@test': { ok: `tasks ${id} flagged as revoked` } });
      await expect((await workerApp.sendTask('math.add', [1, 1], {}, { taskId: id })).get({ timeout: 5000 })).rejects.toMatchObject({ reason: 'revoked' });

      const nobody = fakeProcess();
      expect(await main(['inspect', 'ping', '-A', APP, ...flags, '-d', 'nobody@test', '-t', '0.2'], nobody.ctx)).toBe(1);
      expect(nobody.stderr()).toContain('no worker replied');
      const bad = fakeProcess();
      expect(await main(['inspect', 'nonsense', '-A', APP, ...flags], bad.ctx)).toBe(2);
    } finally {
      await worker.close();
      await workerApp.close();
    }
  });
});

describe('celeriac worker --statedb', () => {
  it('keeps revoked ids in the file (relative to the cwd) when the worker stops', async () => {
    const { main, core } = freshCli();
    const { url, flags } = hub();
    const dir = mkdtempSync(join(tmpdir(), 'celeriac-statedb-'));
    const p = fakeProcess();
    let ended: number | undefined;
    const exited = main(['worker', '-A', resolve(FIXTURES, APP), ...flags, '-n', 'sdb@test', '-S', 'worker.state'], { ...p.ctx, cwd: dir }).then((code) => (ended = code));
    await waitFor(() => {
      if (ended !== undefined) throw new Error(`worker exited with ${ended}: ${p.stderr()}`);
      return p.stdout().includes('[queues]');
    }, 5000, 'the banner');
    const peer = producer(core, url);
    const id = randomUUID();
    // The banner can print a moment before the worker's mailbox listens: revoke until it answers.
    for (let attempt = 0; attempt < 20; attempt++) {
      if ((await peer.control.revoke(id, { reply: true, destination: ['sdb@test'], timeout: 0.5 })).length) break;
    }
    await peer.close();
    p.signals.emit('SIGTERM', 'SIGTERM');
    await expect(exited).resolves.toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'worker.state'), 'utf8'))).toMatchObject({ revoked: { [id]: expect.any(Number) } });
    rmSync(dir, { recursive: true, force: true });
  });
});
