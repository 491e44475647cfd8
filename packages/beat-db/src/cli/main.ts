#!/usr/bin/env node
/**
 * The `celeriac-beat-db` command: run beat-db's migrations, and run the database scheduler.
 *
 * ```text
 * celeriac-beat-db migrate [--url URL]            apply pending migrations
 * celeriac-beat-db revert  [--url URL]            undo the last migration
 * celeriac-beat-db show    [--url URL]            list applied and pending migrations
 * celeriac-beat-db beat -A <app module> [--url URL] [--migrate]   the database scheduler, until SIGINT/SIGTERM
 * ```
 * The URL defaults to CELERIAC_BEAT_DB_URL, else sqlite:./celeriac-beat.sqlite.
 * Exit codes: 0 success; 1 a runtime failure (database unreachable, a migration failed); 2 bad usage.
 */
import { parseArgs } from 'node:util';
import { runBeatCommand } from './beat.command';
import { runMigrationCommand } from './migrate.command';

/** Where the command writes and which environment it reads (tests pass their own). */
export interface CliIo {
  env: Record<string, string | undefined>;
  cwd: string;
  stdout(text: string): void;
  stderr(text: string): void;
  signals: Pick<NodeJS.Process, 'on' | 'off'>;
}

const USAGE = `Usage: celeriac-beat-db <command> [options]

Commands:
  migrate              apply pending migrations
  revert               undo the last migration
  show                 list applied and pending migrations
  beat -A <module>     run the database scheduler (the app module as for "celeriac beat")

Options:
  --url <url>          database URL [default: $CELERIAC_BEAT_DB_URL, else sqlite:./celeriac-beat.sqlite]
                       sqlite:<file> | postgres://user@host/db | mysql://user@host/db (mariadb://)
  -A, --app <module>   (beat) the module exporting the Celeriac app
  --migrate            (beat) apply pending migrations first
  -h, --help           show this help
`;

/** Runs one command; resolves with the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { url: { type: 'string' }, app: { type: 'string', short: 'A' }, migrate: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    io.stderr(`error: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || !command) {
    if (values.help) io.stdout(USAGE);
    else io.stderr(USAGE);
    return values.help ? 0 : 2;
  }
  const url = values.url ?? io.env.CELERIAC_BEAT_DB_URL;
  switch (command) {
    case 'migrate':
    case 'revert':
    case 'show':
      return runMigrationCommand(command, url, io);
    case 'beat':
      if (!values.app && !io.env.CELERIAC_APP) {
        io.stderr('error: beat needs the app: -A path/to/module (or CELERIAC_APP)\n');
        return 2;
      }
      return runBeatCommand({ app: values.app ?? io.env.CELERIAC_APP!, url, migrate: values.migrate ?? false }, io);
    default:
      io.stderr(`error: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

if (require.main === module) {
  const io: CliIo = { env: process.env, cwd: process.cwd(), stdout: (t) => void process.stdout.write(t), stderr: (t) => void process.stderr.write(t), signals: process };
  void runCli(process.argv.slice(2), io).then((code) => process.exit(code));
}
