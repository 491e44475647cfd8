#!/usr/bin/env node
/**
 * Celeriac vs BullMQ benchmark: enqueue rates, worker throughput, round-trip latency and worker
 * memory, both libraries in the same run against the same local Redis. See bench/README.md.
 *
 *   npm run bench                       # build, then everything
 *   BENCH_N=5000 BENCH_ONLY=celeriac BENCH_CASES=throughput node bench/run.mjs
 *
 * Prints machine info and a markdown table (also written to bench/results.md). Exit 0 when every
 * phase ran (targets missed or not: it is a report), 1 when a phase failed with an error.
 */
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BULLMQ_DB, CELERIAC_DB, JOB_NAME, bullConnection, celeriacUrl, deleteByPattern, intEnv, loadBullmq, loadCeleriac, loadIoredis, makeCeleriacApp, nowMs, redisBase, withTimeout,
} from './lib.mjs';
import { canvasConfig, canvasFinalCleanup, canvasReport, phaseCanvas } from './canvas.mjs';
import { amqpConfig, amqpFinalCleanup, amqpReport, phaseAmqp } from './amqp.mjs';
import { beatDbConfig, beatDbReport, runBeatDbBench } from './beat-db.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------------------------
// Configuration

function listEnv(name, allowed) {
  const raw = process.env[name];
  if (!raw) return [...allowed];
  const list = raw.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const v of list) if (!allowed.includes(v)) throw new Error(`${name}: unknown value "${v}" (allowed: ${allowed.join(', ')})`);
  return list;
}

const LIBS = ['celeriac', 'bullmq'];
const TP_CASES = ['c1-ignored', 'c1-stored', 'c100-ignored', 'c100-stored'];
const cfg = {
  n: intEnv('BENCH_N', 20_000),
  rt: intEnv('BENCH_RT', 2_000),
  rtWarmup: intEnv('BENCH_RT_WARMUP', 200),
  rtConcurrency: intEnv('BENCH_RT_CONCURRENCY', 10),
  repeat: intEnv('BENCH_REPEAT', 2),
  window: intEnv('BENCH_WINDOW', 1_000),
  batch: intEnv('BENCH_BATCH', 1_000),
  enqueueWarmup: intEnv('BENCH_ENQUEUE_WARMUP', 500),
  prefetchMultiplier: intEnv('BENCH_PREFETCH', 4),
  budgetMs: intEnv('BENCH_BUDGET_S', 300) * 1000,
  enqueueCapMs: intEnv('BENCH_ENQUEUE_CAP_S', 30) * 1000,
  throughputCapMs: intEnv('BENCH_THROUGHPUT_CAP_S', 45) * 1000,
  roundtripCapMs: intEnv('BENCH_ROUNDTRIP_CAP_S', 45) * 1000,
  libs: listEnv('BENCH_ONLY', [...LIBS, 'celery']).filter((l) => LIBS.includes(l)),
  pyCelery: listEnv('BENCH_ONLY', [...LIBS, 'celery']).includes('celery'),
  cases: listEnv('BENCH_CASES', ['enqueue', 'throughput', 'roundtrip', 'canvas', 'amqp', 'beatdb']),
  tpCases: listEnv('BENCH_THROUGHPUT', TP_CASES),
  cpuProfDir: process.env.BENCH_CPU_PROF || '',
};
cfg.canvas = canvasConfig(intEnv, cfg.repeat, cfg.prefetchMultiplier);
let canvasResults;
cfg.amqp = amqpConfig(intEnv, cfg);
// The amqp case takes about 2.5 min more: it gets its own share of the default budget.
if (cfg.cases.includes('amqp') && !process.env.BENCH_BUDGET_S) cfg.budgetMs += 180_000;
let amqpResults;
cfg.beatDb = beatDbConfig();
// The beatdb case (100k schedules in PostgreSQL) takes about 2 min: its own share of the budget.
if (cfg.cases.includes('beatdb') && !process.env.BENCH_BUDGET_S) cfg.budgetMs += 150_000;
let beatDbResults;

const runId = `${Date.now().toString(36)}-${process.pid}`;
/** Every Celeriac key of this run starts with this (DB 14); every BullMQ queue name too (DB 15). */
const celeriacRunPrefix = `cbench-${runId}-`;
const bullRunPrefix = `bbench-${runId}-`;
const startedAt = nowMs();
const errors = [];
const children = new Set();
const bullQueuesCreated = new Set();

