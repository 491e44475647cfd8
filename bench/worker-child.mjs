/**
 * One worker in its own process, so heap, GC and RSS of one case never leak into another.
 * Started by run.mjs with child_process.fork; config as JSON in argv[2]; reports over IPC.
 *
 * Modes:
 * - throughput: the queue is already filled with `n` messages; connect, then time from starting
 *   the worker until `n` tasks have finished; report elapsed time, rate and peak RSS.
 * - serve: start the worker, report 'ready', run until the parent sends 'stop' (round trip phase).
 *
 * Messages to the parent: {type:'ready'}, {type:'progress', processed}, {type:'result', ...},
 * {type:'error', message}.
 */
import { bullConnection, childConfig, loadBullmq, loadCeleriac, makeCeleriacApp, nowMs, rssSampler, send, withTimeout } from './lib.mjs';

const sampler = rssSampler(50);
const cfg = childConfig();
const { lib, mode, concurrency, results, n = 0 } = cfg;

let processed = 0;
let failed = 0;
let firstError;
let onCount = () => {};
const progress = setInterval(() => void send({ type: 'progress', processed, failed }), 1000);
progress.unref();

function counted() {
  processed++;
  onCount();
}
function failedOne(err) {
  failed++;
  firstError ??= err;
  onCount();
}

/** Builds the worker of `lib`; returns { connect(), start(), close() }. */
function build() {
  if (lib === 'celeriac') {
    const core = loadCeleriac();
    const { app } = makeCeleriacApp(core, { prefix: cfg.prefix, results });
    const worker = new core.Worker(app, { queues: ['celery'], concurrency, prefetchMultiplier: cfg.prefetchMultiplier });
    worker.on('task-succeeded', counted);
    worker.on('task-failed', (e) => failedOne(e.error));
    worker.on('error', (err) => failedOne(err));
    return {
      connect: () => app.connect(),
      start: () => worker.start(),
      close: async () => {
        await worker.close();
        await app.close();
      },
    };
  }
  if (lib === 'bullmq') {
    const { Worker } = loadBullmq();
    // "results ignored": return nothing and remove the job on completion; "results stored": return
    // a value and keep the completed job (BullMQ's default), which is where BullMQ keeps results.
    // The worker-level removeOnComplete takes the KeepJobs object form: bullmq 6.7 passes a bare
    // `true` through to its Lua script unconverted ("attempt to index field 'keepJobs'").
    const processor = results ? async (job) => job.data.i : async () => undefined;
    const worker = new Worker(cfg.queueName, processor, {
      connection: bullConnection({ maxRetriesPerRequest: null }),
      concurrency,
      autorun: false,
      removeOnComplete: results ? false : { count: 0 },
      removeOnFail: false,
    });
    worker.on('completed', counted);
    worker.on('failed', (_job, err) => failedOne(err));
    worker.on('error', (err) => failedOne(err));
    let running;
    return {
      connect: () => worker.waitUntilReady(),
      start: async () => {
        running = worker.run().catch((err) => failedOne(err));
      },
      close: async () => {
        await worker.close();
        await running;
      },
    };
  }
  throw new Error(`unknown lib ${lib}`);
}

async function main() {
  const w = build();
  await withTimeout(w.connect(), 10_000, 'connect');
  if (mode === 'throughput') {
    const done = new Promise((resolve) => {
      onCount = () => {
        if (processed + failed >= n) resolve();
      };
    });
    // What the process holds before any work: modules, clients, connections (the floor of its peak).
    const readyRss = process.memoryUsage.rss();
    const t0 = nowMs();
    await w.start();
    await done;
    const elapsedMs = nowMs() - t0;
    const peakRss = sampler.stop();
    const mem = process.memoryUsage();
    await send({ type: 'result', processed, failed, elapsedMs, rate: (processed / elapsedMs) * 1000, peakRss, readyRss, heapUsed: mem.heapUsed, firstError: firstError ? String(firstError?.stack ?? firstError) : undefined });
    await withTimeout(w.close(), 10_000, 'worker close').catch(() => undefined);
  } else if (mode === 'serve') {
    const stopped = new Promise((resolve) => process.on('message', (m) => m?.type === 'stop' && resolve()));
    await w.start();
    await send({ type: 'ready' });
    await stopped;
    const peakRss = sampler.stop();
    await withTimeout(w.close(), 10_000, 'worker close').catch(() => undefined);
    await send({ type: 'result', processed, failed, peakRss, firstError: firstError ? String(firstError?.stack ?? firstError) : undefined });
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
}

main().then(
  () => process.exit(0),
  async (err) => {
    await send({ type: 'error', message: String(err?.stack ?? err) });
    process.exit(1);
  },
);
