/**
 * `celeriac beat`: loads the app and sends the tasks of its `beatSchedule` when they are due, until
 * SIGINT or SIGTERM (then it gives up its lease, so another beat takes over at once, and exits 0).
 * Run it on as many hosts as you like when beat has a Redis (beatRedisUrl or a redis:// broker): one
 * leads, and each due run is sent once. A failure to start is printed to stderr with exit code 1.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { SETTINGS } from '../../app/settings';
import { Beat } from '../../beat/beat';
import { maskUrl } from '../banner';
import { addAppOptions, commandOptions, describeError, openApp, parseSeconds, type AppOptions, type CliContext } from '../load-app';

/** Parsed `celeriac beat` options. */
export interface BeatCommandOptions extends AppOptions {
  schedule?: string;
  maxInterval?: number;
  loglevel?: string;
}

const LOG_LEVELS = SETTINGS.workerLogLevel.values ?? [];

function parseLogLevel(value: string): string {
  const level = value.toLowerCase();
  if (!LOG_LEVELS.includes(level)) throw new InvalidArgumentError(`Expected one of ${LOG_LEVELS.join(', ')} (any case).`);
  return level;
}

function parsePositiveSeconds(value: string): number {
  const n = parseSeconds(value);
  if (n <= 0) throw new InvalidArgumentError('Expected a number of seconds > 0.');
  return n;
}

/** The banner of a beat about to start (Celery's "Configuration ->" block). */
export function beatBanner(beat: Beat, version: string): string {
  const conf = beat.app.conf;
  const store = beat.store.constructor.name;
  const filename = (beat.store as { filename?: string }).filename;
  const lines = [
    `celeriac beat v${version} is starting.`,
    'Configuration ->',
    `    . broker -> ${maskUrl(conf.brokerUrl)}`,
    `    . store -> ${store}${filename ? ` (${filename})` : ''}`,
    `    . leader -> ${beat.coordinator.constructor.name}`,
    `    . timezone -> ${conf.timezone}`,
    `    . maxinterval -> ${conf.beatMaxLoopInterval}s`,
    `    . entries -> ${beat.entries.length}`,
    ...beat.entries.map((e) => `      . ${e.name}: ${e.task} ${e.schedule.toString()}${e.enabled ? '' : ' (disabled)'}`),
  ];
  return lines.join('\n') + '\n';
}

/** Runs beat until a signal; resolves with the exit code. */
export async function runBeat(ctx: CliContext, options: BeatCommandOptions, version: string): Promise<number> {
  const { app } = await openApp(ctx, options, { workerLogLevel: options.loglevel });
  let beat: Beat;
  try {
    beat = new Beat(app, { scheduleFilename: options.schedule, maxLoopInterval: options.maxInterval });
  } catch (err) {
    await app.close();
    throw err;
  }
  ctx.stdout(beatBanner(beat, version));
  let requestStop!: () => void;
  const stopRequested = new Promise<void>((r) => (requestStop = r));
  let signalled = 0;
  const onSignal = (): void => {
    signalled += 1;
    if (signalled === 1) {
      ctx.stderr('\nbeat: Shutting down\n');
      requestStop();
    } else {
      ctx.stderr('\nbeat: Forced exit\n');
      ctx.exit(1);
    }
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGQUIT'];
  for (const s of signals) ctx.signals.on(s, onSignal);
  try {
    try {
      await beat.start();
    } catch (err) {
      ctx.stderr(`error: beat could not start (broker ${maskUrl(app.conf.brokerUrl)}): ${describeError(err)}\n`);
      await beat.close().catch(() => undefined);
      await app.close().catch(() => undefined);
      return 1;
    }
    await stopRequested;
    await beat.close();
    await app.close();
    return 0;
  } finally {
    for (const s of signals) ctx.signals.off(s, onSignal);
  }
}

/** The `beat` command. */
export function beatCommand(ctx: CliContext, version: string, done: (exitCode: number) => void): Command {
  const cmd = new Command('beat')
    .description('Start the periodic task scheduler: send the tasks of beatSchedule when they are due.')
    .addOption(new Option('-s, --schedule <file>', 'state file when beat keeps state in a file [default: beatScheduleFilename, "celerybeat-schedule.json"]'))
    .addOption(new Option('--max-interval <seconds>', 'longest sleep between checks [default: beatMaxLoopInterval, 300]').argParser(parsePositiveSeconds))
    .addOption(new Option('-l, --loglevel <level>', `log level: ${LOG_LEVELS.join(', ')} [default: workerLogLevel, info]`).argParser(parseLogLevel));
  addAppOptions(cmd);
  cmd.addHelpText(
    'after',
    `
State (the last run of each entry) survives restarts: in Redis when beat has one (beatRedisUrl, or a
redis:// broker), else in the -s file. With Redis, run beat on every replica: one holds the lease and
sends, each due run is claimed once, and another takes over within beatLeaseTime when it dies.

Examples:
  $ celeriac beat -A dist/app.js
  $ celeriac beat -A dist/app.js -s /var/lib/app/celerybeat-schedule.json -l debug`,
  );
  cmd.action(async (_options: unknown, command: Command) => {
    done(await runBeat(ctx, commandOptions<BeatCommandOptions>(command), version));
  });
  return cmd;
}
