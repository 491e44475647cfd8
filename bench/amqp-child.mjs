/**
 * The Node side of the amqp benchmark (bench/amqp.mjs), one role per process. Started by run.mjs's
 * runChild (child_process.fork); config as JSON in argv[2]; reports over IPC.
 *
 * Modes (every one connects to cfg.url, this run's vhost):
 * - raw-publish: raw amqplib ceiling (with `sequential`: each publish waits for its confirm; with
 *   `batch`: `batch` messages in flight, then wait for their confirms, like applyMany batches). A ConfirmChannel publishes `n` persistent messages that are
 *   exactly Celery task messages (body, headers and properties from core's encodeTaskMessage +
 *   the broker's publishOptions, built before the clock starts) through the default exchange with
 *   the queue's name as routing key, `mandatory`, as Celeriac sends them; honours 'drain'; timed until waitForConfirms() resolves.
 *   An untimed warm-up of `warmup` messages is purged first.
 * - raw-consume: raw amqplib ceiling. Channel with prefetch `prefetch`, consume with manual acks,
 *   one ack per message; timed from basic.consume until `n` messages were acked. With `ackPerTurn`:
 *   one basic.ack with `multiple` per event-loop turn (setImmediate) for everything received in it,
 *   which is how Celeriac's consumer acks (amqp-acks.ts): the broker's ceiling for that strategy.
 * - enqueue: Celeriac on amqp:// with publisher confirms (publish resolves on the broker's ack):
 *   `sequential` = await t.delay(i) n times, `batch` = t.applyMany in batches of `batch`; each kind
 *   to its own queue, after an untimed warm-up of the same kind.
 * - throughput: Celeriac worker, results ignored, queue pre-filled with `n` messages: timed from
 *   worker.start() until n tasks succeeded.
 * - serve: Celeriac worker with resultBackend rpc://; reports 'ready', runs until 'stop'.
 * - roundtrip: Celeriac client with resultBackend rpc://: `warmup` + `rt` sequential
 *   `await (await t.delay(i)).get()`.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { TASK_NAME, childConfig, loadCeleriac, makeAmqpApp, nowMs, rssSampler, send, withTimeout } from './lib.mjs';

const require = createRequire(import.meta.url);
const sampler = rssSampler(50);
const cfg = childConfig();

/** `count` Celery task messages for amqplib: [{ body, options }] exactly as Celeriac publishes them. */
function celeryMessages(core, count, start = 0) {
  const { publishOptions } = require('../packages/core/dist/brokers/amqp/amqp-publisher.js');
  const origin = `gen${process.pid}@bench`;
  const out = new Array(count);
  for (let k = 0; k < count; k++) {
    const id = randomUUID();
    const wire = core.encodeTaskMessage(core.createTaskMessage({ id, task: TASK_NAME, args: [start + k], origin, ignoreResult: true }));
    out[k] = { body: wire.body, options: publishOptions(wire, true) };
  }
  return out;
}

async function rawConnect() {
  const amqplib = require('amqplib');
  return amqplib.connect(cfg.url);
}

