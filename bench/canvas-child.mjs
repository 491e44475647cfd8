/**
 * The Celeriac side of the canvas benchmark (bench/canvas.mjs), one role per process. Started by
 * run.mjs with child_process.fork; config as JSON in argv[2]; reports over IPC.
 *
 * Modes:
 * - worker: a Celeriac worker (Redis broker and result backend on DB 14, this run's key prefix)
 *   serving cv.noop / cv.tsum / cv.inc; reports 'ready', runs until the parent sends 'stop'.
 * - client: builds the chord and the chain with chord(...) / chain(...) and times them:
 *   `warmup` untimed rounds, then `repeat` timed rounds, each one chord then one chain.
 *     chord: chord([noop.s(0) … noop.s(chordSize - 1)], tsum.s()), timed from applyAsync() until
 *            the body's result has been read by get() ({n, sum} is checked);
 *     chain: chain(inc.s(0), inc.s() × (chainLength - 1)), timed from applyAsync() until the last
 *            result has been read (== chainLength is checked).
 *   The canvas objects are built before the clock starts (as bench/py/canvas_bench.py does).
 *
 * The tasks match bench/py/cvbench_app.py: noop(i) = i, tsum(values) = {n, sum}, inc(x) = x + 1.
 */
import { celeriacUrl, childConfig, loadCeleriac, nowMs, rssSampler, send, withTimeout } from './lib.mjs';

const sampler = rssSampler(50);
const cfg = childConfig();

function makeApp(core) {
  const url = celeriacUrl();
  const app = new core.Celeriac({
    brokerUrl: url,
    brokerTransportOptions: { globalKeyprefix: cfg.prefix },
    resultBackend: url,
    resultBackendTransportOptions: { globalKeyprefix: cfg.prefix },
    workerLogLevel: 'silent',
    logger: core.createLogger('silent'),
  });
  const noop = app.task('cv.noop', (i) => i);
  const tsum = app.task('cv.tsum', (values) => ({ n: values.length, sum: values.reduce((a, b) => a + b, 0) }));
  const inc = app.task('cv.inc', (x) => x + 1);
  return { app, noop, tsum, inc };
}

async function worker(core) {
  const { app } = makeApp(core);
  let processed = 0;
  let failed = 0;
  let firstError;
  const w = new core.Worker(app, { queues: ['celery'], concurrency: cfg.concurrency, prefetchMultiplier: cfg.prefetchMultiplier });
  w.on('task-succeeded', () => processed++);
  w.on('task-failed', (e) => {
    failed++;
    firstError ??= e.error;
  });
  w.on('error', (err) => {
    failed++;
    firstError ??= err;
  });
  await withTimeout(app.connect(), 10_000, 'connect');
  const stopped = new Promise((resolve) => process.on('message', (m) => m?.type === 'stop' && resolve()));
  await w.start();
  await send({ type: 'ready' });
  await stopped;
  const peakRss = sampler.stop();
  await withTimeout(w.close(), 10_000, 'worker close').catch(() => undefined);
  await app.close().catch(() => undefined);
  await send({ type: 'result', processed, failed, peakRss, firstError: firstError ? String(firstError?.stack ?? firstError) : undefined });
}

async function client(core) {
  const { app, noop, tsum, inc } = makeApp(core);
  await withTimeout(app.connect(), 10_000, 'connect');
  const N = cfg.chordSize;
  const L = cfg.chainLength;
  const opts = { timeout: cfg.timeoutMs };

  async function runChord() {
    const sig = core.chord(Array.from({ length: N }, (_, i) => noop.s(i)), tsum.s());
    const t0 = nowMs();
    const res = await sig.applyAsync();
    const value = await res.get(opts);
    const ms = nowMs() - t0;
    if (value?.n !== N || value?.sum !== (N * (N - 1)) / 2) throw new Error(`chord returned ${JSON.stringify(value)}, expected {"n":${N},"sum":${(N * (N - 1)) / 2}}`);
    return ms;
  }
  async function runChain() {
    const sig = core.chain(inc.s(0), ...Array.from({ length: L - 1 }, () => inc.s()));
    const t0 = nowMs();
    const res = await sig.applyAsync();
    const value = await res.get(opts);
    const ms = nowMs() - t0;
    if (value !== L) throw new Error(`chain returned ${JSON.stringify(value)}, expected ${L}`);
    return ms;
  }

  for (let i = 0; i < cfg.warmup; i++) {
    await runChord();
    await runChain();
  }
  const chordMs = [];
  const chainMs = [];
  for (let i = 0; i < cfg.repeat; i++) {
    chordMs.push(await runChord());
    chainMs.push(await runChain());
  }
  const clientPeakRss = sampler.stop();
  await app.close().catch(() => undefined);
  await send({ type: 'result', chordMs, chainMs, clientPeakRss });
}

async function main() {
  const core = loadCeleriac();
  if (cfg.mode === 'worker') await worker(core);
  else if (cfg.mode === 'client') await client(core);
  else throw new Error(`unknown mode ${cfg.mode}`);
}

main().then(
  () => process.exit(0),
  async (err) => {
    await send({ type: 'error', message: String(err?.stack ?? err) });
    process.exit(1);
  },
);
