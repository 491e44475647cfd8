/**
 * Canvas benchmark: Celeriac beside Python Celery (Debian's 5.2.6, /usr/bin/python3) doing the same
 * work on the same local Redis. Used by run.mjs as the `canvas` case; see bench/README.md.
 *
 *   (a) chord of `chordSize` (1,000) no-op tasks whose body counts and sums the header results:
 *       time from dispatch (applyAsync / apply_async) until the client has read the body's result;
 *   (b) chain of `chainLength` (100) steps, inc(x) = x + 1: time from dispatch until the final
 *       result has been read.
 *
 * Celeriac: worker child (canvas-child.mjs, mode worker) + client child (canvas-child.mjs, mode
 * client), DB 14, key prefix cbench-<run id>-canvas:. Python Celery: `celery worker -P threads`
 * (one process, like the Node worker) + bench/py/canvas_bench.py, DB 15, broker keys under
 * pycvbench-<run id>: (kombu global_keyprefix) and its own queue; Celery 5.2's result backend has no
 * key prefix, so the client lists every task / group id it created and only those result keys are
 * deleted. Never FLUSHDB.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BULLMQ_DB, CELERIAC_DB, deleteByPattern, redisBase } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
/** Python Celery uses the BullMQ DB (15): its keys never collide with bull:* keys. */
export const PY_DB = BULLMQ_DB;

/** Canvas settings from the environment (`intEnv` is run.mjs's parser). */
export function canvasConfig(intEnv, repeat, prefetchMultiplier) {
  const pool = (process.env.BENCH_CANVAS_PY_POOL || 'threads').toLowerCase();
  if (!['threads', 'prefork'].includes(pool)) throw new Error(`BENCH_CANVAS_PY_POOL must be threads or prefork, got "${pool}"`);
  return {
    chordSize: intEnv('BENCH_CANVAS_CHORD', 1_000),
    chainLength: intEnv('BENCH_CANVAS_CHAIN', 100),
    concurrency: intEnv('BENCH_CANVAS_CONCURRENCY', 10),
    warmup: intEnv('BENCH_CANVAS_WARMUP', 2),
    repeat: intEnv('BENCH_CANVAS_REPEAT', Math.max(repeat, 3)),
    capMs: intEnv('BENCH_CANVAS_CAP_S', 150) * 1000,
    timeoutMs: intEnv('BENCH_CANVAS_TIMEOUT_S', 60) * 1000,
    python: process.env.BENCH_PYTHON || '/usr/bin/python3',
    pyPool: pool,
    prefetchMultiplier,
  };
}

/** Python, Celery, kombu and redis-py versions, or { error } when `celery` cannot be imported. */
export function pythonInfo(python) {
  const r = spawnSync(python, ['-c', 'import sys, celery, kombu, redis; print(sys.version.split()[0], celery.__version__, kombu.__version__, redis.__version__)'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error || r.status !== 0) return { error: (r.error?.message ?? r.stderr ?? '').trim().split('\n').pop() || `exit ${r.status}` };
  const [py, celery, kombu, redis] = r.stdout.trim().split(/\s+/);
  return { py, celery, kombu, redis };
}

/** Peak RSS (VmHWM) of a live process, in bytes. */
function vmHwm(pid) {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+)\s+kB/m);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function tail(s, n = 1500) {
  return s.length > n ? `…${s.slice(-n)}` : s;
}