function remainingMs() {
  return cfg.budgetMs - (nowMs() - startedAt);
}
/** A phase's cap: its own cap, cut to what is left of the whole run's budget (minus cleanup time). */
function capFor(phaseCapMs) {
  return Math.min(phaseCapMs, remainingMs() - 15_000);
}
function log(...args) {
  process.stderr.write(`[bench ${((nowMs() - startedAt) / 1000).toFixed(1).padStart(5)}s] ${args.join(' ')}\n`);
}

// ---------------------------------------------------------------------------------------------
// Child processes

/**
 * Forks a child script with a JSON config; resolves with its 'result' message, or
 * { timedOut: true, progress } when it does not finish within `capMs` (then it is killed), or
 * { error } when it fails.
 */
function runChild(script, childCfg, { capMs, execArgv = [], onReady } = {}) {
  return new Promise((resolve) => {
    const child = fork(join(here, script), [JSON.stringify(childCfg)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
    children.add(child);
    let result;
    let error;
    let progress;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, capMs);
    child.on('message', (m) => {
      if (m?.type === 'result') result = m;
      else if (m?.type === 'error') error = m.message;
      else if (m?.type === 'progress') progress = m;
      else if (m?.type === 'ready') onReady?.(child);
    });
    child.on('error', (err) => (error ??= String(err?.stack ?? err)));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      if (result) resolve(result);
      else if (timedOut) resolve({ timedOut: true, progress });
      else resolve({ error: error ?? `child ${script} exited with ${signal ?? code} without a result` });
    });
  });
}

function profArgv(name) {
  if (!cfg.cpuProfDir) return [];
  return ['--cpu-prof', `--cpu-prof-dir=${cfg.cpuProfDir}`, `--cpu-prof-name=${name}-${runId}.cpuprofile`];
}

// ---------------------------------------------------------------------------------------------
// Redis plumbing (parent only: info, prefill, cleanup)

let celeriacCore;
let bullmq;
const redisClients = {};

function redisClient(db) {
  if (!redisClients[db]) {
    const { Redis } = loadIoredis();
    redisClients[db] = new Redis(`${redisBase()}/${db}`, { lazyConnect: true, maxRetriesPerRequest: 1 });
  }
  return redisClients[db];
}

async function redisInfo() {
  const r = redisClient(CELERIAC_DB);
  await withTimeout(r.connect(), 5_000, 'Redis connect');
  const info = await r.info('server');
  const field = (k) => info.match(new RegExp(`^${k}:(.*)$`, 'm'))?.[1]?.trim();
  return { version: field('redis_version'), mode: field('redis_mode'), os: field('os') };
}

function celeriacPrefix(phase) {
  return `${celeriacRunPrefix}${phase}:`;
}
function bullQueueName(phase) {
  const name = `${bullRunPrefix}${phase}`;
  bullQueuesCreated.add(name);
  return name;
}

async function cleanupCeleriac(phase) {
  return deleteByPattern(redisClient(CELERIAC_DB), phase ? `${celeriacPrefix(phase)}*` : `${celeriacRunPrefix}*`);
}

async function cleanupBull(names) {
  const { Queue } = (bullmq ??= loadBullmq());
  for (const name of names) {
    const q = new Queue(name, { connection: bullConnection() });
    try {
      await withTimeout(q.obliterate({ force: true }), 30_000, `obliterate ${name}`);
    } finally {
      await q.close();
    }
    bullQueuesCreated.delete(name);
  }
}

/** Fills a queue with `n` no-op messages through the batch API (untimed). */
async function prefill(lib, phase, results) {
  if (lib === 'celeriac') {
    celeriacCore ??= loadCeleriac();
    const prefix = celeriacPrefix(phase);
    const { app, task } = makeCeleriacApp(celeriacCore, { prefix, results });
    try {
      for (let i = 0; i < cfg.n; i += cfg.batch) {
        const count = Math.min(cfg.batch, cfg.n - i);
        await task.applyMany(Array.from({ length: count }, (_, k) => [i + k]));
      }
      const len = await app.broker.queueLength('celery');
      if (len !== cfg.n) throw new Error(`prefill: queue holds ${len} messages, expected ${cfg.n}`);
    } finally {
      await app.close();
    }
    return { prefix };
  }
  bullmq ??= loadBullmq();
  const queueName = bullQueueName(phase);
  const q = new bullmq.Queue(queueName, { connection: bullConnection() });
  try {
    for (let i = 0; i < cfg.n; i += cfg.batch) {
      const count = Math.min(cfg.batch, cfg.n - i);
      await q.addBulk(Array.from({ length: count }, (_, k) => ({ name: JOB_NAME, data: { i: i + k } })));
    }
    const len = await q.getWaitingCount();
    if (len !== cfg.n) throw new Error(`prefill: queue holds ${len} jobs, expected ${cfg.n}`);
  } finally {
    await q.close();
  }
  return { queueName };
}

