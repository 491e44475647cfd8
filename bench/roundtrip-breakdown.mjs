#!/usr/bin/env node
/**
 * Diagnostic (not part of `npm run bench`): where a Celeriac delay→get round trip spends its time.
 * Producer and worker run in ONE process (one clock), worker concurrency 10, results in Redis.
 * Each iteration is split at the worker's events:
 *
 *   publish    t.delay() called → delay() resolved (LPUSH acknowledged)
 *   deliver    t.delay() called → worker 'task-received' (BRPOP/fetch + unacked record + decode)
 *   ack        'task-received' → 'task-started' (slot + early ack awaited)
 *   result     'task-started' → get() resolved (task runs, result SET+PUBLISH, pub/sub message reaches
 *              the producer's subscriber)
 *   (store ack 'task-started' → 'task-succeeded': the worker's await of the store; often later than
 *              get() resolving, as the PUBLISH reaches the subscriber before the EVALSHA reply)
 *
 *   node bench/roundtrip-breakdown.mjs [iterations=2000]
 */
import { deleteByPattern, loadCeleriac, loadIoredis, makeCeleriacApp, celeriacUrl } from './lib.mjs';

const iterations = Number(process.argv[2] ?? 2000);
const warmup = 200;
const core = loadCeleriac();
const prefix = `cbench-breakdown-${process.pid}:`;
const { app, task } = makeCeleriacApp(core, { prefix, results: true });
const worker = new core.Worker(app, { concurrency: 10 });
const now = () => process.hrtime.bigint();
const marks = new Map();
worker.on('task-received', ({ id }) => (marks.get(id) ?? marks.set(id, {}).get(id)).received = now());
worker.on('task-started', ({ id }) => (marks.get(id) ?? marks.set(id, {}).get(id)).started = now());
worker.on('task-succeeded', ({ id }) => (marks.get(id) ?? marks.set(id, {}).get(id)).succeeded = now());

const phases = ['publish', 'deliver', 'ack', 'result', 'total', '(store ack)'];
const samples = Object.fromEntries(phases.map((p) => [p, []]));
try {
  await worker.start();
  for (let i = 0; i < warmup + iterations; i++) {
    const t0 = now();
    const r = await task.delay(i);
    const t1 = now();
    await r.get({ timeout: 5000 });
    const t2 = now();
    let m = marks.get(r.id);
    for (let k = 0; k < 1000 && !m?.succeeded; k++) {
      await new Promise((res) => setImmediate(res)); // the worker's own await of the store may end after get()
      m = marks.get(r.id);
    }
    marks.delete(r.id);
    if (i < warmup || !m?.received || !m.started || !m.succeeded) continue;
    const ms = (a, b) => Number(b - a) / 1e6;
    samples.publish.push(ms(t0, t1));
    samples.deliver.push(ms(t0, m.received));
    samples.ack.push(ms(m.received, m.started));
    samples.result.push(ms(m.started, t2));
    samples['(store ack)'].push(ms(m.started, m.succeeded));
    samples.total.push(ms(t0, t2));
  }
} finally {
  await worker.close();
  await app.close();
  const { Redis } = loadIoredis();
  const r = new Redis(celeriacUrl());
  await deleteByPattern(r, `${prefix}*`);
  await r.quit();
}

const pct = (a, q) => a[Math.min(a.length - 1, Math.max(0, Math.ceil(q * a.length) - 1))];
console.log(`Celeriac round trip breakdown, ${samples.total.length} iterations (producer + worker c=10 in one process)`);
console.log('| phase | p50 ms | p99 ms | mean ms |\n| --- | --- | --- | --- |');
for (const p of phases) {
  const a = samples[p].sort((x, y) => x - y);
  const mean = a.reduce((x, y) => x + y, 0) / a.length;
  console.log(`| ${p} | ${pct(a, 0.5).toFixed(3)} | ${pct(a, 0.99).toFixed(3)} | ${mean.toFixed(3)} |`);
}
