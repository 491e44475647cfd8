/**
 * RabbitMQ benchmark: the `amqp` case of run.mjs (see bench/README.md, "RabbitMQ"). Side by side in
 * one run, all in a vhost created for the run (`cbench-<run id>`) and deleted at the end (and on
 * Ctrl-C):
 *
 *   1. raw amqplib ceilings: ConfirmChannel publish of Celery-sized persistent messages (wait for all
 *      confirms); consume with prefetch 100 + one ack per message; and consume as Celeriac's worker
 *      does (prefetch 100 × multiplier, one `multiple` ack per event-loop turn);
 *   2. Celeriac on amqp://: enqueue with confirms (sequential delay, batch applyMany), worker no-op
 *      throughput at c=1 and c=100 (results ignored), round trip with resultBackend rpc://;
 *   3. Python Celery 5.2.6 (`python3 -m celery worker`, prefork and threads pools) no-op throughput
 *      on the same kind of pre-filled queue.
 *
 * Node roles run in bench/amqp-child.mjs (forked through run.mjs's runChild); the Celery app is
 * bench/py/amqpbench_app.py.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TASK_NAME, loadCeleriac, withTimeout } from './lib.mjs';
import { pythonInfo } from './canvas.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** amqp settings from the environment (`intEnv` is run.mjs's parser). */
export function amqpConfig(intEnv, { n, repeat, prefetchMultiplier }) {
  const pools = (process.env.BENCH_AMQP_PY_POOLS || 'prefork:2,threads:100').split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const [pool, c] = s.split(':');
    if (!['prefork', 'threads', 'solo', 'eventlet', 'gevent'].includes(pool) || !(Number(c) >= 1)) throw new Error(`BENCH_AMQP_PY_POOLS: "${s}" is not <pool>:<concurrency>`);
    return { pool, concurrency: Number(c) };
  });
  return {
    base: (process.env.BENCH_AMQP || 'amqp://guest:guest@127.0.0.1:5672').replace(/\/+$/, ''),
    n,
    pyN: intEnv('BENCH_AMQP_PY_N', Math.min(n, 10_000)),
    seqN: intEnv('BENCH_AMQP_SEQ_N', Math.min(n, 5_000)),
    repeat,
    prefetchMultiplier,
    rawPrefetch: intEnv('BENCH_AMQP_RAW_PREFETCH', 100),
    batch: intEnv('BENCH_BATCH', 1_000),
    warmup: intEnv('BENCH_ENQUEUE_WARMUP', 500),
    rt: intEnv('BENCH_RT', 2_000),
    rtWarmup: intEnv('BENCH_RT_WARMUP', 200),
    rtConcurrency: intEnv('BENCH_RT_CONCURRENCY', 10),
    capMs: intEnv('BENCH_AMQP_CAP_S', 60) * 1000,
    pools,
    python: process.env.BENCH_PYTHON || '/usr/bin/python3',
    rabbitmqctl: process.env.BENCH_RABBITMQCTL || 'rabbitmqctl',
  };
}

// ---------------------------------------------------------------------------------------------
// vhost and queues

let vhostCreated; // the vhost to delete at the end (also on Ctrl-C)

function ctl(acfg, args) {
  const r = spawnSync(acfg.rabbitmqctl, ['-q', ...args], { encoding: 'utf8', timeout: 30_000 });
  if (r.error || r.status !== 0) throw new Error(`rabbitmqctl ${args.join(' ')}: ${(r.error?.message ?? r.stderr ?? '').trim() || `exit ${r.status}`}`);
  return r.stdout;
}

function vhostUrl(acfg, vhost) {
  return `${acfg.base}/${encodeURIComponent(vhost)}`;
}

