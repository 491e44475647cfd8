/**
 * `celeriac beat`: loads the app and sends the tasks of its `beatSchedule` when they are due, until
 * SIGINT or SIGTERM (then it gives up its lease, so another beat takes over at once, and exits 0).
 * Run it on as many hosts as you like when beat has a Redis (beatRedisUrl or a redis:// broker): one
 * leads, and each due run is sent once. A failure to start is printed to stderr with exit code 1.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../../errors';
import { SETTINGS } from '../../app/settings';
import { Beat } from '../../beat/beat';
import { maskUrl } from '../banner';
import { openNestApp } from '../nest-app';
import { addAppOptions, commandOptions, describeError, openApp, parseSeconds, type AppOptions, type CliContext } from '../load-app';

/** Parsed `celeriac beat` options. */
export interface BeatCommandOptions extends AppOptions {
  schedule?: string;
  maxInterval?: number;
  loglevel?: string;
  nest?: string;
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
  if (options.nest !== undefined) return runNestBeat(ctx, options, version);
  const { app } = await openApp(ctx, options, { workerLogLevel: options.loglevel });
  let beat: Beat;
  try {
    beat = new Beat(app, { scheduleFilename: options.schedule, maxLoopInterval: options.maxInterval });
  } catch (err) {
    await app.close();
    throw err;
  }
  ctx.stdout(beatBanner(beat, version));
  return runUntilSignal(ctx, {
    start: () => beat.start(),
    stop: async () => {
      await beat.close();
      await app.close();
    },
    describeFailure: (err) => `error: beat could not start (broker ${maskUrl(app.conf.brokerUrl)}): ${describeError(err)}\n`,
  });
}

/**
 * `celeriac beat --nest`: boots the Nest app with the roles producer and beat, so the module's own
 * scheduler (core Beat with the @Periodic entries, or its beatScheduler, e.g. beat-db's) runs; the
 * Nest context's shutdown stops it.
 */
async function runNestBeat(ctx: CliContext, options: BeatCommandOptions, version: string): Promise<number> {
  if (options.schedule !== undefined || options.maxInterval !== undefined) {
    throw new ConfigError('--nest', '--nest cannot be combined with -s or --max-interval: the Nest module configures its beat (CeleriacModule options beat / beatScheduler).');
  }
  const loaded = await openNestApp(ctx, { ...options, beat: true });
  const app = loaded.app;
  ctx.stdout(`celeriac beat v${version} is starting (Nest app ${loaded.exportName} of ${loaded.file}).\n    . broker -> ${maskUrl(app.conf.brokerUrl)}\n`);
  return runUntilSignal(ctx, { start: async () => undefined, stop: () => loaded.close(), describeFailure: (err) => `error: beat could not start: ${describeError(err)}\n` });
}

/** Runs until SIGINT/SIGTERM/SIGQUIT (a second one exits 1 at once); resolves with the exit code. */
async function runUntilSignal(ctx: CliContext, run: { start(): Promise<void>; stop(): Promise<void>; describeFailure(err: unknown): string }): Promise<number> {
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
      await run.start();
    } catch (err) {
      ctx.stderr(run.describeFailure(err));
      await run.stop().catch(() => undefined);
      return 1;
    }
    await stopRequested;
    await run.stop();
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
    .addOption(new Option('-l, --loglevel <level>', `log level: ${LOG_LEVELS.join(', ')} [default: workerLogLevel, info]`).argParser(parseLogLevel))
    .addOption(new Option('--nest <path[:export]>', 'boot this Nest module or bootstrap function (needs @celeriac/nestjs) as producer + beat: its @Periodic schedules, or its beatScheduler, run; replaces -A'));
  addAppOptions(cmd);
  cmd.addHelpText(
    'after',
    `
State (the last run of each entry) survives restarts: in Redis when beat has one (beatRedisUrl, or a
redis:// broker), else in the -s file. With Redis, run beat on every replica: one holds the lease and
sends, each due run is claimed once, and another takes over within beatLeaseTime when it dies.

Examples:
  $ celeriac beat -A dist/app.js
  $ celeriac beat -A dist/app.js -s /var/lib/app/celerybeat-schedule.json -l debug
  $ celeriac beat --nest dist/app.module.js:AppModule`,
  );
  cmd.action(async (_options: unknown, command: Command) => {
    done(await runBeat(ctx, commandOptions<BeatCommandOptions>(command), version));
  });
  return cmd;
}
