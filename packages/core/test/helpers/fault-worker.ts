/**
 * A `celeriac worker` child process running the fault fixture app (test/fixtures/fault/fault-app.js,
 * built JS: run `npx tsc -b tsconfig.json` first), with its JSON log lines (stderr) collected so a
 * test can wait for one or count them by reason. `stopAll()` ends every worker a file started.
 *
 * @example
 * const w = startFaultWorker({ brokerUrl, ledgerUrl: ns.redisUrl, prefix: ns.prefix });
 * await w.ready;
 * await w.kill('SIGKILL');
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { Celeriac, createLogger, type CeleriacOptions } from '../../src';
import { waitFor } from './wait';

const ROOT = resolve(__dirname, '../../../..');
const MAIN = resolve(ROOT, 'packages/core/dist/cli/main.js');
const FIXTURE = resolve(__dirname, '../fixtures/fault/fault-app.js');

/** A pino line as the worker writes it (other fields kept). */
export interface LogLine {
  level: number;
  time: number;
  msg: string;
  id?: string | null;
  task?: string | null;
  err?: { type?: string; message?: string };
  [field: string]: unknown;
}

export interface FaultWorkerOptions {
  brokerUrl: string;
  ledgerUrl: string;
  prefix: string;
  concurrency?: number;
  /** Redis broker: seconds before an unacked message is restored. */
  visibilityTimeout?: number;
  /** AMQP: the exchange the default queue dead-letters to. */
  deadLetterExchange?: string;
  name?: string;
  loglevel?: string;
}

export interface FaultWorker {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every JSON line logged so far, in order. */
  readonly lines: LogLine[];
  /** Resolves once the worker logged that it is ready (rejects if it exits first). */
  readonly ready: Promise<void>;
  readonly alive: boolean;
  /** Lines whose `msg` matches. */
  count(match: (line: LogLine) => boolean): number;
  /** Sends `signal` and waits for the exit; resolves with the exit code or signal. */
  kill(signal: NodeJS.Signals): Promise<string>;
}

const started: FaultWorker[] = [];

export function startFaultWorker(options: FaultWorkerOptions): FaultWorker {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FAULT_BROKER_URL: options.brokerUrl,
    FAULT_LEDGER_URL: options.ledgerUrl,
    FAULT_PREFIX: options.prefix,
    FAULT_VISIBILITY_TIMEOUT: String(options.visibilityTimeout ?? 3600),
  };
  if (options.deadLetterExchange) env.FAULT_DLX = options.deadLetterExchange;
  const args = [MAIN, 'worker', '-A', FIXTURE, '-c', String(options.concurrency ?? 16), '-n', `${options.name ?? 'fault'}@%h`, '-l', options.loglevel ?? 'info'];
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const lines: LogLine[] = [];
  let rest = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop()!;
    for (const text of parts) {
      if (!text) continue;
      try {
        lines.push(JSON.parse(text) as LogLine);
      } catch {
        lines.push({ level: 0, time: Date.now(), msg: text }); // not pino's: kept as text
      }
    }
  });
  let exit: string | undefined;
  const exited = new Promise<string>((done) => child.once('exit', (code, signal) => done((exit = String(signal ?? code)))));
  const ready = Promise.race([
    waitFor(() => lines.some((l) => l.msg.endsWith(' ready.')), 30_000, 'the worker to be ready', 20),
    exited.then((how) => {
      throw new Error(`worker exited (${how}) before it was ready:\n${lines.map((l) => l.msg).join('\n')}`);
    }),
  ]);
  ready.catch(() => undefined);
  const worker: FaultWorker = {
    child,
    pid: child.pid!,
    lines,
    ready,
    get alive() {
      return exit === undefined;
    },
    count: (match) => lines.reduce((n, l) => (match(l) ? n + 1 : n), 0),
    kill: async (signal) => {
      if (exit === undefined) child.kill(signal);
      return exited;
    },
  };
  started.push(worker);
  return worker;
}

/** SIGKILLs every worker still running (afterAll). */
export async function stopAllFaultWorkers(): Promise<void> {
  await Promise.all(started.splice(0).map((w) => w.kill('SIGKILL')));
}

/**
 * Publishes `total` `fault.work` tasks (each busy `workMs`, as the fixture app defines it) in batches of
 * 1000 through a producer built from `settings`; returns their ids.
 */
export async function publishFaultTasks(settings: CeleriacOptions, total: number, workMs: number): Promise<string[]> {
  const client = new Celeriac({ ...settings, logger: createLogger('silent') });
  try {
    const ids: string[] = [];
    for (let i = 0; i < total; i += 1000) {
      const batch = Array.from({ length: Math.min(1000, total - i) }, () => ({ name: 'fault.work', args: [workMs], kwargs: {}, options: {}, embed: {} }));
      ids.push(...(await client.sendTasks(batch)).map((r) => r.id));
    }
    return ids;
  } finally {
    await client.close();
  }
}
