// Our npm mirror serves only this platform's native binaries, so `npm install` leaves other platforms'
// optional packages (e.g. @swc/core-darwin-arm64) out of package-lock.json, and `npm ci` then calls the
// lock out of sync. This adds a stub entry (version, optional, os, cpu) for each missing optional
// dependency; npm ci skips them by platform without downloading. Run after `npm install`.
import { readFileSync, writeFileSync } from 'node:fs';

const OS = ['darwin', 'linux', 'win32', 'android', 'freebsd', 'openbsd', 'netbsd', 'sunos', 'aix', 'wasi'];
const CPU = ['arm64', 'x64', 'ia32', 'arm', 'ppc64', 's390x', 'riscv64', 'loong64', 'wasm32', 'mips64el'];
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const pkgs = lock.packages;
let added = 0;
for (const [path, meta] of Object.entries(pkgs)) {
  for (const [name, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const base = path ? `${path}/node_modules/${name}` : `node_modules/${name}`;
    if (pkgs[base] || pkgs[`node_modules/${name}`]) continue;
    const parts = name.split('/').pop().split('-');
    const os = OS.filter((o) => parts.includes(o) || (o === 'wasi' && parts.some((p) => p.startsWith('wasi'))));
    const cpu = CPU.filter((c) => parts.includes(c) || (c === 'arm' && parts.some((p) => p.startsWith('gnueabihf') || p === 'armv7')));
    if (!os.length && !cpu.length) continue; // not a platform binary; leave it to npm
    pkgs[`node_modules/${name}`] = { version: String(version).replace(/^[\^~=]/, ''), optional: true, ...(os.length ? { os } : {}), ...(cpu.length ? { cpu } : {}) };
    added++;
  }
}
writeFileSync('package-lock.json', JSON.stringify(lock, null, 2) + '\n');
console.log(`added ${added} platform stub(s)`);
