#!/usr/bin/env node
/**
 * beat-db benchmark (issue 7): 100,000 enabled schedules in PostgreSQL, one DatabaseScheduler.
 *
 *   node bench/beat-db.mjs                     # after npm run build; npm run bench runs it as case `beatdb`
 *   BENCH_BEATDB_N=20000 BENCH_BEATDB_WINDOW_S=30 node bench/beat-db.mjs
 *
 * 1. A database of its own (cbench_beat_<run>) is created and migrated; N periodic tasks on one
 *    interval schedule (every BENCH_BEATDB_EVERY_S, default 600 s) are inserted with their last runs
 *    spread so that runs fall due evenly from 20 s after the start: N / every runs a second.
 *    next_run_at is left empty, so the scheduler first computes all N (the "initial sync").
 * 2. The scheduler runs in a child process (bench/beat-db-child.mjs), sending to Redis (DB 14).
 *    Dispatch lag = when the task was sent − its scheduled time, for every run in the window.
 * 3. Edit-to-effect: during the window, BENCH_BEATDB_EDITS raw-SQL edits move a task to a 5 s
 *    interval; measured from the UPDATE's commit until the scheduler has recomputed the row's
 *    next run (and reported when the task was then sent).
 * 4. Memory: the scheduler's RSS and heap after start, at peak and at the end of the window.
 * Targets: dispatch lag p99 <= 1 s; edits take effect within 5 s; memory bounded (no growth with N).
 * The database and the Redis queue are dropped at the end.
 */
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { intEnv } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);