/** A channel on this run's vhost for the parent's own checks (queue length, deletes). */
async function parentChannel(url) {
  const amqplib = require('amqplib');
  const conn = await withTimeout(amqplib.connect(url), 10_000, 'AMQP connect');
  conn.on('error', () => undefined);
  let ch = await conn.createChannel();
  const reopen = async () => {
    ch = await conn.createChannel();
    ch.on('error', () => undefined);
  };
  ch.on('error', () => undefined);
  return {
    /** messageCount (ready) and consumerCount, or undefined when the queue does not exist. */
    async check(q) {
      try {
        return await ch.checkQueue(q);
      } catch {
        await reopen();
        return undefined;
      }
    },
    /** Takes up to `max` messages off `q` (diagnostics): their first argument and redelivered flag. */
    async take(q, max = 10) {
      const out = [];
      for (let k = 0; k < max; k++) {
        const m = await ch.get(q, { noAck: true });
        if (!m) break;
        let arg = '?';
        try {
          arg = JSON.stringify(JSON.parse(m.content.toString())[0]);
        } catch {}
        out.push(`args ${arg} redelivered=${m.fields.redelivered}`);
      }
      return out;
    },
    async drop(q) {
      try {
        await ch.deleteQueue(q);
        await ch.deleteExchange(q);
      } catch (err) {
        await reopen(); // a channel error closes the channel: keep one for the next call
        throw err;
      }
    },
    close: () => conn.close().catch(() => undefined),
  };
}