/** Spawns a Python process, tracked in `children` (so Ctrl-C in run.mjs kills it). */
function spawnPy(ctx, args, env) {
  const child = spawn(ctx.ccfg.python, args, { cwd: join(here, 'py'), env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  ctx.children.add(child);
  const out = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (d) => (out.stdout = tail(out.stdout + d, 64_000)));
  child.stderr.setEncoding('utf8').on('data', (d) => (out.stderr = tail(out.stderr + d, 64_000)));
  const exited = new Promise((resolve) => {
    child.on('error', (err) => resolve({ code: null, signal: null, error: String(err) }));
    child.on('exit', (code, signal) => {
      ctx.children.delete(child);
      resolve({ code, signal });
    });
  });
  return { child, out, exited };
}

function timeout(ms) {
  let timer;
  const p = new Promise((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  p.clear = () => clearTimeout(timer);
  return p;
}

async function stopPy(proc, graceMs = 15_000) {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return proc.exited;
  proc.child.kill('SIGTERM'); // Celery's warm shutdown
  const t = timeout(graceMs);
  const r = await Promise.race([proc.exited, t]);
  t.clear();
  if (r !== 'timeout') return r;
  proc.child.kill('SIGKILL');
  return proc.exited;
}

async function runPython(ctx, capMs) {
  const { ccfg, runId } = ctx;
  const prefix = `pycvbench-${runId}:`;
  const queue = `pycvbench-${runId}`;
  const idsFile = join(os.tmpdir(), `pycvbench-${runId}.ids`);
  const env = { CVBENCH_URL: `${redisBase()}/${PY_DB}`, CVBENCH_PREFIX: prefix, CVBENCH_QUEUE: queue, CVBENCH_PREFETCH: String(ccfg.prefetchMultiplier) };
  const deadline = Date.now() + capMs;
  pendingPy = { prefix, idsFile };
  ctx.log(`celery: canvas, worker -P ${ccfg.pyPool} -c ${ccfg.concurrency}; ${ccfg.warmup} warm-up + ${ccfg.repeat} timed × (chord ${ccfg.chordSize}, chain ${ccfg.chainLength})`);
  const worker = spawnPy(ctx, ['-m', 'celery', '-A', 'cvbench_app', 'worker', '-P', ccfg.pyPool, '-c', String(ccfg.concurrency), '--without-gossip', '--without-mingle', '--without-heartbeat', '-Q', queue, '-n', `pycvbench-${runId}@%h`, '-l', 'warning'], env);
  let client;
  try {
    // Ready: the worker_ready signal prints CVBENCH_READY (Celery redirects stdout to its logger, so either stream).
    const ready = new Promise((resolve) => {
      const check = () => /CVBENCH_READY/.test(worker.out.stdout + worker.out.stderr) && resolve('ready');
      worker.child.stdout.on('data', check);
      worker.child.stderr.on('data', check);
    });
    const t = timeout(Math.min(30_000, capMs));
    const r = await Promise.race([ready, worker.exited.then(() => 'exited'), t]);
    t.clear();
    if (r !== 'ready') throw new Error(`Celery worker ${r === 'exited' ? 'exited' : 'not ready after 30 s'}: ${tail(worker.out.stderr.trim(), 600)}`);

    const clientCfg = { chordSize: ccfg.chordSize, chainLength: ccfg.chainLength, warmup: ccfg.warmup, repeat: ccfg.repeat, timeoutS: ccfg.timeoutMs / 1000, idsFile };
    client = spawnPy(ctx, ['canvas_bench.py', JSON.stringify(clientCfg)], env);
    const tc = timeout(Math.max(1_000, deadline - Date.now()));
    const cr = await Promise.race([client.exited, tc]);
    tc.clear();
    const workerPeakRss = vmHwm(worker.child.pid);
    if (cr === 'timeout') {
      client.child.kill('SIGKILL');
      await client.exited;
      return { timedOut: true };
    }
    if (cr.code !== 0) throw new Error(`canvas_bench.py exited with ${cr.signal ?? cr.code}: ${tail(client.out.stderr.trim(), 600)}`);
    const last = client.out.stdout.trim().split('\n').pop();
    return { ...JSON.parse(last), workerPeakRss };
  } finally {
    if (client) await stopPy(client, 2_000);
    const w = await stopPy(worker);
    if (w.code !== 0 && w.code !== null) ctx.log(`celery: worker exited with ${w.code}: ${tail(worker.out.stderr.trim(), 300)}`);
    await cleanupPython(ctx, prefix, idsFile);
  }
}

/** The Python side's keys still to delete (for canvasFinalCleanup after Ctrl-C). */
let pendingPy;

/** run.mjs's final cleanup (also on Ctrl-C): whatever a Python run did not clean up yet. */
export async function canvasFinalCleanup(ctx) {
  if (pendingPy) await cleanupPython(ctx, pendingPy.prefix, pendingPy.idsFile);
}

/** Deletes this run's broker keys (prefix) and exactly the result keys of the ids the client listed. */
async function cleanupPython(ctx, prefix, idsFile) {
  const r = ctx.redisClient(PY_DB);
  try {
    if (r.status === 'wait') await r.connect();
    await deleteByPattern(r, `${prefix}*`);
    if (existsSync(idsFile)) {
      const keys = [];
      for (const line of readFileSync(idsFile, 'utf8').split('\n')) {
        const [kind, id] = line.trim().split(' ');
        if (!id || !/^[0-9a-f-]{36}$/i.test(id)) continue;
        if (kind === 't') keys.push(`celery-task-meta-${id}`);
        else if (kind === 'g') keys.push(`celery-taskset-meta-${id}`, ...['.j', '.t', '.s'].map((s) => `celery-taskset-meta-${id}${s}`));
      }
      for (let i = 0; i < keys.length; i += 1000) await r.unlink(...keys.slice(i, i + 1000));
      rmSync(idsFile, { force: true });
    }
    pendingPy = undefined;
  } catch (err) {
    ctx.errors.push(`cleanup celery canvas: ${err?.message ?? err}`);
  }
}

async function runCeleriac(ctx, capMs) {
  const { ccfg } = ctx;
  const prefix = `${ctx.celeriacRunPrefix}canvas:`;
  ctx.log(`celeriac: canvas, worker concurrency ${ccfg.concurrency}; ${ccfg.warmup} warm-up + ${ccfg.repeat} timed × (chord ${ccfg.chordSize}, chain ${ccfg.chainLength})`);
  let ready;
  const readyP = new Promise((r) => (ready = r));
  const workerP = ctx.runChild('canvas-child.mjs', { mode: 'worker', prefix, concurrency: ccfg.concurrency, prefetchMultiplier: ccfg.prefetchMultiplier }, { capMs: capMs + 30_000, onReady: ready });
  try {
    const worker = await Promise.race([readyP, workerP.then((r) => Promise.reject(new Error(`canvas worker child ended before ready: ${r.error ?? 'timed out'}`)))]);
    const res = await ctx.runChild('canvas-child.mjs', { mode: 'client', prefix, chordSize: ccfg.chordSize, chainLength: ccfg.chainLength, warmup: ccfg.warmup, repeat: ccfg.repeat, timeoutMs: ccfg.timeoutMs }, { capMs });
    worker.send({ type: 'stop' });
    const w = await workerP;
    const expected = (ccfg.warmup + ccfg.repeat) * (ccfg.chordSize + 1 + ccfg.chainLength);
    if (!res.error && !res.timedOut && w.processed !== expected) ctx.errors.push(`celeriac canvas worker: ran ${w.processed} tasks, expected ${expected}`);
    if (w.failed) ctx.errors.push(`celeriac canvas worker: ${w.failed} task(s) failed, first: ${w.firstError?.split('\n')[0]}`);
    if (res.error) throw new Error(res.error);
    if (res.timedOut) return { timedOut: true };
    return { chordMs: res.chordMs, chainMs: res.chainMs, clientPeakRss: res.clientPeakRss, workerPeakRss: w.peakRss, processed: w.processed };
  } catch (err) {
    for (const c of ctx.children) c.kill('SIGKILL');
    await workerP;
    throw err;
  } finally {
    try {
      await deleteByPattern(ctx.redisClient(CELERIAC_DB), `${prefix}*`);
    } catch (err) {
      ctx.errors.push(`cleanup celeriac canvas: ${err?.message ?? err}`);
    }
  }
}

/**
 * Runs the canvas case for Celeriac (when `runCeleriac`) and Python Celery (when `runPy`).
 * ctx: { ccfg, runId, celeriacRunPrefix, runChild, children, redisClient, log, capFor, errors }.
 * Returns { celeriac, celery, py } where each side is { chordMs, chainMs, … } | { error } | { timedOut } | { skipped } | { unavailable }.
 */
export async function phaseCanvas(ctx, { celeriac = true, py = true } = {}) {
  const out = { py: undefined };
  const side = async (name, fn) => {
    const capMs = ctx.capFor(ctx.ccfg.capMs);
    if (capMs < 5_000) return (out[name] = { skipped: true });
    try {
      out[name] = await fn(ctx, capMs);
    } catch (err) {
      ctx.errors.push(`${name} canvas: ${err?.stack ?? err}`);
      out[name] = { error: String(err?.message ?? err) };
    }
  };
  if (celeriac) await side('celeriac', runCeleriac);
  if (py) {
    out.py = pythonInfo(ctx.ccfg.python);
    if (out.py.error) {
      ctx.log(`celery: canvas skipped, ${ctx.ccfg.python} cannot import celery: ${out.py.error}`);
      out.celery = { unavailable: true };
    } else await side('celery', runPython);
  }
  return out;
}

/** The canvas section of the report: markdown lines (table + details). */
export function canvasReport(res, ccfg, { nf, mdTable }) {
  const best = (e, k) => {
    if (!e) return { note: 'not run' };
    if (e.unavailable) return { note: 'unavailable' };
    if (e.skipped) return { note: 'skipped (time budget)' };
    if (e.timedOut) return { note: 'timed out' };
    if (e.error) return { note: 'error' };
    const v = e[k];
    return v?.length ? { value: Math.min(...v) } : { note: 'n/a' };
  };
  const ms = (x) => (x.value !== undefined ? `${nf(x.value, 1)} ms` : x.note);
  const row = (metric, k) => {
    const c = best(res.celeriac, k);
    const p = best(res.celery, k);
    const ratio = c.value > 0 && p.value > 0 ? `${nf(p.value / c.value, 2)}×` : '—';
    return [metric, ms(c), ms(p), ratio, '—', ''];
  };
  const rows = [
    row(`Chord, ${nf(ccfg.chordSize)} no-op header tasks + sum body: dispatch → body result read (best)`, 'chordMs'),
    row(`Chain, ${nf(ccfg.chainLength)} steps of inc: dispatch → final result read (best)`, 'chainMs'),
  ];
  const details = [];
  const MB = 1024 * 1024;
  for (const [name, e] of [['celeriac', res.celeriac], ['celery', res.celery]]) {
    if (!e?.chordMs) continue;
    const runs = (k) => e[k].map((v) => `${nf(v, 1)}`).join(', ');
    const mem = [e.workerPeakRss && `worker${name === 'celery' && ccfg.pyPool === 'prefork' ? ' (main process)' : ''} peak RSS ${nf(e.workerPeakRss / MB, 1)} MB`, e.clientPeakRss && `client peak RSS ${nf(e.clientPeakRss / MB, 1)} MB`].filter(Boolean).join(', ');
    details.push([name === 'celery' ? 'Python Celery' : 'Celeriac', 'chord', `runs (ms): ${runs('chordMs')}; ${nf(ccfg.chordSize / (Math.min(...e.chordMs) / 1000))} header tasks/s at best`, mem]);
    details.push([name === 'celery' ? 'Python Celery' : 'Celeriac', 'chain', `runs (ms): ${runs('chainMs')}; ${nf(Math.min(...e.chainMs) / ccfg.chainLength, 2)} ms per step at best`, '']);
  }
  const py = res.py && !res.py.error ? `Python ${res.py.py}, Celery ${res.py.celery}, kombu ${res.py.kombu}, redis-py ${res.py.redis}` : `Python Celery unavailable${res.py?.error ? ` (${res.py.error})` : ''}`;
  return [
    '## Canvas: Celeriac vs Python Celery',
    '',
    `Same local Redis (Celeriac DB ${CELERIAC_DB}, Celery DB ${PY_DB}); worker concurrency ${ccfg.concurrency} on both sides (Celeriac: one Node worker process; Celery: \`-P ${ccfg.pyPool} -c ${ccfg.concurrency}\`), prefetch multiplier ${ccfg.prefetchMultiplier}; ` +
      `best of ${ccfg.repeat} timed run(s) after ${ccfg.warmup} warm-up round(s); ${py}.`,
    '',
    mdTable(['metric', 'Celeriac', 'Python Celery', 'ratio', 'target', '✓/✗'], rows),
    '',
    'ratio > 1 means Celeriac is faster (Python Celery time / Celeriac time). Timed in the client process from applyAsync / apply_async until get() returned the checked result; the canvas object is built before the clock starts.',
    '',
    ...(details.length ? [mdTable(['library', 'case', 'measured', 'memory'], details), ''] : []),
  ];
}
