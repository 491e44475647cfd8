/**
 * Shared helpers of the benchmark: how each library is set up (so the parent and the child
 * processes build exactly the same apps, queues and workers), RSS sampling and key cleanup.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Celeriac, from the built core package (run `npx tsc -b packages/core` first). */
export function loadCeleriac() {
  return require('../packages/core/dist/index.js');
}

export function loadBullmq() {
  return require('bullmq');
}

export function loadIoredis() {
  return require('ioredis');
}

/** A positive integer from the environment, else `def`; throws naming the variable when malformed. */
export function intEnv(name, def) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return v;
}

export const TASK_NAME = 'bench.noop';
export const JOB_NAME = 'noop';

/** Redis server base URL (no db); Celeriac uses DB 14, BullMQ DB 15. */
export function redisBase() {
  return (process.env.BENCH_REDIS ?? 'redis://127.0.0.1:6379').replace(/\/+$/, '');
}
export const CELERIAC_DB = 14;
export const BULLMQ_DB = 15;

export function celeriacUrl() {
  return `${redisBase()}/${CELERIAC_DB}`;
}

/** ioredis connection options for BullMQ (DB 15). */
export function bullConnection(extra = {}) {
  const u = new URL(redisBase());
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 6379),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    db: BULLMQ_DB,
    ...extra,
  };
}

/**
 * A Celeriac app on its own key prefix (broker and results), silent logging.
 * `results`: true = Redis result backend, results stored; false = taskIgnoreResult, no backend.
 * `extra`: more settings, applied last.
 */
export function makeCeleriacApp(core, { prefix, results, extra = {} }) {
  const url = celeriacUrl();
  const app = new core.Celeriac({
    brokerUrl: url,
    brokerTransportOptions: { globalKeyprefix: prefix },
    ...(results ? { resultBackend: url, resultBackendTransportOptions: { globalKeyprefix: prefix } } : {}),
    taskIgnoreResult: !results,
    workerLogLevel: 'silent',
    logger: core.createLogger('silent'),
    ...extra,
  });
  // The no-op task: returns its argument (stored when results are on).
  const task = app.task(TASK_NAME, (i) => i);
  return { app, task };
}

/**
 * A Celeriac app on RabbitMQ whose default queue (and its direct exchange) is `queue`, with the no-op
 * task; results over rpc:// when `rpc`, else ignored. `extra`: more settings, applied last.
 */
export function makeAmqpApp(core, { url, queue, rpc, extra = {} }) {
  const app = new core.Celeriac({
    brokerUrl: url,
    taskDefaultQueue: queue,
    taskDefaultExchange: queue,
    taskDefaultRoutingKey: queue, // as Celery derives both from task_default_queue
    ...(rpc ? { resultBackend: 'rpc://' } : {}),
    taskIgnoreResult: !rpc,
    workerLogLevel: 'silent',
    logger: core.createLogger('silent'),
    ...extra,
  });
  const task = app.task(TASK_NAME, (i) => i);
  return { app, task };
}

/** Samples process RSS every `ms` and keeps the peak. */
export function rssSampler(ms = 50) {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
  }, ms);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      const rss = process.memoryUsage.rss();
      if (rss > peak) peak = rss;
      return peak;
    },
    get peak() {
      return peak;
    },
  };
}

/** Nanosecond clock as milliseconds (float). */
export function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Rejects after `ms` (and clears its timer when `promise` settles first). */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what} timed out after ${ms} ms`), { code: 'BENCH_TIMEOUT' })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Deletes every key matching `pattern` (SCAN + UNLINK) on an ioredis client. Only ever called with
 * this run's unique prefixes.
 */
export async function deleteByPattern(redis, pattern) {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** Sends an IPC message and waits until it is handed to the OS. */
export function send(msg) {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(msg, () => resolve());
  });
}

/** Reads the child's JSON config from argv[2]. */
export function childConfig() {
  return JSON.parse(process.argv[2] ?? '{}');
}