async function rawPublish(core) {
  const conn = await rawConnect();
  try {
    const ch = await conn.createConfirmChannel();
    const q = cfg.queue;
    await ch.assertExchange(q, 'direct', { durable: true, autoDelete: false });
    await ch.assertQueue(q, { durable: true, exclusive: false, autoDelete: false });
    await ch.bindQueue(q, q, q);
    // Published like Celery and Celeriac publish a task to its queue: default exchange, routing key = queue.
    let returned = 0;
    ch.on('return', () => returned++);
    const publishAll = async (msgs) => {
      if (cfg.sequential) {
        // One at a time: wait for each confirm (the raw counterpart of `await t.delay(i)`).
        for (const m of msgs) await new Promise((resolve, reject) => ch.publish('', q, m.body, m.options, (err) => (err ? reject(err) : resolve())));
        return;
      }
      // All in flight at once (or `batch` at a time, the raw counterpart of applyMany batches).
      const step = cfg.batch || msgs.length;
      for (let i = 0; i < msgs.length; i += step) {
        for (const m of msgs.slice(i, i + step)) {
          if (!ch.publish('', q, m.body, m.options)) await new Promise((r) => ch.once('drain', r));
        }
        await ch.waitForConfirms();
      }
    };
    if (cfg.warmup) {
      await publishAll(celeryMessages(core, cfg.warmup));
      await ch.purgeQueue(q);
    }
    const msgs = celeryMessages(core, cfg.n);
    const bytes = msgs[0].body.length;
    const t0 = nowMs();
    await publishAll(msgs);
    const elapsedMs = nowMs() - t0;
    const { messageCount } = await ch.checkQueue(q);
    if (returned) throw new Error(`${returned} messages returned unroutable`);
    await send({ type: 'result', sent: cfg.n, elapsedMs, rate: (cfg.n / elapsedMs) * 1000, queued: messageCount, bodyBytes: bytes, headerKeys: Object.keys(msgs[0].options.headers).length });
    await ch.close();
  } finally {
    await conn.close().catch(() => undefined);
  }
}

async function rawConsume() {
  const conn = await rawConnect();
  try {
    const ch = await conn.createChannel();
    await ch.prefetch(cfg.prefetch);
    const { messageCount } = await ch.checkQueue(cfg.queue);
    if (messageCount !== cfg.n) throw new Error(`raw-consume: queue holds ${messageCount} messages, expected ${cfg.n}`);
    let acked = 0;
    let done;
    const finished = new Promise((r) => (done = r));
    const t0 = nowMs();
    let last = null;
    const flush = () => {
      if (last) ch.ack(last, true);
      last = null;
    };
    await ch.consume(cfg.queue, (msg) => {
      if (!msg) return;
      if (!cfg.ackPerTurn) ch.ack(msg);
      else if (last === null) (last = msg), setImmediate(flush);
      else last = msg;
      if (++acked === cfg.n) done();
    }, { noAck: false });
    await finished;
    const elapsedMs = nowMs() - t0;
    flush(); // the last turn's ack now: its scheduled flush could come after ch.close()
    await send({ type: 'result', processed: acked, elapsedMs, rate: (acked / elapsedMs) * 1000, peakRss: sampler.stop() });
    await ch.close();
  } finally {
    await conn.close().catch(() => undefined);
  }
}

async function enqueue(core) {
  const out = {};
  for (const kind of cfg.kinds) {
    const { app, task } = makeAmqpApp(core, { url: cfg.url, queue: cfg.queues[kind] });
    try {
      await withTimeout(app.connect(), 10_000, 'connect');
      const run = async (count, base) => {
        if (kind === 'sequential') {
          for (let i = 0; i < count; i++) await task.delay(base + i);
        } else {
          for (let i = 0; i < count; i += cfg.batch) {
            const c = Math.min(cfg.batch, count - i);
            await task.applyMany(Array.from({ length: c }, (_, k) => [base + i + k]));
          }
        }
      };
      await run(kind === 'sequential' ? cfg.warmup : cfg.batch, 0);
      await app.broker.purge(cfg.queues[kind]);
      const count = kind === 'sequential' ? cfg.seqN : cfg.n;
      const t0 = nowMs();
      await withTimeout(run(count, 0), cfg.capMs, `enqueue ${kind}`);
      const elapsedMs = nowMs() - t0;
      const queued = await app.broker.queueLength(cfg.queues[kind]);
      if (queued !== count) throw new Error(`enqueue ${kind}: queue holds ${queued} messages after ${count} confirmed publishes`);
      out[kind] = { sent: count, elapsedMs, rate: (count / elapsedMs) * 1000 };
    } catch (err) {
      out[kind] = { error: String(err?.message ?? err) };
    } finally {
      await app.close().catch(() => undefined);
    }
  }
  await send({ type: 'result', enqueue: out });
}