async function cleanupPhase(lib, phase) {
  try {
    if (lib === 'celeriac') await cleanupCeleriac(phase);
    else await cleanupBull([`${bullRunPrefix}${phase}`]);
  } catch (err) {
    errors.push(`cleanup ${lib} ${phase}: ${err?.message ?? err}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Phases

const results = Object.fromEntries(LIBS.map((l) => [l, { enqueue: {}, throughput: {}, roundtrip: undefined }]));

async function phaseEnqueue(lib) {
  const kinds = ['sequential', 'concurrent', 'batch'];
  const targets = Object.fromEntries(kinds.map((k) => [k, lib === 'celeriac' ? { prefix: celeriacPrefix(`enq-${k}`) } : { queueName: bullQueueName(`enq-${k}`) }]));
  const capMs = capFor(cfg.enqueueCapMs);
  if (capMs < 2_000) return kinds.forEach((k) => (results[lib].enqueue[k] = { skipped: true }));
  log(`${lib}: enqueue ${cfg.n} × (sequential, concurrent window ${cfg.window}, batch ${cfg.batch})`);
  const res = await runChild('producer-child.mjs', { lib, mode: 'enqueue', kinds, targets, n: cfg.n, window: cfg.window, batch: cfg.batch, warmup: cfg.enqueueWarmup, capMs }, { capMs: capMs * kinds.length + 30_000, execArgv: profArgv(`${lib}-enqueue`) });
  for (const k of kinds) {
    if (res.enqueue?.[k]) results[lib].enqueue[k] = res.enqueue[k];
    else if (res.error) results[lib].enqueue[k] = { error: res.error };
    else results[lib].enqueue[k] = { timedOut: true };
  }
  if (res.error) errors.push(`${lib} enqueue: ${res.error}`);
  for (const k of kinds) await cleanupPhase(lib, `enq-${k}`);
}

async function phaseThroughput(lib, tpCase, rep) {
  const [, conc, mode] = tpCase.match(/^c(\d+)-(ignored|stored)$/);
  const concurrency = Number(conc);
  const stored = mode === 'stored';
  const phase = `tp-${tpCase}`;
  const capMs = capFor(cfg.throughputCapMs);
  if (capMs < 2_000) return void (results[lib].throughput[tpCase] ??= { skipped: true });
  const keep = (res) => {
    // Best rate of the repeats; peak RSS is the highest seen in any repeat.
    const prev = results[lib].throughput[tpCase];
    const runs = [...(prev?.runs ?? []), res.rate !== undefined && !res.failed ? res.rate : null];
    const peakRssMax = Math.max(prev?.peakRssMax ?? 0, res.peakRss ?? 0) || undefined;
    const readyRssMax = Math.max(prev?.readyRssMax ?? 0, res.readyRss ?? 0) || undefined;
    const better = !prev || prev.rate === undefined || prev.failed || (res.rate !== undefined && !res.failed && res.rate > prev.rate);
    results[lib].throughput[tpCase] = { ...(better ? res : prev), runs, peakRssMax, readyRssMax };
  };
  try {
    const target = await withTimeout(prefill(lib, phase, stored), 60_000, `${lib} prefill ${tpCase}`);
    log(`${lib}: throughput ${tpCase} (N=${cfg.n}, concurrency ${concurrency}, results ${mode})${cfg.repeat > 1 ? `, run ${rep + 1}/${cfg.repeat}` : ''}`);
    const res = await runChild(
      'worker-child.mjs',
      { lib, mode: 'throughput', concurrency, results: stored, n: cfg.n, prefetchMultiplier: cfg.prefetchMultiplier, ...target },
      { capMs, execArgv: profArgv(`${lib}-${tpCase}${rep ? `-r${rep + 1}` : ''}`) },
    );
    if (res.error) errors.push(`${lib} throughput ${tpCase}: ${res.error}`);
    if (res.failed) errors.push(`${lib} throughput ${tpCase}: ${res.failed} tasks failed, first: ${res.firstError}`);
    keep(res);
  } catch (err) {
    errors.push(`${lib} throughput ${tpCase}: ${err?.stack ?? err}`);
    keep({ error: String(err?.message ?? err) });
  } finally {
    await cleanupPhase(lib, phase);
  }
}

async function phaseRoundtrip(lib) {
  const phase = 'rt';
  const capMs = capFor(cfg.roundtripCapMs);
  if (capMs < 2_000) return void (results[lib].roundtrip = { skipped: true });
  const target = lib === 'celeriac' ? { prefix: celeriacPrefix(phase) } : { queueName: bullQueueName(phase) };
  log(`${lib}: round trip, ${cfg.rtWarmup} warm-up + ${cfg.rt} timed (worker child, concurrency ${cfg.rtConcurrency})`);
  let ready;
  const readyP = new Promise((r) => (ready = r));
  const workerP = runChild('worker-child.mjs', { lib, mode: 'serve', concurrency: cfg.rtConcurrency, results: true, prefetchMultiplier: cfg.prefetchMultiplier, ...target }, { capMs: capMs + 30_000, onReady: ready, execArgv: profArgv(`${lib}-rt-worker`) });
  try {
    const worker = await Promise.race([readyP, workerP.then((r) => Promise.reject(new Error(`worker child ended before ready: ${r.error ?? 'timed out'}`)))]);
    const res = await runChild('producer-child.mjs', { lib, mode: 'roundtrip', rt: cfg.rt, warmup: cfg.rtWarmup, timeoutMs: 5_000, capMs, target }, { capMs: capMs + 20_000, execArgv: profArgv(`${lib}-rt-producer`) });
    if (res.error) errors.push(`${lib} round trip: ${res.error}`);
    worker.send({ type: 'stop' });
    const w = await workerP;
    if (w.error) errors.push(`${lib} round-trip worker: ${w.error}`);
    results[lib].roundtrip = res.error ? { error: res.error } : res.timedOut ? { timedOut: true } : { ...res.roundtrip, producerPeakRss: res.peakRss, workerPeakRss: w.peakRss, workerProcessed: w.processed };
  } catch (err) {
    errors.push(`${lib} round trip: ${err?.stack ?? err}`);
    results[lib].roundtrip = { error: String(err?.message ?? err) };
    for (const c of children) c.kill('SIGKILL');
    await workerP;
  } finally {
    await cleanupPhase(lib, phase);
  }
}

// ---------------------------------------------------------------------------------------------
// Report

const MB = 1024 * 1024;
const nf = (v, d = 0) => v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

/** A measured value or why there is none: { value } | { note }. */
function pick(entry, key) {
  if (entry === undefined) return { note: 'not run' };
  if (entry.skipped) return { note: 'skipped (time budget)' };
  if (entry.error) return { note: 'error' };
  if (entry.failed) return { note: `error (${nf(entry.failed)} failed)` };
  if (entry.timedOut) {
    const p = entry.progress;
    return { note: p?.processed !== undefined ? `timed out (${nf(p.processed)}/${nf(cfg.n)})` : entry.sent !== undefined ? `timed out (${nf(entry.sent)}/${nf(cfg.n)} = ${nf(entry.rate)}/s)` : 'timed out' };
  }
  const v = typeof key === 'function' ? key(entry) : entry[key];
  return typeof v === 'number' && Number.isFinite(v) ? { value: v } : { note: 'n/a' };
}

function buildRows() {
  const C = results.celeriac;
  const B = results.bullmq;
  const rate = (v) => `${nf(v)}/s`;
  const ms = (v) => `${nf(v, 3)} ms`;
  const mb = (v) => `${nf(v / MB, 1)} MB`;
  const bestBull = (() => {
    const vals = ['sequential', 'concurrent', 'batch'].map((k) => pick(B.enqueue[k], 'rate')).filter((x) => x.value !== undefined);
    if (!vals.length) return { note: pick(B.enqueue.sequential, 'rate').note ?? 'n/a' };
    const best = Math.max(...vals.map((x) => x.value));
    return { value: best };
  })();
  const rows = [
    { metric: 'Enqueue, sequential awaited (msg/s)', c: pick(C.enqueue.sequential, 'rate'), b: pick(B.enqueue.sequential, 'rate'), fmt: rate, higher: true, target: { ratio: 2 } },
    { metric: `Enqueue, concurrent (Promise.all × ${cfg.window}) (msg/s)`, c: pick(C.enqueue.concurrent, 'rate'), b: pick(B.enqueue.concurrent, 'rate'), fmt: rate, higher: true },
    { metric: `Enqueue, batch (applyMany / addBulk × ${cfg.batch}) (msg/s)`, c: pick(C.enqueue.batch, 'rate'), b: pick(B.enqueue.batch, 'rate'), fmt: rate, higher: true },
    { metric: "Batched enqueue vs BullMQ's best enqueue (msg/s)", c: pick(C.enqueue.batch, 'rate'), b: bestBull, fmt: rate, higher: true, target: { ratio: 3 } },
    { metric: 'Throughput c=1, results ignored (tasks/s)', c: pick(C.throughput['c1-ignored'], 'rate'), b: pick(B.throughput['c1-ignored'], 'rate'), fmt: rate, higher: true },
    { metric: 'Throughput c=1, results stored (tasks/s)', c: pick(C.throughput['c1-stored'], 'rate'), b: pick(B.throughput['c1-stored'], 'rate'), fmt: rate, higher: true },
    { metric: 'Throughput c=100, results ignored (tasks/s)', c: pick(C.throughput['c100-ignored'], 'rate'), b: pick(B.throughput['c100-ignored'], 'rate'), fmt: rate, higher: true, target: { ratio: 3 } },
    { metric: 'Throughput c=100, results stored (tasks/s)', c: pick(C.throughput['c100-stored'], 'rate'), b: pick(B.throughput['c100-stored'], 'rate'), fmt: rate, higher: true, target: { ratio: 2 } },
    { metric: 'Round trip delay→get p50', c: pick(C.roundtrip, 'p50'), b: pick(B.roundtrip, 'p50'), fmt: ms, higher: false, target: { max: 0.6, unit: 'ms' } },
    { metric: 'Round trip delay→get p99', c: pick(C.roundtrip, 'p99'), b: pick(B.roundtrip, 'p99'), fmt: ms, higher: false, target: { max: 2.5, unit: 'ms' } },
    { metric: 'Round trip delay→get mean', c: pick(C.roundtrip, 'mean'), b: pick(B.roundtrip, 'mean'), fmt: ms, higher: false },
    { metric: 'Worker peak RSS (c=100, results stored)', c: pick(C.throughput['c100-stored'], 'peakRssMax'), b: pick(B.throughput['c100-stored'], 'peakRssMax'), fmt: mb, higher: false, target: { max: 70 * MB, unit: 'MB' } },
    { metric: 'Worker RSS connected, before any task (same process)', c: pick(C.throughput['c100-stored'], 'readyRssMax'), b: pick(B.throughput['c100-stored'], 'readyRssMax'), fmt: mb, higher: false },
  ];
  return rows.map((r) => {
    const cell = (x) => (x.value !== undefined ? r.fmt(x.value) : x.note);
    const ratio = r.c.value !== undefined && r.b.value !== undefined && r.c.value > 0 && r.b.value > 0 ? (r.higher ? r.c.value / r.b.value : r.b.value / r.c.value) : undefined;
    let target = '—';
    let ok = '';
    if (r.target?.ratio) {
      target = `≥ ${r.target.ratio}× BullMQ`;
      ok = ratio === undefined ? '?' : ratio >= r.target.ratio ? '✓' : '✗';
    } else if (r.target?.max !== undefined) {
      target = `≤ ${r.target.unit === 'MB' ? nf(r.target.max / MB) : r.target.max} ${r.target.unit}`;
      ok = r.c.value === undefined ? '?' : r.c.value <= r.target.max ? '✓' : '✗';
    }
    return [r.metric, cell(r.c), cell(r.b), ratio === undefined ? '—' : `${nf(ratio, 2)}×`, target, ok];
  });
}

function detailRows() {
  const rows = [];
  for (const lib of cfg.libs) {
    const R = results[lib];
    for (const [k, e] of Object.entries(R.enqueue)) {
      if (e?.rate !== undefined) rows.push([lib, `enqueue ${k}`, `${nf(e.sent)} msgs in ${nf(e.elapsedMs, 0)} ms`, '']);
    }
    for (const [k, e] of Object.entries(R.throughput)) {
      const runs = e?.runs?.length > 1 ? ` (runs: ${e.runs.map((r) => (r === null ? 'failed' : `${nf(r)}/s`)).join(', ')})` : '';
      if (e?.rate !== undefined) rows.push([lib, `throughput ${k}`, `best: ${nf(e.processed)} tasks in ${nf(e.elapsedMs, 0)} ms${e.failed ? `, ${e.failed} failed` : ''}${runs}`, `peak RSS ${nf(e.peakRssMax / MB, 1)} MB (max of runs; ${nf((e.readyRssMax ?? 0) / MB, 1)} MB connected, before any task), heap at end ${nf(e.heapUsed / MB, 1)} MB`]);
      else if (e?.timedOut) rows.push([lib, `throughput ${k}`, `timed out after ${nf(e.progress?.processed ?? 0)} tasks`, '']);
    }
    const rt = R.roundtrip;
    if (rt?.p50 !== undefined) {
      rows.push([lib, 'round trip', `${nf(rt.done)} iterations, max ${nf(rt.max, 3)} ms`, `worker peak RSS ${nf(rt.workerPeakRss / MB, 1)} MB, producer peak RSS ${nf(rt.producerPeakRss / MB, 1)} MB`]);
    }
  }
  return rows;
}

function mdTable(header, rows) {
  const esc = (s) => String(s).replace(/\|/g, '\\|');
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

function machineInfo(redis) {
  const cpus = os.cpus();
  let bullVersion = 'n/a';
  let coreVersion = 'n/a';
  try {
    bullVersion = require('bullmq/package.json').version;
  } catch {}
  try {
    coreVersion = require('../packages/core/package.json').version;
  } catch {}
  return [
    `- CPU: ${cpus.length} × ${cpus[0]?.model ?? 'unknown'}`,
    `- Memory: ${nf(os.totalmem() / 1024 ** 3, 1)} GiB; OS: ${os.type()} ${os.release()} ${os.arch()}`,
    `- Node ${process.version}; Redis ${redis.version ?? '?'} (${redis.mode ?? '?'}) at ${redisBase()} (Celeriac DB ${CELERIAC_DB}, BullMQ DB ${BULLMQ_DB})`,
    `- @celeriac/core ${coreVersion}; bullmq ${bullVersion}`,
    `- N=${nf(cfg.n)}, throughput best of ${cfg.repeat} run(s) per case, round trip ${nf(cfg.rt)} iterations after ${cfg.rtWarmup} warm-up (worker in a child process, concurrency ${cfg.rtConcurrency}), prefetch multiplier ${cfg.prefetchMultiplier}${cfg.cpuProfDir ? `, **CPU profiling on (${cfg.cpuProfDir}): worker numbers are slowed down**` : ''}`,
    `- Libraries: ${[...cfg.libs, ...(cfg.pyCelery && (cfg.cases.includes('canvas') || cfg.cases.includes('amqp')) ? ['Python Celery (canvas and amqp cases)'] : [])].join(', ')}; cases: ${cfg.cases.join(', ')}${cfg.cases.includes('throughput') ? ` (${cfg.tpCases.join(', ')})` : ''}`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

async function finalCleanup() {
  try {
    if (cfg.libs.includes('celeriac')) await cleanupCeleriac();
  } catch (err) {
    errors.push(`final cleanup celeriac: ${err?.message ?? err}`);
  }
  try {
    if (bullQueuesCreated.size) await cleanupBull([...bullQueuesCreated]);
    // Anything BullMQ left under this run's queue names (e.g. a queue never obliterated after a crash).
    if (cfg.libs.includes('bullmq')) await deleteByPattern(redisClient(BULLMQ_DB), `bull:${bullRunPrefix}*`);
  } catch (err) {
    errors.push(`final cleanup bullmq: ${err?.message ?? err}`);
  }
  await canvasFinalCleanup({ redisClient, errors });
  await amqpFinalCleanup({ acfg: cfg.amqp, errors });
  await Promise.all(Object.values(redisClients).map((r) => r.quit().catch(() => r.disconnect())));
}

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  log('interrupted: stopping children and cleaning up (Ctrl-C again to exit at once)');
  for (const c of children) c.kill('SIGKILL');
  finalCleanup().finally(() => process.exit(130));
});

async function main() {
  let redis;
  try {
    redis = await redisInfo();
  } catch (err) {
    console.error(`Cannot reach Redis at ${redisBase()}: ${err?.message ?? err}`);
    process.exitCode = 1;
    await Promise.all(Object.values(redisClients).map((r) => r.disconnect()));
    return;
  }
  if (cfg.libs.includes('celeriac')) {
    try {
      celeriacCore = loadCeleriac();
    } catch (err) {
      console.error(`Cannot load packages/core/dist (run \`npx tsc -b packages/core\` first): ${err?.message ?? err}`);
      process.exitCode = 1;
      await finalCleanup();
      return;
    }
  }
  log(`run ${runId}: N=${cfg.n}, RT=${cfg.rt}, libs ${cfg.libs.join(',')}, cases ${cfg.cases.join(',')}; celeriac keys ${celeriacRunPrefix}* (db ${CELERIAC_DB}), bullmq queues ${bullRunPrefix}* (db ${BULLMQ_DB}) at ${celeriacUrl().replace(/\/\d+$/, '')}`);
  try {
    if (cfg.cases.includes('enqueue')) for (const lib of cfg.libs) await phaseEnqueue(lib);
    if (cfg.cases.includes('throughput')) {
      for (let rep = 0; rep < cfg.repeat; rep++) for (const c of cfg.tpCases) for (const lib of cfg.libs) await phaseThroughput(lib, c, rep);
    }
    if (cfg.cases.includes('roundtrip')) for (const lib of cfg.libs) await phaseRoundtrip(lib);
    if (cfg.cases.includes('canvas')) {
      const ctx = { ccfg: cfg.canvas, runId, celeriacRunPrefix, runChild, children, redisClient, log, capFor, errors };
      canvasResults = await phaseCanvas(ctx, { celeriac: cfg.libs.includes('celeriac'), py: cfg.pyCelery });
    }
    if (cfg.cases.includes('amqp') && (cfg.libs.includes('celeriac') || cfg.pyCelery)) {
      const ctx = { acfg: cfg.amqp, runId, runChild, children, log, capFor, errors };
      amqpResults = await phaseAmqp(ctx, { celeriac: cfg.libs.includes('celeriac'), py: cfg.pyCelery });
    }
    if (cfg.cases.includes('beatdb') && cfg.libs.includes('celeriac')) {
      log(`beatdb: ${cfg.beatDb.n} schedules in PostgreSQL, ${cfg.beatDb.windowS} s window`);
      try {
        beatDbResults = await runBeatDbBench(cfg.beatDb);
      } catch (err) {
        errors.push(`beatdb: ${String(err?.stack ?? err)}`);
      }
    }
  } catch (err) {
    errors.push(String(err?.stack ?? err));
  } finally {
    await finalCleanup();
  }

  const header = ['metric', 'Celeriac', 'BullMQ', 'ratio', 'target', '✓/✗'];
  const info = machineInfo(redis);
  const table = mdTable(header, buildRows());
  const details = detailRows();
  const md = [
    `# Celeriac vs BullMQ benchmark`,
    '',
    `Run ${new Date().toISOString()} (${runId}), ${nf((nowMs() - startedAt) / 1000, 1)} s.`,
    '',
    info,
    '',
    ...(cfg.cases.some((c) => c !== 'canvas' && c !== 'amqp' && c !== 'beatdb')
      ? [
          table,
          '',
          'ratio > 1 means Celeriac is better: Celeriac/BullMQ for rates, BullMQ/Celeriac for latency and memory. ' +
            'Throughput: queue pre-filled with N messages, timed from worker start to N tasks finished, one fresh child process per case. ' +
            'Peak RSS sampled every 50 ms in the worker child; "connected, before any task" is its RSS once its clients are connected, before the worker starts.',
          '',
        ]
      : []),
    ...(details.length ? ['## Details', '', mdTable(['library', 'case', 'measured', 'memory'], details), ''] : []),
    ...(canvasResults ? canvasReport(canvasResults, cfg.canvas, { nf, mdTable }) : []),
    ...(amqpResults ? amqpReport(amqpResults, cfg.amqp, { nf, mdTable }) : []),
    ...(beatDbResults ? beatDbReport(beatDbResults, cfg.beatDb) : []),
    ...(errors.length ? ['## Errors', '', ...errors.map((e) => `- ${e.split('\n')[0]}`), ''] : []),
  ].join('\n');
  console.log(md);
  if (errors.length) for (const e of errors) console.error(`ERROR: ${e}`);
  writeFileSync(join(here, 'results.md'), md);
  process.exitCode = errors.length ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
