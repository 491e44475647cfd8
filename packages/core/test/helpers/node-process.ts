/**
 * A Node child process started from the repository root (a `celeriac` CLI worker, a script), its
 * stdout and stderr collected, waited on until its output shows it is ready.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { waitFor } from './wait';

export const REPO_ROOT = resolve(__dirname, '../../../..');
/** The built `celeriac` command line (run `npx tsc -b tsconfig.json` first). */
export const CLI_MAIN = resolve(REPO_ROOT, 'packages/core/dist/cli/main.js');

export interface StartedProcess {
  proc: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output: () => string;
  /** Its exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /**
   * Waits until the output shows `text` (a string or pattern). A log line written before a result
   * was stored can still be on its way through the pipe when the result arrives over Redis.
   */
  logged: (text: string | RegExp, timeoutMs?: number) => Promise<void>;
}

export interface LaunchOptions {
  /** Text in the output that means it is ready. */
  ready: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Its own process group (for a signal to the whole group). */
  detached?: boolean;
  timeoutMs?: number;
  /** Where the process is recorded, for the file's cleanup. */
  spawned?: ChildProcess[];
}

/** Runs `node ...args`; resolves once its output shows `ready`, throws with the output if it exits first. */
export async function launchNode(args: string[], options: LaunchOptions): Promise<StartedProcess> {
  const proc = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  options.spawned?.push(proc);
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  await waitFor(() => out.includes(options.ready) || proc.exitCode !== null, options.timeoutMs ?? 15_000, `ready: ${args.join(' ')}`);
  if (proc.exitCode !== null) throw new Error(`exited at start:\n${out}`);
  const shows = (text: string | RegExp): boolean => (typeof text === 'string' ? out.includes(text) : text.test(out));
  const logged = (text: string | RegExp, timeoutMs = 5000): Promise<void> =>
    waitFor(() => shows(text), timeoutMs, `output showing ${String(text)}`).catch((err: Error) => {
      throw new Error(`${err.message}\nOutput so far:\n${out}`);
    });
  return { proc, output: () => out, exited, logged };
}