export function beatDbConfig() {
  return {
    n: intEnv('BENCH_BEATDB_N', 100_000),
    everyS: intEnv('BENCH_BEATDB_EVERY_S', 600),
    windowS: intEnv('BENCH_BEATDB_WINDOW_S', 60),
    leadS: intEnv('BENCH_BEATDB_LEAD_S', 20),
    edits: intEnv('BENCH_BEATDB_EDITS', 20),
    pollInterval: Number(process.env.BENCH_BEATDB_POLL_S || 1),
    batchSize: intEnv('BENCH_BEATDB_BATCH', 500),
    adminUrl: process.env.BENCH_BEATDB_PG || 'postgres://postgres@127.0.0.1:5432/test',
    redisUrl: process.env.BENCH_BEATDB_REDIS || 'redis://127.0.0.1:6379/14',
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes) => (bytes / 1024 / 1024).toFixed(0);
const sec = (ms) => (ms === null || ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(3)} s`);

/** Runs the benchmark; resolves with its results (also printed as a markdown table). */
export async function runBeatDbBench(cfg = beatDbConfig()) {
  require('reflect-metadata');
  const { DataSource } = require('typeorm');
  const beatDb = require('../packages/beat-db/dist/index.js');
  const runId = `${Date.now().toString(36)}${process.pid}`;
  const dbName = `cbench_beat_${runId}`;
  const queue = `cbench-beat-${runId}`;
  const dbUrl = cfg.adminUrl.replace(/\/[^/]*$/, `/${dbName}`);
  const admin = new DataSource({ type: 'postgres', url: cfg.adminUrl });
  await admin.initialize();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const db = beatDb.createBeatDataSource({ url: dbUrl });
  let child;
  try {
    await db.initialize();
    await beatDb.runBeatMigrations(db);
    const [{ id: intervalId }] = await db.query(`INSERT INTO celeriac_beat_interval (every, period) VALUES ($1, 'seconds') RETURNING id`, [cfg.everyS]);
    const [{ id: fastId }] = await db.query(`INSERT INTO celeriac_beat_interval (every, period) VALUES (5, 'seconds') RETURNING id`);
    const t0 = Date.now();
    // Task g's first run is due at t0 + lead + g/N * every: runs arrive evenly, N/every a second.
    const loadStarted = Date.now();
    await db.query(
      `INSERT INTO celeriac_beat_periodic_task (name, task, interval_id, queue, last_run_at)
       SELECT 'bench-' || g, 'bench.noop', $1, $2, to_timestamp(($3::float8 + $4::float8 * g / $5 - $6::float8) / 1000)
       FROM generate_series(1, $5::int) AS g`,
      [intervalId, queue, t0 + cfg.leadS * 1000, cfg.everyS * 1000, cfg.n, cfg.everyS * 1000],
    );
    await db.query('ANALYZE celeriac_beat_periodic_task');
    const loadMs = Date.now() - loadStarted;
    console.log(`beat-db bench: ${cfg.n} schedules inserted in ${sec(loadMs)}; starting the scheduler`);

    const watch = Array.from({ length: cfg.edits }, (_, i) => `bench-${1 + Math.floor(((i + 0.5) * cfg.n) / cfg.edits)}`);
    const samples = [];
    let ready;
    const readyP = new Promise((r) => (ready = r));
    let result;
    const resultP = new Promise((r) => (result = r));
    child = fork(join(here, 'beat-db-child.mjs'), [JSON.stringify({ dbUrl, redisUrl: cfg.redisUrl, queue, pollInterval: cfg.pollInterval, batchSize: cfg.batchSize, maxSamples: cfg.n * 2, watch })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('message', (m) => {
      if (m?.type === 'ready') ready(m);
      else if (m?.type === 'sample') samples.push(m);
      else if (m?.type === 'result') result(m);
    });
    child.on('exit', (code) => {
      ready({ error: `scheduler child exited with ${code}` });
      result({ error: `scheduler child exited with ${code}` });
    });
    const started = Date.now();
    const atStart = await readyP;
    if (atStart.error) throw new Error(atStart.error);

    // Initial sync: until no enabled row waits for its next run time.
    let syncMs = null;
    while (Date.now() - started < 120_000) {
      const [{ n }] = await db.query('SELECT count(*)::int AS n FROM celeriac_beat_periodic_task WHERE enabled AND next_run_at IS NULL');
      if (n === 0) {
        syncMs = Date.now() - started;
        break;
      }
      await sleep(100);
    }
    console.log(`beat-db bench: initial sync of ${cfg.n} rows took ${sec(syncMs)}; measuring for ${cfg.windowS} s`);

    // Edits spread over the window, each timed from its commit until next_run_at is computed again.
    const windowEnd = Math.max(Date.now(), t0 + cfg.leadS * 1000) + cfg.windowS * 1000;
    const editLatencies = [];
    const editedAt = {};
    const gap = (cfg.windowS * 1000) / (cfg.edits + 1);
    for (const name of watch) {
      await sleep(gap);
      const committed = Date.now();
      editedAt[name] = committed;
      await db.query('UPDATE celeriac_beat_periodic_task SET interval_id = $1, last_run_at = NULL WHERE name = $2', [fastId, name]);
      for (;;) {
        const [row] = await db.query('SELECT next_run_at FROM celeriac_beat_periodic_task WHERE name = $1', [name]);
        if (row.next_run_at !== null) break;
        if (Date.now() - committed > 30_000) break;
        await sleep(20);
      }
      editLatencies.push(Date.now() - committed);
    }
    await sleep(Math.max(0, windowEnd - Date.now()));
    child.send({ type: 'stop' });
    const res = await resultP;
    if (res.error) throw new Error(res.error);
    editLatencies.sort((a, b) => a - b);
    const editEffect = Object.entries(res.sentAt).map(([name, at]) => at - editedAt[name]).filter((v) => v >= 0).sort((a, b) => a - b);
    const peakRss = Math.max(atStart.rss, ...samples.map((s) => s.rss), res.rss);
    const results = {
      n: cfg.n,
      ratePerS: cfg.n / cfg.everyS,
      loadMs,
      syncMs,
      sent: res.sent,
      lag: { p50: res.p50, p95: res.p95, p99: res.p99, max: res.max },
      edit: { p50: editLatencies[Math.floor(editLatencies.length / 2)] ?? null, p99: editLatencies[Math.min(editLatencies.length - 1, Math.floor(editLatencies.length * 0.99))] ?? null, max: editLatencies.at(-1) ?? null },
      editToSend: { count: editEffect.length, max: editEffect.at(-1) ?? null },
      memory: { startRss: atStart.rss, peakRss, endRss: res.rss, startHeap: atStart.heapUsed, endHeap: res.heapUsed },
    };
    return results;
  } finally {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (db.isInitialized) await db.destroy();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.destroy();
    const { Redis } = require('ioredis');
    const redis = new Redis(cfg.redisUrl);
    await redis.del(queue);
    await redis.quit();
  }
}

/** The results as markdown lines. */
export function beatDbReport(r, cfg) {
  const ok = (pass) => (pass ? '✓' : '✗');
  return [
    `### beat-db: ${r.n.toLocaleString('en')} enabled schedules in PostgreSQL, one DatabaseScheduler`,
    '',
    `Runs fall due at ${r.ratePerS.toFixed(0)}/s (every ${cfg.everyS} s each); poll ${cfg.pollInterval} s, batch ${cfg.batchSize}; broker Redis.`,
    '',
    '| measure | value | target |',
    '|---|---|---|',
    `| insert ${r.n.toLocaleString('en')} rows (one INSERT … SELECT) | ${sec(r.loadMs)} | |`,
    `| initial sync (next run of every row computed) | ${sec(r.syncMs)} | |`,
    `| runs sent in the window | ${r.sent.toLocaleString('en')} | |`,
    `| dispatch lag p50 / p95 / p99 / max | ${sec(r.lag.p50)} / ${sec(r.lag.p95)} / ${sec(r.lag.p99)} / ${sec(r.lag.max)} | p99 ≤ 1 s ${ok(r.lag.p99 !== null && r.lag.p99 <= 1000)} |`,
    `| edit-to-effect (raw SQL UPDATE → next run recomputed) p50 / p99 / max | ${sec(r.edit.p50)} / ${sec(r.edit.p99)} / ${sec(r.edit.max)} | ≤ 5 s ${ok(r.edit.max !== null && r.edit.max <= 5000)} |`,
    `| edited task then sent (of ${cfg.edits}), slowest after its edit | ${r.editToSend.count} , ${sec(r.editToSend.max)} | |`,
    `| scheduler RSS after start / peak / end | ${mb(r.memory.startRss)} / ${mb(r.memory.peakRss)} / ${mb(r.memory.endRss)} MB | bounded |`,
    `| scheduler heap after start / end | ${mb(r.memory.startHeap)} / ${mb(r.memory.endHeap)} MB | |`,
    '',
  ];
}

// Run alone: node bench/beat-db.mjs (run.mjs runs it as its `beatdb` case).
const isMain = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const cfg = beatDbConfig();
  console.log(`beat-db bench on ${os.cpus().length} × ${os.cpus()[0]?.model}, Node ${process.version}`);
  runBeatDbBench(cfg).then(
    (r) => {
      const lines = beatDbReport(r, cfg);
      console.log(lines.join('\n'));
      writeFileSync(join(here, 'results-beat-db.md'), lines.join('\n') + '\n');
    },
    (err) => {
      console.error('beat-db bench failed:', err);
      process.exit(1);
    },
  );
}
