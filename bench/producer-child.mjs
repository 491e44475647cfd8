/**
 * The producer side in its own process (fresh heap, one library loaded). Config as JSON in argv[2].
 *
 * Modes:
 * - enqueue: for each of sequential / concurrent / batch, on its own queue: a short untimed warm-up of
 *   the same kind, then `n` messages timed. Each mode stops at `capMs` and reports "timed out".
 * - roundtrip: a worker runs in another child (worker-child.mjs, serve mode); `warmup` untimed then
 *   `rt` timed sequential send-and-wait-for-result iterations; reports p50/p99/mean/max in ms.
 */
import { bullConnection, childConfig, JOB_NAME, loadBullmq, loadCeleriac, makeCeleriacApp, nowMs, rssSampler, send, withTimeout } from './lib.mjs';

const sampler = rssSampler(50);
const cfg = childConfig();

/** Producer handle of one library on one queue: { one(i), many(list), close() }. */
async function producer(target, { results = false } = {}) {
  if (cfg.lib === 'celeriac') {
    const core = loadCeleriac();
    const { app, task } = makeCeleriacApp(core, { prefix: target.prefix, results });
    await app.connect();
    return {
      one: (i) => task.delay(i),
      many: (list) => task.applyMany(list.map((i) => [i])),
      roundTrip: async (i) => (await task.delay(i)).get({ timeout: cfg.timeoutMs }),
      close: () => app.close(),
    };
  }
  const { Queue, QueueEvents } = loadBullmq();
  // Queue: BullMQ's default connection settings for producers (fail fast). QueueEvents (blocking
  // XREAD) gets its own connection with maxRetriesPerRequest: null.
  const queue = new Queue(target.queueName, { connection: bullConnection() });
  await queue.waitUntilReady();
  let events;
  if (results) {
    events = new QueueEvents(target.queueName, { connection: bullConnection({ maxRetriesPerRequest: null }) });
    await events.waitUntilReady();
  }
  return {
    one: (i) => queue.add(JOB_NAME, { i }),
    many: (list) => queue.addBulk(list.map((i) => ({ name: JOB_NAME, data: { i } }))),
    roundTrip: async (i) => (await queue.add(JOB_NAME, { i })).waitUntilFinished(events, cfg.timeoutMs),
    close: async () => {
      await events?.close();
      await queue.close();
    },
  };
}

function range(from, count) {
  return Array.from({ length: count }, (_, k) => from + k);
}

/** Runs `n` operations of one enqueue kind; stops early at the deadline. */
async function enqueueKind(p, kind, n, deadline) {
  let sent = 0;
  if (kind === 'sequential') {
    while (sent < n && nowMs() < deadline) {
      await p.one(sent);
      sent++;
    }
  } else if (kind === 'concurrent') {
    while (sent < n && nowMs() < deadline) {
      const count = Math.min(cfg.window, n - sent);
      await Promise.all(range(sent, count).map((i) => p.one(i)));
      sent += count;
    }
  } else if (kind === 'batch') {
    while (sent < n && nowMs() < deadline) {
      const count = Math.min(cfg.batch, n - sent);
      await p.many(range(sent, count));
      sent += count;
    }
  } else throw new Error(`unknown enqueue kind ${kind}`);
  return sent;
}

async function enqueue() {
  const out = {};
  for (const kind of cfg.kinds) {
    const p = await withTimeout(producer(cfg.targets[kind]), 10_000, 'producer connect');
    try {
      const warm = kind === 'sequential' ? cfg.warmup : kind === 'concurrent' ? cfg.window : cfg.batch;
      await enqueueKind(p, kind, warm, nowMs() + cfg.capMs);
      const t0 = nowMs();
      const sent = await enqueueKind(p, kind, cfg.n, t0 + cfg.capMs);
      const elapsedMs = nowMs() - t0;
      out[kind] = { sent, elapsedMs, rate: (sent / elapsedMs) * 1000, timedOut: sent < cfg.n };
    } finally {
      await p.close();
    }
    await send({ type: 'progress', kind, ...out[kind] });
  }
  return { enqueue: out };
}

function percentile(sorted, q) {
  if (!sorted.length) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx];
}

async function roundtrip() {
  const p = await withTimeout(producer(cfg.target, { results: true }), 10_000, 'producer connect');
  try {
    const deadline = nowMs() + cfg.capMs;
    for (let i = 0; i < cfg.warmup && nowMs() < deadline; i++) {
      const v = await p.roundTrip(i);
      if (v !== i) throw new Error(`round trip returned ${JSON.stringify(v)}, expected ${i}`);
    }
    const lat = new Float64Array(cfg.rt);
    let done = 0;
    while (done < cfg.rt && nowMs() < deadline) {
      const t0 = process.hrtime.bigint();
      await p.roundTrip(done);
      lat[done++] = Number(process.hrtime.bigint() - t0) / 1e6;
    }
    const sorted = Array.from(lat.subarray(0, done)).sort((a, b) => a - b);
    const mean = sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1);
    return { roundtrip: { done, timedOut: done < cfg.rt, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), mean, max: sorted[sorted.length - 1] } };
  } finally {
    await p.close();
  }
}

async function main() {
  const result = cfg.mode === 'enqueue' ? await enqueue() : cfg.mode === 'roundtrip' ? await roundtrip() : null;
  if (!result) throw new Error(`unknown mode ${cfg.mode}`);
  await send({ type: 'result', ...result, peakRss: sampler.stop() });
}

main().then(
  () => process.exit(0),
  async (err) => {
    await send({ type: 'error', message: String(err?.stack ?? err) });
    process.exit(1);
  },
);
