/** Runs the built sample (and the celeriac CLI) as child processes, and polls its HTTP API. */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const children: ChildProcess[] = [];
/** Kills every process started here that is still running (call from afterAll). */
export function killChildren(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** The environment of a child: the outer CELERIAC_* and SAMPLE_ROLES removed, each its own in-memory beat database unless given. */
function childEnv(extraEnv: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0' };
  for (const key of Object.keys(env)) if (key.startsWith('CELERIAC_') || key === 'SAMPLE_ROLES') delete env[key];
  return { ...env, CELERIAC_BEAT_DB_URL: 'sqlite::memory:', ...extraEnv };
}

/** A started child and everything it printed so far. */
export interface Started {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the first match of `pattern` in the output; rejects after `timeoutMs` with the output. */
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpExecArray>;
}

export function startProcess(args: string[], extraEnv: NodeJS.ProcessEnv, cwd?: string): Started {
  const child = spawn(process.execPath, args, { env: childEnv(extraEnv), cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer): void => {
    out += d.toString();
    for (const l of listeners) l();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const waitFor = (pattern: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> =>
    new Promise((resolveMatch, reject) => {
      const check = (): void => {
        const m = pattern.exec(out);
        if (!m) return;
        listeners.delete(check);
        clearTimeout(timer);
        resolveMatch(m);
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`no ${pattern} after ${timeoutMs} ms; output:\n${out}`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });
  return { child, output: () => out, waitFor };
}

/** Starts the built sample with `extraEnv`; resolves once it listens. */
export async function startSample(extraEnv: NodeJS.ProcessEnv): Promise<Started & { base: string }> {
  const started = startProcess([resolve(__dirname, '../dist/main.js')], extraEnv);
  const m = await started.waitFor(/listening on (http:\/\/\S+)/);
  return { ...started, base: m[1]! };
}

/** Deletes this file's Redis keys (SCAN + UNLINK under its prefix, never FLUSHDB). */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}

export async function poll(url: string, done: (body: Record<string, unknown>) => boolean, timeoutMs = 10_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  // The admin's URLs need the sample's admin credentials; the others ignore them.
  const headers = url.includes('/admin/') ? { authorization: `Basic ${Buffer.from('admin:celeriac').toString('base64')}` } : undefined;
  for (;;) {
    const body = (await (await fetch(url, { headers })).json()) as Record<string, unknown>;
    if (done(body)) return body;
    if (Date.now() > deadline) throw new Error(`timed out waiting on ${url}: last ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
