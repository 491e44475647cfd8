/**
 * `celeriac result <id>`: waits for a task's result and prints it as JSON on stdout (exit 0). A
 * failed or revoked task prints `ExcType: message` on stderr (with --traceback, the traceback too)
 * and exits 1; so does giving up after --timeout.
 */
import { Command, Option } from 'commander';
import { stringifyJson } from '../../protocol/serializers';
import { addAppOptions, commandOptions, openApp, parseInteger, type AppOptions, type CliContext } from '../load-app';

/** Parsed `celeriac result` options. */
export interface ResultCommandOptions extends AppOptions {
  /** Milliseconds; undefined waits forever. */
  timeout?: number;
  traceback?: boolean;
}

// Matched by code, not instanceof: the app module may bring its own copy of @celeriac/core.
interface TaskFailure {
  code: 'CELERIAC_REMOTE_TASK';
  message: string;
  traceback: string | null;
}

function codeOf(err: unknown): unknown {
  return err && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
}

/** Waits for and prints the result. Resolves with the exit code. */
export async function runResult(ctx: CliContext, id: string, options: ResultCommandOptions): Promise<number> {
  const { app } = await openApp(ctx, options);
  try {
    const value = await app.asyncResult(id).get({ timeout: options.timeout });
    ctx.stdout(`${stringifyJson(value ?? null)}\n`);
    return 0;
  } catch (err) {
    switch (codeOf(err)) {
      case 'CELERIAC_REMOTE_TASK': {
        const failure = err as TaskFailure;
        ctx.stderr(`${failure.message}\n`);
        if (options.traceback) ctx.stderr(failure.traceback ? `${failure.traceback.trimEnd()}\n` : '(no traceback stored)\n');
        return 1;
      }
      case 'CELERIAC_TASK_REVOKED':
        ctx.stderr(`TaskRevokedError: ${(err as Error).message}\n`);
        return 1;
      case 'CELERIAC_RESULT_TIMEOUT':
        ctx.stderr(`error: ${(err as Error).message}\n`);
        return 1;
      default:
        throw err;
    }
  } finally {
    await app.close();
  }
}

/** The `result` command. */
export function resultCommand(ctx: CliContext, done: (exitCode: number) => void): Command {
  const cmd = new Command('result')
    .description('Wait for a task\'s result and print it as JSON.')
    .argument('<id>', 'task id, as printed by `celeriac call`')
    .addOption(new Option('--timeout <ms>', 'give up after this many milliseconds (exit 1) [default: wait forever]').argParser(parseInteger(0)))
    .addOption(new Option('--traceback', 'for a failed task, print its traceback too'));
  addAppOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Exit codes: 0 result printed; 1 the task failed or was revoked, or --timeout passed; 2 bad usage.

Example:
  $ celeriac result -A dist/worker.js --timeout 10000 "$(celeriac call math.add -A dist/worker.js --args '[2, 3]')"`,
  );
  cmd.action(async (id: string, _options: unknown, command: Command) => {
    done(await runResult(ctx, id, commandOptions<ResultCommandOptions>(command)));
  });
  return cmd;
}
