#!/usr/bin/env node
/**
 * The `celeriac` command: `worker`, `beat`, `call`, `result`, `purge`, `inspect`, `control`, `events`, named and
 * flagged as Celery's.
 *
 * Exit codes: 0 success; 1 a runtime failure (broker unreachable, task failed, timeout, the app
 * module threw while loading); 2 bad usage (unknown or malformed flag, bad JSON, no -A, an -A
 * that names no module or no app).
 *
 * @example
 * $ celeriac worker -A dist/worker.js -c 4
 * $ celeriac call math.add -A dist/worker.js --args '[2, 3]'
 * $ celeriac result -A dist/worker.js <id>
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { beatCommand } from './commands/beat.command';
import { callCommand } from './commands/call.command';
import { eventsCommand } from './commands/events.command';
import { controlCommand, inspectCommand } from './commands/inspect.command';
import { purgeCommand } from './commands/purge.command';
import { resultCommand } from './commands/result.command';
import { workerCommand } from './commands/worker.command';
import { addAppOptions, describeError, type CliContext } from './load-app';

/** The version of @celeriac/core (src/cli and dist/cli both sit two levels below package.json). */
export function cliVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The context of the real process. */
export function processContext(): CliContext {
  return {
    env: process.env,
    cwd: process.cwd(),
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    stdinIsTTY: Boolean(process.stdin.isTTY),
    prompt: async (question) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
    signals: process,
    exit: (code) => process.exit(code),
  };
}

/** The program with its commands; `done` receives the exit code of the command that ran. */
export function createProgram(ctx: CliContext, done: (exitCode: number) => void, version = cliVersion()): Command {
  const program = new Command('celeriac')
    .description('Celeriac: a Celery-compatible task queue for TypeScript. Run workers, send tasks, read results.')
    .version(version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: ctx.stdout, writeErr: ctx.stderr })
    .showSuggestionAfterError();
  addAppOptions(program);
  program.addHelpText(
    'after',
    `
-A, -b and --result-backend may come before or after the command name (celeriac -A dist/worker.js worker).
Exit codes: 0 success; 1 runtime failure (broker unreachable, task failed, timeout); 2 bad usage.

Examples:
  $ celeriac worker -A dist/worker.js -c 4 -Q celery,billing
  $ celeriac beat -A dist/worker.js
  $ celeriac call math.add -A dist/worker.js --args '[2, 3]'
  $ celeriac result <task-id> -A dist/worker.js --timeout 10000
  $ celeriac purge -A dist/worker.js -f
  $ celeriac inspect active -A dist/worker.js
  $ celeriac control revoke <task-id> --terminate -A dist/worker.js
  $ celeriac events -A dist/worker.js`,
  );
  for (const cmd of [workerCommand(ctx, version, done), beatCommand(ctx, version, done), callCommand(ctx, done), resultCommand(ctx, done), purgeCommand(ctx, done), inspectCommand(ctx, done), controlCommand(ctx, done), eventsCommand(ctx, done)]) {
    program.addCommand(cmd.copyInheritedSettings(program));
  }
  return program;
}

/** The exit code of an error that ended a command. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  const e = err as { code?: unknown; key?: unknown } | null;
  // ConfigErrors keyed by a flag (-A, --args, ...) are usage errors; keyed by a setting, runtime ones.
  if (e && e.code === 'CELERIAC_CONFIG' && typeof e.key === 'string' && e.key.startsWith('-')) return 2;
  return 1;
}

/** Runs the CLI with the user's arguments (no `node` and script path); resolves with the exit code. */
export async function main(args: readonly string[], ctx: CliContext = processContext()): Promise<number> {
  let exitCode = 0;
  const program = createProgram(ctx, (code) => (exitCode = code));
  try {
    await program.parseAsync([...args], { from: 'user' });
    return exitCode;
  } catch (err) {
    // Commander has already printed its own errors, help and version.
    if (!(err instanceof CommanderError)) ctx.stderr(`error: ${describeError(err)}\n`);
    return exitCodeFor(err);
  }
}

if (require.main === module) {
  // `celeriac ... | head` closes the pipe early: end quietly instead of crashing on EPIPE.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    // Everything is closed by now; a handle left open by user code must not keep the CLI alive.
    setTimeout(() => process.exit(code), 2000).unref();
  });
}
