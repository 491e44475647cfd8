#!/usr/bin/env node
/**
 * Diagnostic (not part of `npm run bench`): CPU instructions a Celeriac worker spends per no-op task,
 * counted by valgrind's callgrind. Unlike tasks/s (±30% between runs here), an instruction count
 * repeats within a few percent (the broker's batching still varies), so a change to the hot path can
 * be judged from a run or two each side.
 *
 * The worker runs alone in a child under callgrind (the queue is filled beforehand by this process)
 * twice, with `small` and `large` tasks; (I(large) - I(small)) / (large - small) removes start-up,
 * connect and JIT warm-up and leaves the steady cost of one task, Node's side only (Redis's work is
 * in the Redis process).
 *
 *   node bench/instructions.mjs [small=6000] [large=12000]
 *   BENCH_INSTR_RESULTS=1   results stored in Redis (default: ignored)
 *   BENCH_INSTR_CONCURRENCY=100
 *   BENCH_INSTR_CONTEXT=0   taskPropagateContext off (no AsyncLocalStorage promise hooks)
 *   BENCH_INSTR_BROKER=amqp the worker consumes from RabbitMQ (BENCH_AMQP, default
 *                           amqp://guest:guest@127.0.0.1:5672) instead of Redis; results ignored
 *
 * Needs valgrind (every machine here has it) and `packages/core/dist`. Each run takes about a minute.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { deleteByPattern, intEnv, loadCeleriac, loadIoredis, makeAmqpApp, makeCeleriacApp, celeriacUrl } from './lib.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const small = Number(process.argv[2] ?? 6000);
const large = Number(process.argv[3] ?? 12000);
const results = process.env.BENCH_INSTR_RESULTS === '1';
const concurrency = intEnv('BENCH_INSTR_CONCURRENCY', 100);
const context = process.env.BENCH_INSTR_CONTEXT !== '0';
const amqp = process.env.BENCH_INSTR_BROKER === 'amqp';
const amqpUrl = (process.env.BENCH_AMQP || 'amqp://guest:guest@127.0.0.1:5672').replace(/\/+$/, '');
if (amqp && results) throw new Error('BENCH_INSTR_BROKER=amqp counts with results ignored only');

/** The app under test: Redis with `prefix` keys, or RabbitMQ with `prefix` as queue, exchange and routing key. */
function benchApp(core, prefix) {
  if (!amqp) return makeCeleriacApp(core, { prefix, results, extra: { taskPropagateContext: context } });
  return makeAmqpApp(core, { url: amqpUrl, queue: prefix, extra: { taskPropagateContext: context } });
}

if (process.argv[2] === '--worker') {
  // child: consume `n` tasks from `prefix`, then exit
  const [, , , prefix, n] = process.argv;
  const core = loadCeleriac();
  const { app } = benchApp(core, prefix);
  const worker = new core.Worker(app, { concurrency, prefetchMultiplier: 4, ...(amqp ? { queues: [prefix] } : {}) });
  let done = 0;
  const finished = new Promise((resolve) => worker.on('task-succeeded', () => ++done === Number(n) && resolve()));
  await app.connect();
  await worker.start();
  await finished;
  await worker.close();
  await app.close();
  process.exit(0);
}

async function fill(prefix, n) {
  const core = loadCeleriac();
  const { app, task } = benchApp(core, prefix); // same app settings as the worker's
  await app.connect();
  for (let i = 0; i < n; i += 1000) await task.applyMany(Array.from({ length: Math.min(1000, n - i) }, (_, k) => [[i + k]]));
  await app.close();
}

/** Instructions callgrind counted for a worker that runs `n` tasks. */
async function count(n) {
  const prefix = `cbench-instr-${process.pid}-${n}:`;
  const out = join(tmpdir(), `celeriac-callgrind-${process.pid}-${n}.out`);
  await fill(prefix, n);
  try {
    const run = spawnSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, join(here, 'instructions.mjs'), '--worker', prefix, String(n)], {
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    if (run.error) throw run.error;
    const log = run.stderr ?? '';
    if (run.status !== 0) throw new Error(`valgrind exited with ${run.status}:\n${log.slice(-2000)}`);
    const collected = /Collected : (\d+)/.exec(log);
    if (!collected) throw new Error(`no instruction count in valgrind's output:\n${log.slice(-2000)}`);
    return Number(collected[1]);
  } finally {
    rmSync(out, { force: true });
    await cleanUp(prefix);
  }
}

async function cleanUp(prefix) {
  if (amqp) {
    const amqplib = createRequire(import.meta.url)('amqplib');
    const conn = await amqplib.connect(amqpUrl);
    const ch = await conn.createChannel();
    await ch.deleteQueue(prefix);
    await ch.deleteExchange(prefix);
    await conn.close();
    return;
  }
  const Redis = loadIoredis();
  const redis = new Redis(celeriacUrl());
  await deleteByPattern(redis, `${prefix}*`);
  redis.disconnect();
}

const a = await count(small);
const b = await count(large);
const perTask = (b - a) / (large - small);
console.log(`${amqp ? 'RabbitMQ' : 'Redis'}, results ${results ? 'stored' : 'ignored'}, concurrency ${concurrency}, taskPropagateContext ${context}`);
console.log(`${small} tasks: ${a.toLocaleString('en-US')} instructions; ${large} tasks: ${b.toLocaleString('en-US')}`);
console.log(`per task: ${Math.round(perTask).toLocaleString('en-US')} instructions`);
