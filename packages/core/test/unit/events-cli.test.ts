// `celeriac events` and the worker's -E / --heartbeat-interval / --without-heartbeat, in-process on the
// memory broker (a fake signal source, no real process), and the dump format of Celery's Dumper.
import { randomUUID } from 'node:crypto';
import { EventDumper } from '../../src/cli/commands/events.command';
import { fakeProcess, freshCli, type Core } from '../helpers/fake-cli';
import { waitFor } from '../helpers/wait';

const APP = 'src-app.js';

function hub(): { url: string; flags: string[] } {
  const url = `memory://cli-events-${randomUUID()}`;
  return { url, flags: ['-b', url, '--result-backend', url] };
}

describe('celeriac events', () => {
  it('prints events as JSON lines until SIGINT', async () => {
    const { main, core } = freshCli();
    const { url, flags } = hub();
    const p = fakeProcess();
    let ended: number | undefined;
    const exited = main(['events', '-A', APP, ...flags, '--json'], p.ctx).then((code) => (ended = code));
    await waitFor(() => {
      if (ended !== undefined) throw new Error(`events exited with ${ended}: ${p.stderr()}`);
      return p.stderr().includes('listening');
    }, 5000, 'the receiver to listen');
    const app = new core.Celeriac({ brokerUrl: url, resultBackend: url, logger: core.createLogger('silent') });
    const add = app.task('math.add', async (x: number, y: number) => x + y);
    const worker = new core.Worker(app, { hostname: 'ev@test', taskEvents: true, concurrency: 1 });
    await worker.start();
    try {
      const r = await add.delay(2, 3);
      await r.get({ timeout: 5000 });
      await waitFor(() => p.stdout().includes('task-succeeded'), 5000, 'task-succeeded');
      const lines = p.stdout().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines[0]).toMatchObject({ type: 'worker-online', hostname: 'ev@test', sw_ident: 'celeriac' });
      expect(lines.filter((l) => l.uuid === r.id).map((l) => l.type)).toEqual(['task-received', 'task-started', 'task-succeeded']);
      expect(lines.find((l) => l.type === 'task-succeeded')).toMatchObject({ result: '5' });
    } finally {
      await worker.close();
      await app.close();
    }
    p.signals.emit('SIGINT', 'SIGINT');
    await expect(exited).resolves.toBe(0);
  });

  it('stops after --timeout', async () => {
    const { main } = freshCli();
    const { flags } = hub();
    const p = fakeProcess();
    const started = Date.now();
    await expect(main(['events', '-A', APP, ...flags, '-t', '0.1'], p.ctx)).resolves.toBe(0);
    expect(Date.now() - started).toBeLessThan(4000);
  });
});

describe('celeriac worker event flags', () => {
  async function runWorker(extra: string[]): Promise<{ types: string[]; stop: (lastEvent?: string) => Promise<void>; core: Core; url: string }> {
    const { main, core } = freshCli();
    const { url, flags } = hub();
    const listenerApp = new core.Celeriac({ brokerUrl: url, resultBackend: url, logger: core.createLogger('silent') });
    const receiver = new core.EventReceiver(listenerApp, { wakeup: false });
    const types: string[] = [];
    const w = { types };
    receiver.on('*', (e) => void types.push(e.type));
    await receiver.start();
    const p = fakeProcess();
    let ended: number | undefined;
    const exited = main(['worker', '-A', APP, ...flags, '-c', '1', '-n', 'flags@test', ...extra], p.ctx).then((code) => (ended = code));
    await waitFor(() => {
      if (ended !== undefined) throw new Error(`worker exited with ${ended}: ${p.stderr()}`);
      return p.stdout().includes('[queues]');
    }, 5000, 'the banner');
    const stop = async (lastEvent?: string): Promise<void> => {
      p.signals.emit('SIGTERM', 'SIGTERM');
      await exited;
      if (lastEvent) await waitFor(() => w.types.includes(lastEvent), 5000, lastEvent).catch(() => undefined);
      await receiver.close();
      await listenerApp.close();
    };
    return { types, stop, core, url };
  }

  it('-E sends task events; --heartbeat-interval sets the heartbeat period', async () => {
    const w = await runWorker(['-E', '--heartbeat-interval', '0.05']);
    try {
      const app = new w.core.Celeriac({ brokerUrl: w.url, resultBackend: w.url, logger: w.core.createLogger('silent') });
      await (await app.sendTask('math.add', [1, 2])).get({ timeout: 5000 });
      await app.close();
      await waitFor(() => w.types.includes('task-succeeded') && w.types.filter((t) => t === 'worker-heartbeat').length >= 2, 5000, 'task events and heartbeats');
    } finally {
      await w.stop('worker-offline');
    }
    expect(w.types.at(-1)).toBe('worker-offline');
  });

  it('--without-heartbeat sends no worker events, and no task events without -E', async () => {
    const w = await runWorker(['--without-heartbeat']);
    const app = new w.core.Celeriac({ brokerUrl: w.url, resultBackend: w.url, logger: w.core.createLogger('silent') });
    await (await app.sendTask('math.add', [1, 2])).get({ timeout: 5000 });
    // A heartbeat requested by remote control is not sent either.
    await app.control.broadcast('heartbeat');
    await expect(app.control.ping({ destination: ['flags@test'] })).resolves.toHaveLength(1);
    await app.close();
    await w.stop();
    expect(w.types).toEqual([]);
  });
});

describe('EventDumper', () => {
  it('formats worker and task events as celery events --dump', () => {
    const d = new EventDumper();
    const base = { hostname: 'w@h', timestamp: 1714564800.5, utcoffset: 0, pid: 7, clock: 3 };
    expect(d.format({ ...base, type: 'worker-heartbeat', freq: 2, active: 0 })).toBe('w@h [2024-05-01 12:00:00.500000] heartbeat: active=0, clock=3, freq=2, pid=7, utcoffset=0');
    expect(d.format({ ...base, type: 'task-received', uuid: 'id1', name: 'math.add', args: '(2, 3)', kwargs: '{}', retries: 0 })).toBe(
      'w@h [2024-05-01 12:00:00.500000] task received: math.add(id1) args=(2, 3) kwargs={} clock=3, pid=7, retries=0, utcoffset=0',
    );
    expect(d.format({ ...base, type: 'task-succeeded', uuid: 'id1', result: '5', runtime: 0.01, local_received: 1 })).toBe(
      'w@h [2024-05-01 12:00:00.500000] task succeeded: math.add(id1) args=(2, 3) kwargs={} clock=3, pid=7, result=5, runtime=0.01, utcoffset=0',
    );
    expect(d.format({ hostname: 'w@h', timestamp: 1714564800, type: 'worker-online' })).toBe('w@h [2024-05-01 12:00:00] started ');
  });
});
