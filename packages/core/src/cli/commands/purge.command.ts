/**
 * `celeriac purge`: removes every waiting message from the app's queues (taskDefaultQueue, or -Q),
 * like `celery purge`. Messages reserved by a running worker are not touched. Without -f it asks
 * on a terminal and refuses elsewhere (exit 2), so a script never purges by accident.
 */
import { Command, Option } from 'commander';
import { addAppOptions, commandOptions, openApp, parseList, type AppOptions, type CliContext } from '../load-app';

/** Parsed `celeriac purge` options. */
export interface PurgeCommandOptions extends AppOptions {
  queues?: string[];
  excludeQueues?: string[];
  force?: boolean;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The report line: `Purged 3 messages from 2 known task queues: celery (2), billing (1).` */
export function purgeSummary(counts: ReadonlyArray<readonly [string, number]>): string {
  const total = counts.reduce((n, [, c]) => n + c, 0);
  const queues = `${counts.length} known task queue${counts.length === 1 ? '' : 's'}`;
  if (total === 0) return `No messages purged from ${queues}: ${counts.map(([q]) => q).join(', ')}.`;
  return `Purged ${plural(total, 'message')} from ${queues}: ${counts.map(([q, c]) => `${q} (${c})`).join(', ')}.`;
}

/** Purges the queues; resolves with the exit code. */
export async function runPurge(ctx: CliContext, options: PurgeCommandOptions): Promise<number> {
  const { app } = await openApp(ctx, options);
  try {
    const exclude = new Set(options.excludeQueues ?? []);
    const queues = [...new Set(options.queues?.length ? options.queues : [app.conf.taskDefaultQueue])].filter((q) => !exclude.has(q));
    if (!queues.length) {
      ctx.stderr('error: no queue left to purge: -X excludes every queue.\n');
      return 2;
    }
    if (!options.force) {
      if (!ctx.stdinIsTTY) {
        ctx.stderr(`error: refusing to purge ${queues.join(', ')} without confirmation: stdin is not a terminal. Re-run with -f/--force.\n`);
        return 2;
      }
      ctx.stderr(`WARNING: This will remove all tasks from ${queues.length === 1 ? 'queue' : 'queues'}: ${queues.join(', ')}.\n         There is no undo for this operation!\n\n`);
      const answer = await ctx.prompt('Are you sure you want to delete all tasks (yes/NO)? ');
      if (!['y', 'yes'].includes(answer.trim().toLowerCase())) {
        ctx.stderr('Aborted: nothing was purged.\n');
        return 1;
      }
    }
    await app.broker.connect();
    const counts: Array<[string, number]> = [];
    for (const queue of queues) counts.push([queue, await app.broker.purge(queue)]);
    ctx.stdout(`${purgeSummary(counts)}\n`);
    return 0;
  } finally {
    await app.close();
  }
}

/** The `purge` command. */
export function purgeCommand(ctx: CliContext, done: (exitCode: number) => void): Command {
  const cmd = new Command('purge')
    .description('Remove all waiting messages from the app\'s task queues.')
    .addOption(new Option('-Q, --queues <names>', 'queues to purge, comma-separated (repeatable) [default: taskDefaultQueue]').argParser(parseList))
    .addOption(new Option('-X, --exclude-queues <names>', 'queues not to purge, comma-separated (repeatable)').argParser(parseList))
    .addOption(new Option('-f, --force', 'do not ask for confirmation (required when stdin is not a terminal)'));
  addAppOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Exit codes: 0 purged; 1 declined at the prompt; 2 bad usage, or no -f when stdin is not a terminal.

Example:
  $ celeriac purge -A dist/worker.js -Q celery,billing -f`,
  );
  cmd.action(async (_options: unknown, command: Command) => {
    done(await runPurge(ctx, commandOptions<PurgeCommandOptions>(command)));
  });
  return cmd;
}