/** Fills `queue` with `n` no-op Celery messages through Celeriac's applyMany (untimed). */
async function prefill(url, queue, n, batch) {
  const core = loadCeleriac();
  const app = new core.Celeriac({ brokerUrl: url, taskDefaultQueue: queue, taskDefaultExchange: queue, taskDefaultRoutingKey: queue, taskIgnoreResult: true, logger: core.createLogger('silent') });
  const task = app.task(TASK_NAME, (i) => i);
  try {
    await app.connect();
    for (let i = 0; i < n; i += batch) {
      const count = Math.min(batch, n - i);
      await task.applyMany(Array.from({ length: count }, (_, k) => [i + k]));
    }
    const len = await app.broker.queueLength(queue);
    if (len !== n) throw new Error(`prefill: queue ${queue} holds ${len} messages, expected ${n}`);
  } finally {
    await app.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Python Celery

const nf0 = (v) => Math.round(v).toLocaleString('en-US');

function timeout(ms) {
  let timer;
  const p = new Promise((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  p.clear = () => clearTimeout(timer);
  return p;
}

async function runPyWorker(ctx, url, queue, { pool, concurrency }, capMs) {
  const { acfg } = ctx;
  const env = { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', AMQPBENCH_URL: url, AMQPBENCH_QUEUE: queue, AMQPBENCH_N: String(acfg.pyN), AMQPBENCH_PREFETCH: String(acfg.prefetchMultiplier) };
  const args = ['-m', 'celery', '-A', 'amqpbench_app', 'worker', '-P', pool, '-c', String(concurrency), '--without-gossip', '--without-mingle', '--without-heartbeat', '-Q', queue, '-n', `${queue}@%h`, '-l', 'warning'];
  // Its own process group, so that a kill (Ctrl-C in run.mjs, a timeout) reaches the prefork pool processes too.
  const child = spawn(acfg.python, args, { cwd: join(here, 'py'), env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const group = { kill: (sig) => { try { process.kill(-child.pid, sig); } catch {} } };
  ctx.children.add(group);
  let out = '';
  const seen = new Promise((resolve) => {
    const on = (d) => {
      out = (out + d).slice(-64_000);
      if (/AMQPBENCH_DONE/.test(out) && /AMQPBENCH_ACKED/.test(out)) resolve('done');
    };
    child.stdout.setEncoding('utf8').on('data', on);
    child.stderr.setEncoding('utf8').on('data', on);
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => (ctx.children.delete(group), resolve({ code, signal }))));
  const t = timeout(capMs);
  const r = await Promise.race([seen, exited.then(() => 'exited'), t]);
  t.clear();
  // Warm shutdown, then SIGKILL after 15 s.
  let killed = false;
  const stopAt = Date.now();
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const g = timeout(15_000);
    if ((await Promise.race([exited, g])) === 'timeout') {
      killed = true;
      group.kill('SIGKILL');
    }
    g.clear();
  }
  const exit = await exited;
  const shutdown = `warm shutdown took ${Date.now() - stopAt} ms, exit ${exit.signal ?? exit.code}`;
  if (r === 'timeout') return { timedOut: true };
  if (r === 'exited') throw new Error(`celery worker exited early: ${out.trim().slice(-800)}`);
  const ready = Number(/AMQPBENCH_READY (\d+\.\d+)/.exec(out)?.[1]);
  const done = Number(/AMQPBENCH_DONE (\d+\.\d+)/.exec(out)?.[1]);
  const first = Number(/AMQPBENCH_FIRST (\d+\.\d+)/.exec(out)?.[1]);
  const acked = Number(/AMQPBENCH_ACKED (\d+\.\d+)/.exec(out)?.[1]);
  if (!ready || !done || !acked) throw new Error(`celery worker: no ready/done time in its output: ${out.trim().slice(-800)}`);
  const errs = out.split('\n').filter((l) => /ERROR|Traceback/.test(l));
  // Until the N-th task has finished and the N-th ack has been sent, whichever is later.
  const elapsedMs = (Math.max(done, acked) - ready) * 1000;
  const doneMs = (done - ready) * 1000;
  return { processed: acfg.pyN, elapsedMs, rate: (acfg.pyN / elapsedMs) * 1000, doneRate: (acfg.pyN / doneMs) * 1000, firstMs: first ? (first - ready) * 1000 : undefined, ackLagMs: (acked - done) * 1000, killed, shutdown, errors: errs.length ? errs.slice(0, 3).join(' / ') : undefined };
}

// ---------------------------------------------------------------------------------------------
// The case

/**
 * Runs the amqp case. ctx: { acfg, runId, runChild, children, log, capFor, errors }.
 * Returns the results for amqpReport().
 */
export async function phaseAmqp(ctx, { celeriac = true, py = true } = {}) {
  const { acfg, log, errors } = ctx;
  const res = { raw: { publish: [], consume: [], consumeBatched: [], sequential: undefined }, enqueue: {}, tp: { c1: [], c100: [] }, rt: undefined, py: {}, pyInfo: undefined };
  const vhost = `cbench-${ctx.runId}`;
  try {
    res.rabbit = ctl(acfg, ['status']).match(/RabbitMQ version: (\S+)|"RabbitMQ","([^"]+)"/)?.slice(1).find(Boolean);
  } catch {}
  try {
    ctl(acfg, ['add_vhost', vhost]);
    vhostCreated = vhost;
    ctl(acfg, ['set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
  } catch (err) {
    errors.push(`amqp: cannot create vhost ${vhost}: ${err?.message ?? err}`);
    res.error = String(err?.message ?? err);
    return res;
  }
  const url = vhostUrl(acfg, vhost);
  res.vhost = vhost;
  log(`amqp: vhost ${vhost} at ${acfg.base.replace(/:[^:@/]*@/, ':***@')}`);
  const parent = await parentChannel(url);
  const child = async (label, childCfg, opts = {}) => {
    const capMs = ctx.capFor(acfg.capMs);
    if (capMs < 2_000) return { skipped: true };
    const r = await ctx.runChild('amqp-child.mjs', { url, ...childCfg, capMs }, { capMs, ...opts });
    if (r.error) errors.push(`amqp ${label}: ${r.error}`);
    if (r.failed) errors.push(`amqp ${label}: ${r.failed} tasks failed, first: ${r.firstError}`);
    return r;
  };
  const drop = async (q) => {
    try {
      await parent.drop(q);
    } catch (err) {
      errors.push(`amqp: deleting queue ${q}: ${err?.message ?? err}`);
    }
  };
  try {
    if (celeriac) {
      // 1. raw amqplib ceilings: publish (timed) fills the queue that consume (timed) drains.
      const batchedPrefetch = 100 * acfg.prefetchMultiplier; // the c=100 worker's basic.qos
      for (let rep = 0; rep < acfg.repeat; rep++) {
        const q = `raw-${rep}`;
        log(`amqp: raw amqplib publish ${acfg.n} with confirms, then consume prefetch ${acfg.rawPrefetch}${acfg.repeat > 1 ? `, run ${rep + 1}/${acfg.repeat}` : ''}`);
        const p = await child('raw publish', { mode: 'raw-publish', queue: q, n: acfg.n, warmup: acfg.warmup });
        res.raw.publish.push(p);
        if (p.rate !== undefined && p.queued === acfg.n) res.raw.consume.push(await child('raw consume', { mode: 'raw-consume', queue: q, n: acfg.n, prefetch: acfg.rawPrefetch }));
        else if (p.rate !== undefined) errors.push(`amqp raw publish: queue holds ${p.queued} after ${acfg.n} confirmed publishes`);
        await drop(q);
        // The same ceiling for the way Celeriac's worker consumes: its prefetch, one `multiple` ack per turn.
        const qb = `raw-batched-ack-${rep}`;
        log(`amqp: raw amqplib publish ${acfg.n} with confirms, then consume prefetch ${batchedPrefetch}, one multiple ack per event-loop turn`);
        const pb = await child('raw publish', { mode: 'raw-publish', queue: qb, n: acfg.n, warmup: acfg.warmup });
        res.raw.publish.push(pb);
        if (pb.rate !== undefined && pb.queued === acfg.n) res.raw.consumeBatched.push(await child('raw consume, batched acks', { mode: 'raw-consume', queue: qb, n: acfg.n, prefetch: batchedPrefetch, ackPerTurn: true }));
        else if (pb.rate !== undefined) errors.push(`amqp raw publish: queue holds ${pb.queued} after ${acfg.n} confirmed publishes`);
        await drop(qb);
      }
      log(`amqp: raw amqplib sequential publish ${acfg.seqN}, each waiting for its confirm`);
      res.raw.sequential = await child('raw sequential publish', { mode: 'raw-publish', queue: 'raw-seq', n: acfg.seqN, warmup: acfg.warmup, sequential: true });
      if (res.raw.sequential.rate !== undefined && res.raw.sequential.queued !== acfg.seqN) errors.push(`amqp raw sequential publish: queue holds ${res.raw.sequential.queued} after ${acfg.seqN} confirmed publishes`);
      await drop('raw-seq');
      log(`amqp: raw amqplib publish ${acfg.n} in batches of ${acfg.batch}, waiting for each batch's confirms`);
      res.raw.batch = await child('raw batched publish', { mode: 'raw-publish', queue: 'raw-batch', n: acfg.n, warmup: acfg.warmup, batch: acfg.batch });
      if (res.raw.batch.rate !== undefined && res.raw.batch.queued !== acfg.n) errors.push(`amqp raw batched publish: queue holds ${res.raw.batch.queued} after ${acfg.n} confirmed publishes`);
      await drop('raw-batch');
      // 2. Celeriac enqueue.
      log(`amqp: celeriac enqueue with confirms: sequential delay × ${acfg.seqN}, batch applyMany ${acfg.batch} × ${acfg.n}`);
      const kinds = ['sequential', 'batch'];
      const queues = Object.fromEntries(kinds.map((k) => [k, `enq-${k}`]));
      const e = await child('celeriac enqueue', { mode: 'enqueue', kinds, queues, n: acfg.n, seqN: acfg.seqN, batch: acfg.batch, warmup: acfg.warmup }, { capMs: acfg.capMs * 2 + 20_000 });
      for (const k of kinds) res.enqueue[k] = e.enqueue?.[k] ?? (e.error ? { error: e.error } : e.skipped ? { skipped: true } : { timedOut: true });
      for (const k of kinds) if (res.enqueue[k].error && !e.error) errors.push(`amqp celeriac enqueue ${k}: ${res.enqueue[k].error}`);
      for (const q of Object.values(queues)) await drop(q);
      // 3. Celeriac worker throughput, results ignored.
      for (let rep = 0; rep < acfg.repeat; rep++) {
        for (const c of [1, 100]) {
          const q = `tp-c${c}-${rep}`;
          try {
            await withTimeout(prefill(url, q, acfg.n, acfg.batch), 60_000, `prefill ${q}`);
            log(`amqp: celeriac throughput c=${c} (N=${acfg.n}, results ignored)${acfg.repeat > 1 ? `, run ${rep + 1}/${acfg.repeat}` : ''}`);
            res.tp[`c${c}`].push(await child(`celeriac throughput c=${c}`, { mode: 'throughput', queue: q, n: acfg.n, concurrency: c, prefetchMultiplier: acfg.prefetchMultiplier }));
            const left = await parent.check(q);
            if (left && left.messageCount !== 0) errors.push(`amqp celeriac throughput c=${c}: ${left.messageCount} messages still ready after the worker finished ${acfg.n}`);
          } catch (err) {
            errors.push(`amqp celeriac throughput c=${c}: ${err?.message ?? err}`);
            res.tp[`c${c}`].push({ error: String(err?.message ?? err) });
          } finally {
            await drop(q);
          }
        }
      }
      // 4. Celeriac round trip with rpc://.
      {
        const q = 'rt';
        log(`amqp: celeriac round trip (rpc://), ${acfg.rtWarmup} warm-up + ${acfg.rt} timed (worker child, concurrency ${acfg.rtConcurrency})`);
        let ready;
        const readyP = new Promise((r) => (ready = r));
        const workerP = ctx.runChild('amqp-child.mjs', { url, mode: 'serve', queue: q, concurrency: acfg.rtConcurrency, prefetchMultiplier: acfg.prefetchMultiplier }, { capMs: acfg.capMs + 30_000, onReady: ready });
        try {
          const worker = await Promise.race([readyP, workerP.then((r) => Promise.reject(new Error(`worker child ended before ready: ${r.error ?? 'timed out'}`)))]);
          const r = await child('celeriac round trip', { mode: 'roundtrip', queue: q, rt: acfg.rt, warmup: acfg.rtWarmup, timeoutMs: 5_000 });
          worker.send({ type: 'stop' });
          const w = await workerP;
          if (w.error) errors.push(`amqp round-trip worker: ${w.error}`);
          if (w.failed) errors.push(`amqp round-trip worker: ${w.failed} failed, first: ${w.firstError}`);
          res.rt = r.roundtrip ? { ...r.roundtrip, workerProcessed: w.processed } : r;
        } catch (err) {
          errors.push(`amqp round trip: ${err?.message ?? err}`);
          res.rt = { error: String(err?.message ?? err) };
          for (const c of ctx.children) c.kill('SIGKILL');
          await workerP;
        } finally {
          await drop(q);
        }
      }
    }
    // 5. Python Celery worker throughput.
    if (py) {
      res.pyInfo = pythonInfo(acfg.python);
      if (res.pyInfo.error) log(`amqp: Python Celery skipped, ${acfg.python} cannot import celery: ${res.pyInfo.error}`);
      else {
        for (let rep = 0; rep < acfg.repeat; rep++) {
          for (const p of acfg.pools) {
            const key = `${p.pool}:${p.concurrency}`;
            const q = `py-${p.pool}-${p.concurrency}-${rep}`;
            (res.py[key] ??= []);
            const capMs = ctx.capFor(acfg.capMs);
            if (capMs < 5_000) {
              res.py[key].push({ skipped: true });
              continue;
            }
            try {
              await withTimeout(prefill(url, q, acfg.pyN, acfg.batch), 60_000, `prefill ${q}`);
              log(`amqp: celery worker -P ${p.pool} -c ${p.concurrency} (N=${acfg.pyN})${acfg.repeat > 1 ? `, run ${rep + 1}/${acfg.repeat}` : ''}`);
              const r = await runPyWorker(ctx, url, q, p, capMs);
              const left = await parent.check(q);
              const taken = r.rate !== undefined && left?.messageCount ? await parent.take(q).catch((err) => [String(err?.message ?? err)]) : [];
              if (r.rate !== undefined && left && left.messageCount !== 0) errors.push(`amqp celery ${key}: ${left.messageCount} messages left in the queue after the worker stopped (${r.shutdown}; left: ${taken.join(', ')})${r.killed ? ' (its warm shutdown did not end within 15 s, so it was killed: what it still held unacked went back to the queue)' : ''}`);
              if (r.rate !== undefined) log(`amqp: celery ${key}: ${nf0(r.rate)} tasks/s; ${r.shutdown}${r.killed ? ' (did not end within 15 s: killed)' : ''}`);
              if (r.errors) errors.push(`amqp celery ${key}: worker logged errors: ${r.errors}`);
              res.py[key].push(r);
            } catch (err) {
              errors.push(`amqp celery ${key}: ${err?.message ?? err}`);
              res.py[key].push({ error: String(err?.message ?? err) });
            } finally {
              await drop(q);
            }
          }
        }
      }
    }
  } finally {
    await parent.close();
    await amqpFinalCleanup(ctx);
  }
  return res;
}

/** Deletes this run's vhost (with every queue and exchange in it). Called at the end and on Ctrl-C. */
export async function amqpFinalCleanup(ctx) {
  if (!vhostCreated) return;
  try {
    ctl(ctx.acfg, ['delete_vhost', vhostCreated]);
    vhostCreated = undefined;
  } catch (err) {
    ctx.errors.push(`amqp: deleting vhost ${vhostCreated}: ${err?.message ?? err}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Report

export function amqpReport(res, acfg, { nf, mdTable }) {
  const MB = 1024 * 1024;
  const note = (e) => (!e ? 'not run' : e.skipped ? 'skipped (time budget)' : e.timedOut ? 'timed out' : e.error ? 'error' : e.failed ? `error (${nf(e.failed)} failed)` : 'n/a');
  /** The best rate among runs: { value, runs } | { note }. */
  const best = (runs) => {
    const ok = (runs ?? []).filter((r) => r?.rate !== undefined && !r.failed && !r.error);
    if (!ok.length) return { note: runs?.length ? note(runs.find(Boolean)) : 'not run' };
    return { value: Math.max(...ok.map((r) => r.rate)) };
  };
  const one = (e, k) => (e?.[k] !== undefined && !e.error ? { value: e[k] } : { note: note(e) });
  const pyBestBy = (k) => {
    let out = { note: res.pyInfo?.error ? 'unavailable' : 'not run' };
    for (const [key, runs] of Object.entries(res.py)) {
      const b = best(runs?.map((r) => (r?.[k] !== undefined ? { ...r, rate: r[k] } : r)));
      if (b.value !== undefined && !(out.value >= b.value)) out = { ...b, pool: key };
      else if (out.value === undefined && b.note) out = { note: b.note };
    }
    return out;
  };
  const pyBest = pyBestBy('rate');
  const pyBestDone = pyBestBy('doneRate');
  const rawPub = best(res.raw.publish);
  const rawCons = best(res.raw.consume);
  const rawConsBatched = best(res.raw.consumeBatched);
  const batchedPrefetch = 100 * acfg.prefetchMultiplier;
  const rate = (v) => `${nf(v)}/s`;
  const ms = (v) => `${nf(v, 3)} ms`;
  const rows = [
    { metric: 'Enqueue, sequential `await t.delay(i)`, confirms (msg/s) vs raw publish awaiting each confirm', c: one(res.enqueue.sequential, 'rate'), r: one(res.raw.sequential, 'rate'), fmt: rate },
    { metric: 'Enqueue, sequential `await t.delay(i)`, confirms (msg/s) vs raw pipelined confirm-channel publish (all N in flight)', c: one(res.enqueue.sequential, 'rate'), r: rawPub, fmt: rate },
    { metric: `Enqueue, batch \`applyMany\` × ${nf(acfg.batch)}, confirms (msg/s) vs raw publish in batches of ${nf(acfg.batch)} awaiting confirms`, c: one(res.enqueue.batch, 'rate'), r: one(res.raw.batch, 'rate'), fmt: rate },
    { metric: `Enqueue, batch \`applyMany\` × ${nf(acfg.batch)}, confirms (msg/s) vs raw pipelined confirm-channel publish (all N in flight)`, c: one(res.enqueue.batch, 'rate'), r: rawPub, fmt: rate },
    { metric: 'Worker no-op throughput c=1, results ignored (tasks/s) vs raw consume + ack', c: best(res.tp.c1), r: rawCons, fmt: rate },
    { metric: 'Worker no-op throughput c=100, results ignored (tasks/s) vs raw consume + ack', c: best(res.tp.c100), r: rawCons, fmt: rate, target: { ratio: 0.6, label: '≥ 60% of raw' } },
    { metric: `Worker no-op throughput c=100, results ignored (tasks/s) vs raw consume, prefetch ${nf(batchedPrefetch)}, one \`multiple\` ack per event-loop turn (as Celeriac acks)`, c: best(res.tp.c100), r: rawConsBatched, fmt: rate },
    { metric: `Worker no-op throughput c=100 (tasks/s) vs Python Celery, until N done and acked${pyBest.pool ? ` (best: -P ${pyBest.pool.replace(':', ' -c ')})` : ''}`, c: best(res.tp.c100), r: pyBest, fmt: rate, target: { ratio: 8, label: '≥ 8× Celery' } },
    { metric: `Worker no-op throughput c=100 (tasks/s) vs Python Celery, until the N-th task finished (acks not awaited)${pyBestDone.pool ? ` (best: -P ${pyBestDone.pool.replace(':', ' -c ')})` : ''}`, c: best(res.tp.c100), r: pyBestDone, fmt: rate },
    { metric: 'Round trip delay→get, rpc:// p50', c: one(res.rt, 'p50'), r: { note: '—' }, fmt: ms },
    { metric: 'Round trip delay→get, rpc:// p99', c: one(res.rt, 'p99'), r: { note: '—' }, fmt: ms },
    { metric: 'Round trip delay→get, rpc:// mean', c: one(res.rt, 'mean'), r: { note: '—' }, fmt: ms },
  ].map((r) => {
    const cell = (x) => (x.value !== undefined ? r.fmt(x.value) : x.note);
    const ratio = r.c.value > 0 && r.r.value > 0 ? r.c.value / r.r.value : undefined;
    const ok = r.target ? (ratio === undefined ? '?' : ratio >= r.target.ratio ? '✓' : '✗') : '';
    return [r.metric, cell(r.c), cell(r.r), ratio === undefined ? '—' : `${nf(ratio, 2)}×`, r.target?.label ?? '—', ok];
  });
  const details = [];
  const runs = (list, unit = '/s') => list.map((r) => (r?.rate !== undefined ? `${nf(r.rate)}${unit}` : note(r))).join(', ');
  if (res.raw.publish.length) details.push(['raw amqplib', 'publish, ConfirmChannel, persistent, all N in flight', `runs: ${runs(res.raw.publish)}; body ${res.raw.publish.find((p) => p.bodyBytes)?.bodyBytes ?? '?'} B + ${res.raw.publish.find((p) => p.headerKeys)?.headerKeys ?? '?'} Celery headers per message`]);
  if (res.raw.sequential?.rate !== undefined) details.push(['raw amqplib', 'publish, ConfirmChannel, persistent, awaiting each confirm', `${nf(res.raw.sequential.sent)} msgs in ${nf(res.raw.sequential.elapsedMs)} ms`]);
  if (res.raw.batch?.rate !== undefined) details.push(['raw amqplib', `publish, ConfirmChannel, persistent, batches of ${nf(acfg.batch)} awaiting confirms`, `${nf(res.raw.batch.sent)} msgs in ${nf(res.raw.batch.elapsedMs)} ms`]);
  if (res.raw.consume.length) details.push(['raw amqplib', `consume, prefetch ${acfg.rawPrefetch}, ack each`, `runs: ${runs(res.raw.consume)}`]);
  if (res.raw.consumeBatched.length) details.push(['raw amqplib', `consume, prefetch ${nf(batchedPrefetch)}, one \`multiple\` ack per event-loop turn`, `runs: ${runs(res.raw.consumeBatched)}`]);
  for (const k of ['sequential', 'batch']) {
    const e = res.enqueue[k];
    if (e?.rate !== undefined) details.push(['Celeriac', `enqueue ${k}`, `${nf(e.sent)} msgs in ${nf(e.elapsedMs)} ms`]);
  }
  for (const c of ['c1', 'c100']) {
    if (res.tp[c].length) {
      const rss = Math.max(0, ...res.tp[c].map((r) => r.peakRss ?? 0));
      details.push(['Celeriac', `throughput ${c}, results ignored`, `runs: ${runs(res.tp[c])}${rss ? `; worker peak RSS ${nf(rss / MB, 1)} MB` : ''}`]);
    }
  }
  if (res.rt?.p50 !== undefined) details.push(['Celeriac', 'round trip, rpc://', `${nf(res.rt.done)} iterations, max ${nf(res.rt.max, 3)} ms; worker ran ${nf(res.rt.workerProcessed ?? 0)} tasks`]);
  for (const [key, list] of Object.entries(res.py)) {
    const [pool, c] = key.split(':');
    const firsts = list.filter((r) => r?.firstMs !== undefined).map((r) => nf(r.firstMs, 1));
    const lags = list.filter((r) => r?.ackLagMs !== undefined).map((r) => nf(r.ackLagMs, 1));
    const doneRuns = list.filter((r) => r?.doneRate !== undefined).map((r) => `${nf(r.doneRate)}/s`).join(', ');
    details.push(['Python Celery', `throughput -P ${pool} -c ${c}`, `runs: ${runs(list)} until done and acked; ${doneRuns || '—'} until the N-th task finished (N=${nf(acfg.pyN)}, from worker_ready until the N-th task_postrun and the N-th ack; first task done ${firsts.join(', ') || '?'} ms after worker_ready; N-th ack ${lags.join(', ') || '?'} ms after the N-th task)`]);
  }
  const py = res.pyInfo && !res.pyInfo.error ? `Python ${res.pyInfo.py}, Celery ${res.pyInfo.celery}, kombu ${res.pyInfo.kombu}` : `Python Celery ${res.pyInfo ? `unavailable (${res.pyInfo.error})` : 'not run'}`;
  return [
    '## RabbitMQ: Celeriac vs raw amqplib and Python Celery',
    '',
    `RabbitMQ ${res.rabbit ?? '?'} at ${acfg.base.replace(/:[^:@/]*@/, ':***@')}, vhost \`${res.vhost ?? '?'}\` (created for this run, deleted at the end); ` +
      `N=${nf(acfg.n)} (sequential enqueues ${nf(acfg.seqN)}, Python Celery ${nf(acfg.pyN)}), best of ${acfg.repeat} run(s); Celeriac prefetch multiplier ${acfg.prefetchMultiplier} (Celery the same); ${py}.`,
    '',
    mdTable(['metric', 'Celeriac', 'reference (raw amqplib / Python Celery)', 'ratio', 'target', '✓/✗'], rows),
    '',
    'ratio = Celeriac / reference for rates (above 1: Celeriac is faster). Raw amqplib is a ceiling: pre-built messages, no decoding, no task execution. ' +
      'Throughput: queue pre-filled with N Celery protocol-2 messages, timed from worker start until N tasks finished, one fresh worker process per run.',
    '',
    ...(pyBest.value > 0 && rawConsBatched.value > 0
      ? [`8× the best Python Celery run is ${rate(8 * pyBest.value)}: ${nf((800 * pyBest.value) / rawConsBatched.value)}% of what raw amqplib consumes with Celeriac's prefetch and ack batching (no decoding, no task run) in this run.`, '']
      : []),
    ...(res.error ? [`Not run: ${res.error}`, ''] : []),
    ...(details.length ? [mdTable(['side', 'case', 'measured'], details), ''] : []),
  ];
}