async function worker(core) {
  const { app } = makeAmqpApp(core, { url: cfg.url, queue: cfg.queue, rpc: cfg.mode === 'serve' });
  let processed = 0;
  let failed = 0;
  let firstError;
  let onCount = () => {};
  const progress = setInterval(() => void send({ type: 'progress', processed, failed }), 1000);
  progress.unref();
  const w = new core.Worker(app, { queues: [cfg.queue], concurrency: cfg.concurrency, prefetchMultiplier: cfg.prefetchMultiplier });
  w.on('task-succeeded', () => (processed++, onCount()));
  w.on('task-failed', (e) => (failed++, (firstError ??= e.error), onCount()));
  w.on('error', (err) => (failed++, (firstError ??= err), onCount()));
  await withTimeout(app.connect(), 10_000, 'connect');
  const errText = () => (firstError ? String(firstError?.stack ?? firstError) : undefined);
  if (cfg.mode === 'throughput') {
    const done = new Promise((resolve) => (onCount = () => processed + failed >= cfg.n && resolve()));
    const t0 = nowMs();
    await w.start();
    await done;
    const elapsedMs = nowMs() - t0;
    const peakRss = sampler.stop();
    await send({ type: 'result', processed, failed, elapsedMs, rate: (processed / elapsedMs) * 1000, peakRss, firstError: errText() });
    await withTimeout(w.close(), 10_000, 'worker close').catch(() => undefined);
    await app.close().catch(() => undefined);
  } else {
    const stopped = new Promise((resolve) => process.on('message', (m) => m?.type === 'stop' && resolve()));
    await w.start();
    await send({ type: 'ready' });
    await stopped;
    const peakRss = sampler.stop();
    await withTimeout(w.close(), 10_000, 'worker close').catch(() => undefined);
    await app.close().catch(() => undefined);
    await send({ type: 'result', processed, failed, peakRss, firstError: errText() });
  }
}

async function roundtrip(core) {
  const { app, task } = makeAmqpApp(core, { url: cfg.url, queue: cfg.queue, rpc: true });
  await withTimeout(app.connect(), 10_000, 'connect');
  const opts = { timeout: cfg.timeoutMs };
  for (let i = 0; i < cfg.warmup; i++) {
    const v = await (await task.delay(i)).get(opts);
    if (v !== i) throw new Error(`round trip warm-up: got ${JSON.stringify(v)} for ${i}`);
  }
  const lat = new Float64Array(cfg.rt);
  const deadline = nowMs() + cfg.capMs;
  let done = 0;
  for (; done < cfg.rt && nowMs() < deadline; done++) {
    const t0 = nowMs();
    const v = await (await task.delay(done)).get(opts);
    lat[done] = nowMs() - t0;
    if (v !== done) throw new Error(`round trip: got ${JSON.stringify(v)} for ${done}`);
  }
  const s = Array.from(lat.subarray(0, done)).sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]; // as producer-child.mjs
  const peakRss = sampler.stop();
  await app.close().catch(() => undefined);
  await send({ type: 'result', roundtrip: { done, p50: q(0.5), p99: q(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length, max: s[s.length - 1] }, peakRss });
}

async function main() {
  const core = loadCeleriac();
  switch (cfg.mode) {
    case 'raw-publish': return rawPublish(core);
    case 'raw-consume': return rawConsume();
    case 'enqueue': return enqueue(core);
    case 'throughput':
    case 'serve': return worker(core);
    case 'roundtrip': return roundtrip(core);
    default: throw new Error(`unknown mode ${cfg.mode}`);
  }
}

main().then(
  () => process.exit(0),
  async (err) => {
    await send({ type: 'error', message: String(err?.stack ?? err) });
    process.exit(1);
  },
);
