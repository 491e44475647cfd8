/**
 * The scheduler side of the beat-db benchmark (bench/beat-db.mjs): one DatabaseScheduler on the
 * run's PostgreSQL database, sending to Redis, measuring each run's dispatch lag (sent − scheduled
 * time) and its own memory. Config as JSON in argv[2]; reports over IPC:
 * 'ready' after start; 'sample' every second ({ rss, heapUsed, sent }); 'result' after 'stop'.
 */
import { createRequire } from 'node:module';
import { childConfig, loadCeleriac, send } from './lib.mjs';

const require = createRequire(import.meta.url);
const cfg = childConfig();
const core = loadCeleriac();
require('reflect-metadata');
const beatDb = require('../packages/beat-db/dist/index.js');

const app = new core.Celeriac({
  brokerUrl: cfg.redisUrl,
  taskDefaultQueue: cfg.queue,
  taskIgnoreResult: true,
  logger: core.createLogger('warn'),
});
const dataSource = beatDb.createBeatDataSource({ url: cfg.dbUrl, poolSize: 10 });
await dataSource.initialize();
const scheduler = new beatDb.DatabaseScheduler(app, { dataSource, pollInterval: cfg.pollInterval, batchSize: cfg.batchSize, catchUpWindow: 3600, syncBeatSchedule: false });

// Lags in ms, in a fixed buffer: the measurement must not grow with the run.
const lags = new Float64Array(cfg.maxSamples);
let count = 0;
let sent = 0;
const sentAt = new Map(); // edited entry -> when it was sent (the parent asks)
scheduler.on('sent', ({ entry, runAt }) => {
  sent++;
  const lag = Date.now() - runAt.getTime();
  if (count < lags.length) lags[count++] = lag;
  if (cfg.watch.includes(entry) && !sentAt.has(entry)) sentAt.set(entry, Date.now()); // the first send after its edit
});
scheduler.on('error', (err) => console.error('beat-db bench scheduler error:', err));

const samples = setInterval(() => {
  const m = process.memoryUsage();
  void send({ type: 'sample', rss: m.rss, heapUsed: m.heapUsed, sent });
}, 1000);

process.on('message', async (m) => {
  if (m?.type !== 'stop') return;
  clearInterval(samples);
  await scheduler.close();
  await app.close();
  await dataSource.destroy();
  const sorted = Array.from(lags.subarray(0, count)).sort((a, b) => a - b);
  const pct = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : null);
  const m2 = process.memoryUsage();
  await send({ type: 'result', sent, measured: count, p50: pct(50), p95: pct(95), p99: pct(99), max: sorted.at(-1) ?? null, rss: m2.rss, heapUsed: m2.heapUsed, sentAt: Object.fromEntries(sentAt) });
  process.exit(0);
});

await scheduler.start();
const m = process.memoryUsage();
await send({ type: 'ready', rss: m.rss, heapUsed: m.heapUsed });
