/**
 * Celery events on the memory broker (fanout, as on Redis): worker-online/heartbeat/offline, task
 * events batched as task.multi only with task events on, task-sent from the client, remote
 * enable_events/disable_events, and the receiver's decoding.
 */
import { type Celeriac, EVENT_EXCHANGE, Reject, type EventBase, EventReceiver, MemoryBroker, MemoryKeyValueStore, type TaskContext, Worker } from '../../src';
import { eventExchangeType, utcoffset } from '../../src/events/event-types';
import { exceptionRepr } from '../../src/events/worker-events';
import { memoryApp } from '../helpers/memory-app';
import { waitFor } from '../helpers/wait';

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

describe('Celery events (memory broker)', () => {
  let app: Celeriac;
  let worker: Worker | undefined;
  let receiver: EventReceiver | undefined;
  let events: EventBase[];
  afterEach(async () => {
    await worker?.close();
    await receiver?.close();
    worker = undefined;
    receiver = undefined;
    await app?.close();
  });

  async function listen(a: Celeriac = app): Promise<EventReceiver> {
    events = [];
    receiver = new EventReceiver(a);
    receiver.on('*', (e) => void events.push(e));
    await receiver.start();
    return receiver;
  }

  const ofType = (type: string): EventBase[] => events.filter((e) => e.type === type);

  it('a worker sends worker-online, heartbeats with Celery fields, and worker-offline', async () => {
    app = memoryApp();
    await listen();
    worker = new Worker(app, { hostname: 'w1@test', heartbeatInterval: 0.02 });
    await worker.start();
    await waitFor(() => ofType('worker-heartbeat').length >= 2, 5000, 'two heartbeats');
    await worker.close();
    await waitFor(() => ofType('worker-offline').length === 1, 5000, 'worker-offline');
    expect(events[0]).toMatchObject({ type: 'worker-online', hostname: 'w1@test' });
    const hb = ofType('worker-heartbeat')[0]!;
    expect(hb).toEqual({
      type: 'worker-heartbeat',
      hostname: 'w1@test',
      utcoffset: utcoffset(),
      pid: process.pid,
      clock: expect.any(Number),
      timestamp: expect.any(Number),
      localReceived: expect.any(Number),
      freq: 0.02,
      active: 0,
      processed: 0,
      loadavg: [expect.any(Number), expect.any(Number), expect.any(Number)],
      swIdent: 'celeriac',
      swVer: expect.any(String),
      swSys: expect.any(String),
    });
    expect(Math.abs(hb.timestamp - Date.now() / 1000)).toBeLessThan(5);
    // Lamport clock: increasing per sender
    const clocks = events.map((e) => e.clock);
    expect([...clocks].sort((a, b) => a - b)).toEqual(clocks);
  });

  it('sends no task events by default; with taskEvents, every task event in task.multi batches', async () => {
    app = memoryApp();
    const add = app.task('math.add', async (x: number, y: number) => x + y);
    const boom = app.task('t.boom', async () => {
      throw new RangeError('boom');
    });
    const flaky = app.task('t.flaky', async function (this: TaskContext) {
      if (this.request.retries === 0) this.retry({ countdown: 0, exc: new Error('again') });
      return 'ok';
    });
    await listen();
    const batches: unknown[] = [];
    await app.broker.declareQueue({ name: 'spy', exchange: EVENT_EXCHANGE, routingKey: 'task.#', exchangeType: 'fanout' });
    const spy = await app.broker.consume(['spy'], (d) => void batches.push({ key: d.info.routingKey, body: JSON.parse(d.message.body.toString()) as unknown, headers: d.message.headers }), { prefetch: 100 });
    try {
      worker = new Worker(app, { hostname: 'w1@test', heartbeat: false });
      await worker.start();
      await (await add.delay(1, 1)).get({ timeout: 5000 });
      await worker.close();
      expect(events.filter((e) => e.type.startsWith('task-'))).toEqual([]);

      worker = new Worker(app, { hostname: 'w1@test', heartbeat: false, taskEvents: true });
      await worker.start();
      const r = await add.delay(2, 3);
      await r.get({ timeout: 5000 });
      const f = await boom.delay();
      await f.get({ timeout: 5000 }).catch(() => undefined);
      const y = await flaky.delay();
      await y.get({ timeout: 5000 });
      const unknown = await app.sendTask('no.such.task');
      await waitFor(() => ofType('task-succeeded').length === 2 && ofType('task-failed').length === 2, 5000, 'the task events');
      const of = (id: string): string[] => events.filter((e) => e.uuid === id).map((e) => e.type);
      expect(of(r.id)).toEqual(['task-received', 'task-started', 'task-succeeded']);
      expect(of(f.id)).toEqual(['task-received', 'task-started', 'task-failed']);
      expect(of(y.id)).toEqual(['task-received', 'task-started', 'task-retried', 'task-received', 'task-started', 'task-succeeded']);
      expect(of(unknown.id)).toEqual(['task-failed']);
      const received = events.find((e) => e.uuid === r.id && e.type === 'task-received')!;
      expect(received).toMatchObject({ hostname: 'w1@test', name: 'math.add', args: '(2, 3)', kwargs: '{}', rootId: r.id, parentId: null, retries: 0, eta: null, expires: null });
      expect(events.find((e) => e.uuid === r.id && e.type === 'task-succeeded')).toMatchObject({ result: '5', runtime: expect.any(Number) });
      expect(events.find((e) => e.uuid === f.id && e.type === 'task-failed')).toMatchObject({ exception: "ValueError('boom')", traceback: expect.stringContaining('RangeError: boom') });
      expect(events.find((e) => e.uuid === y.id && e.type === 'task-retried')).toMatchObject({ exception: "Exception('again')" });
      const unknownFailed = events.find((e) => e.uuid === unknown.id)!;
      expect(unknownFailed.exception).toBe("NotRegistered('no.such.task')");
      expect('traceback' in unknownFailed).toBe(false);
      // On the wire: routing key task.multi, a JSON list of snake_case events, header hostname.
      const multi = batches as Array<{ key: string; body: unknown; headers: Record<string, unknown> }>;
      expect(multi.length).toBeGreaterThan(0);
      for (const b of multi) {
        expect(b.key).toBe('task.multi');
        expect(Array.isArray(b.body)).toBe(true);
        expect(b.headers).toEqual({ hostname: 'w1@test' });
      }
      expect((multi.flatMap((b) => b.body as Array<Record<string, unknown>>)).find((e) => e.uuid === r.id && e.type === 'task-received')).toMatchObject({ root_id: r.id, parent_id: null });
    } finally {
      await spy.cancel();
    }
  });

  it('task-revoked and task-rejected events', async () => {
    app = memoryApp();
    const rej = app.task('t.reject', async () => {
      throw new Reject('no thanks', false);
    });
    const quick = app.task('t.quick', async () => 1);
    await listen();
    worker = new Worker(app, { hostname: 'w1@test', heartbeat: false, taskEvents: true });
    await worker.start();
    const x = await rej.delay();
    const e = await quick.applyAsync([], { expires: new Date(Date.now() - 1000) });
    await waitFor(() => ofType('task-rejected').length === 1 && ofType('task-revoked').length === 1, 5000, 'the events');
    expect(ofType('task-rejected')[0]).toMatchObject({ uuid: x.id, requeue: false });
    expect(ofType('task-revoked')[0]).toMatchObject({ uuid: e.id, terminated: false, signum: null, expired: true });
  });

  it('enable_events / disable_events by remote control; heartbeat by remote control', async () => {
    app = memoryApp();
    const add = app.task('math.add', async (x: number, y: number) => x + y);
    await listen();
    worker = new Worker(app, { hostname: 'w1@test', heartbeatInterval: 3600 });
    await worker.start();
    // The receiver's wakeup (or this broadcast) makes the worker send a heartbeat now.
    await app.control.broadcast('heartbeat');
    await waitFor(() => ofType('worker-heartbeat').length >= 1, 5000, 'a heartbeat on request');
    await expect(app.control.broadcast('enable_events', { reply: true, destination: ['w1@test'] })).resolves.toEqual([{ 'w1@test': { ok: 'task events enabled' } }]);
    await expect(app.control.broadcast('enable_events', { reply: true, destination: ['w1@test'] })).resolves.toEqual([{ 'w1@test': { ok: 'task events already enabled' } }]);
    const r = await add.delay(1, 2);
    await r.get({ timeout: 5000 });
    await waitFor(() => ofType('task-succeeded').length === 1, 5000, 'task-succeeded');
    await expect(app.control.broadcast('disable_events', { reply: true, destination: ['w1@test'] })).resolves.toEqual([{ 'w1@test': { ok: 'task events disabled' } }]);
    const before = events.length;
    await (await add.delay(1, 3)).get({ timeout: 5000 });
    await app.control.broadcast('heartbeat');
    await waitFor(() => events.length > before, 5000, 'another heartbeat');
    expect(events.slice(before).map((e) => e.type)).toEqual(['worker-heartbeat']);
  });

  it('the client sends task-sent with taskSendSentEvent', async () => {
    app = memoryApp({ taskSendSentEvent: true });
    const add = app.task('math.add', async (x: number, y: number) => x + y);
    await listen();
    const eta = new Date(Date.now() + 60_000);
    const r = await add.applyAsync([2, 3], { eta });
    await waitFor(() => ofType('task-sent').length === 1, 5000, 'task-sent');
    expect(ofType('task-sent')[0]).toMatchObject({
      uuid: r.id,
      name: 'math.add',
      args: '(2, 3)',
      kwargs: '{}',
      rootId: r.id,
      parentId: null,
      retries: 0,
      eta: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/),
      expires: null,
      queue: 'celery',
      exchange: '',
      routingKey: 'celery',
    });
  });

  it('the receiver logs and skips what it cannot read; a throwing handler does not stop the others', async () => {
    app = memoryApp();
    await listen();
    const after: string[] = [];
    receiver!.on('worker-online', () => {
      throw new Error('handler broke');
    });
    receiver!.on('worker-online', (e) => void after.push(e.hostname));
    await app.broker.publish({ headers: {}, properties: {}, contentType: 'application/json', contentEncoding: 'utf-8', body: Buffer.from('not json') }, { exchange: EVENT_EXCHANGE, routingKey: 'x' });
    await app.broker.publish({ headers: {}, properties: {}, contentType: 'application/json', contentEncoding: 'utf-8', body: Buffer.from('{"no":"type"}') }, { exchange: EVENT_EXCHANGE, routingKey: 'x' });
    await app.broker.publish(
      { headers: {}, properties: {}, contentType: 'application/json', contentEncoding: 'utf-8', body: Buffer.from('{"type":"worker-online","hostname":"py@h","sw_ident":"py-celery","clock":7}') },
      { exchange: EVENT_EXCHANGE, routingKey: 'worker.online' },
    );
    await waitFor(() => after.length === 1, 5000, 'the good event');
    expect(events).toEqual([expect.objectContaining({ type: 'worker-online', hostname: 'py@h', swIdent: 'py-celery' })]);
    expect(receiver!.clock).toBe(7);
  });
});

