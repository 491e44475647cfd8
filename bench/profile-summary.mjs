#!/usr/bin/env node
/**
 * Summarizes V8 .cpuprofile files (from `BENCH_CPU_PROF=<dir> node bench/run.mjs`, or any
 * `node --cpu-prof`): the top functions by self time, and self time grouped by package/file.
 *
 *   node bench/profile-summary.mjs <file.cpuprofile | dir> [--top 30] [--callers writeUtf8String]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const top = Number(opt('--top') ?? 30);
/** --callers <functionName>: the heaviest call stacks (self time) ending in that function. */
const callersOf = opt('--callers');
const inputs = args.filter((a, i) => !a.startsWith('--') && !['--top', '--callers'].includes(args[i - 1]));
if (!inputs.length) {
  console.error('usage: node bench/profile-summary.mjs <file.cpuprofile | dir> [--top N]');
  process.exit(2);
}
const files = inputs.flatMap((p) => (statSync(p).isDirectory() ? readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(p, f)) : [p]));

/** node_modules/<pkg> or packages/core/dist/<file>, else the file name; `full` keeps the file in the package. */
function where(url, full = false) {
  if (!url) return '(native/V8)';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 'node_modules/'.length).split('/');
    const n = rest[0].startsWith('@') ? 2 : 1;
    return full ? `${rest.slice(0, n).join('/')}/${rest.slice(n).join('/').replace(/^(dist|built|lib)\//, '')}` : rest.slice(0, n).join('/');
  }
  if (path.startsWith('node:')) return path;
  const core = path.indexOf('packages/core/dist/');
  if (core >= 0) return `celeriac:${path.slice(core + 'packages/core/dist/'.length)}`;
  return relative(process.cwd(), path) || path;
}

for (const file of files) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map(); // node id -> µs
  const dts = prof.timeDeltas;
  for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (dts[i] ?? 0));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fn = new Map();
  const group = new Map();
  for (const [id, us] of self) {
    const n = byId.get(id);
    const cf = n.callFrame;
    const name = cf.functionName || (cf.url ? '(anonymous)' : `(${cf.functionName || 'program'})`);
    const w = where(cf.url);
    const key = `${name} ${cf.url ? `${where(cf.url, true)}:${cf.lineNumber + 1}` : w}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const g = ['(garbage collector)', '(idle)', '(program)'].includes(cf.functionName) ? cf.functionName : w;
    group.set(g, (group.get(g) ?? 0) + us);
  }
  const pct = (us) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
  console.log(`\n## ${file}  (${(total / 1000).toFixed(0)} ms sampled)\n`);
  console.log('Self time by package/file:');
  for (const [g, us] of [...group].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(6)} ms  ${g}`);
  console.log(`\nTop ${top} functions by self time:`);
  for (const [k, us] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
  if (callersOf) {
    const parent = new Map();
    for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const stacks = new Map();
    for (const [id, us] of self) {
      if (byId.get(id).callFrame.functionName !== callersOf) continue;
      const frames = [];
      for (let p = parent.get(id); p !== undefined && frames.length < 8; p = parent.get(p)) {
        const cf = byId.get(p).callFrame;
        if (cf.functionName === '(root)') break;
        frames.push(`${cf.functionName || '(anonymous)'}@${where(cf.url, true)}:${cf.lineNumber + 1}`);
      }
      const key = frames.join(' < ');
      stacks.set(key, (stacks.get(key) ?? 0) + us);
    }
    console.log(`\nCall stacks of ${callersOf} (self time, innermost caller first):`);
    for (const [k, us] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
  }
}