describe('event helpers', () => {
  it('refuses a heartbeat interval that is not > 0', () => {
    const app = memoryApp();
    expect(() => new Worker(app, { heartbeatInterval: 0 })).toThrow('heartbeatInterval must be a number of seconds > 0, got 0.');
  });

  it('exchange type per broker: topic on AMQP, fanout on Redis and memory', () => {
    expect(eventExchangeType('amqp://guest@localhost//')).toBe('topic');
    expect(eventExchangeType('pyamqp://x')).toBe('topic');
    expect(eventExchangeType('redis://localhost:6379/0')).toBe('fanout');
    expect(eventExchangeType('memory://')).toBe('fanout');
  });

  it('utcoffset: hours west of UTC, floored', () => {
    const at = (minutesWest: number): Date => ({ getTimezoneOffset: () => minutesWest }) as Date;
    expect(utcoffset(at(-120))).toBe(-2);
    expect(utcoffset(at(300))).toBe(5);
    expect(utcoffset(at(-330))).toBe(-6); // UTC+5:30, floored as Python's //
  });

  it('exception repr as Python writes it', () => {
    expect(exceptionRepr(new Error("it's"))).toBe('Exception("it\'s")');
    expect(exceptionRepr(new TypeError('x'))).toBe("TypeError('x')");
  });
});
