/**
 * `celeriac worker`: loads the app, prints the banner to stdout, consumes until a signal.
 *
 * Signals (as celery/apps/worker.py): the first SIGINT or SIGTERM is a warm shutdown (stop
 * consuming, let running tasks finish up to workerShutdownTimeout, give the rest back); a second is
 * a cold shutdown (give back at once); SIGQUIT is cold straight away; a third signal exits at once
 * with code 1. After a warm or cold shutdown the app is closed and the exit code is 0 (after a cold
 * one the process exits at once, abandoning the tasks it gave back). A failure
 * to start (broker unreachable, bad settings) is printed to stderr with exit code 1.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { relative, resolve } from 'node:path';
import { SETTINGS } from '../../app/settings';
import { Beat } from '../../beat/beat';
import { startHealthServer, type HealthServer } from '../../worker/health-server';
import { Worker } from '../../worker/worker';
import { POOL_KINDS, type AutoscaleOptions, type PoolKind } from '../../worker/pools/pool';
import { cliAppSource } from '../pool-app-source';
import { openNestApp } from '../nest-app';
import { formatBanner, maskUrl, type BannerQueue } from '../banner';
import { addAppOptions, APP_ENV_VAR, commandOptions, describeError, openApp, parseInteger, parseList, type AppOptions, type CliContext, type LoadedApp } from '../load-app';

/** Parsed `celeriac worker` options. */
export interface WorkerCommandOptions extends AppOptions {
  queues?: string[];
  excludeQueues?: string[];
  concurrency?: number;
  hostname?: string;
  loglevel?: string;
  prefetchMultiplier?: number;
  disablePrefetch?: boolean;
  beat?: boolean;
  statedb?: string;
  /** -E: send task events. */
  taskEvents?: boolean;
  withoutHeartbeat?: boolean;
  heartbeatInterval?: number;
  pool?: PoolKind;
  maxTasksPerChild?: number;
  maxMemoryPerChild?: number;
  autoscale?: AutoscaleOptions;
  healthPort?: number;
  nest?: string;
  healthHost?: string;
}

const LOG_LEVELS = SETTINGS.workerLogLevel.values ?? [];

function parsePool(value: string): PoolKind {
  if (!(POOL_KINDS as readonly string[]).includes(value)) throw new InvalidArgumentError(`Expected one of ${POOL_KINDS.join(', ')}.`);
  return value as PoolKind;
}

/** Celery's `--autoscale max,min` (min defaults to 1). */
export function parseAutoscale(value: string): AutoscaleOptions {
  const [max, min = '1', ...rest] = value.split(',').map((s) => s.trim());
  const numbers = [max, min].map(Number);
  if (rest.length || !numbers.every((n) => Number.isInteger(n) && n >= 1) || numbers[1]! > numbers[0]!) {
    throw new InvalidArgumentError('Expected max,min: integers with max >= min >= 1 (e.g. 10,3).');
  }
  return { max: numbers[0]!, min: numbers[1]! };
}

function parsePositiveSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('Expected a number of seconds > 0.');
  return n;
}

function parseLogLevel(value: string): string {
  const level = value.toLowerCase();
  if (!LOG_LEVELS.includes(level)) throw new InvalidArgumentError(`Expected one of ${LOG_LEVELS.join(', ')} (any case).`);
  return level;
}

/** The queue lines of the banner, as Worker.start declares them. */
export function bannerQueues(worker: Worker): BannerQueue[] {
  const conf = worker.app.conf;
  return worker.queues.map((name) =>
    name === conf.taskDefaultQueue
      ? { name, exchange: conf.taskDefaultExchange, exchangeType: 'direct', routingKey: conf.taskDefaultRoutingKey }
      : { name, exchange: name, exchangeType: 'direct', routingKey: name },
  );
}

/** The banner of a worker about to start. */
export function workerBanner(worker: Worker, loaded: LoadedApp, version: string, cwd: string): string {
  const conf = worker.app.conf;
  const level = conf.workerLogLevel.toLowerCase();
  const showTasks = ['trace', 'debug', 'info'].includes(level);
  return formatBanner({
    hostname: worker.hostname,
    version,
    app: `${conf.main ?? '__main__'} (${relative(cwd, loaded.file) || loaded.file}:${loaded.exportName})`,
    brokerUrl: conf.brokerUrl,
    resultBackend: conf.resultBackend,
    concurrency: worker.concurrency,
    taskEvents: worker.sendsTaskEvents,
    pool: worker.autoscaleRange ? `${worker.pool.kind}, autoscale ${worker.autoscaleRange.max},${worker.autoscaleRange.min}` : worker.pool.kind,
    queues: bannerQueues(worker),
    tasks: showTasks ? worker.app.tasks.names() : undefined,
  });
}

/** Runs a worker until it is shut down by a signal; resolves with the exit code. */
export async function runWorker(ctx: CliContext, options: WorkerCommandOptions, version: string): Promise<number> {
  const nest = options.nest !== undefined ? await openNestApp(ctx, options) : undefined;
  const loaded = nest ?? (await openApp(ctx, options, { workerLogLevel: options.loglevel }));
  const app = loaded.app;
  // Closes what loaded the app: the Nest context (whose shutdown closes the app), or the app itself.
  const closeApp = (): Promise<void> => (nest ? nest.close() : app.close());
  const moduleWorker = nest?.workerOptions ?? {};
  if (app.conf.imports.length) await app.autodiscover(app.conf.imports, { cwd: ctx.cwd });
  const worker = new Worker(app, {
    ...moduleWorker,
    queues: options.queues ?? moduleWorker.queues,
    excludeQueues: options.excludeQueues ?? moduleWorker.excludeQueues,
    concurrency: options.concurrency ?? moduleWorker.concurrency,
    prefetchMultiplier: options.prefetchMultiplier ?? moduleWorker.prefetchMultiplier,
    disablePrefetch: options.disablePrefetch,
    hostname: options.hostname ?? moduleWorker.hostname,
    stateDb: options.statedb ? resolve(ctx.cwd, options.statedb) : moduleWorker.stateDb,
    pool: options.pool ?? moduleWorker.pool,
    maxTasksPerChild: options.maxTasksPerChild,
    maxMemoryPerChild: options.maxMemoryPerChild,
    autoscale: options.autoscale,
    ...(options.taskEvents ? { taskEvents: true } : {}),
    ...(options.withoutHeartbeat ? { heartbeat: false } : {}),
    ...(options.heartbeatInterval !== undefined ? { heartbeatInterval: options.heartbeatInterval } : {}),
    // Threads and child processes load the same -A module with the same settings.
    appSource: (options.pool ?? moduleWorker.pool ?? app.conf.workerPool) === 'async' ? undefined : nest ? nest.appSource : cliAppSource(options.app ?? ctx.env[APP_ENV_VAR] ?? '', { cwd: ctx.cwd, env: ctx.env, overrides: { brokerUrl: options.broker, resultBackend: options.resultBackend, workerLogLevel: options.loglevel } }),
  });
  // Built before the banner, so a bad beatSchedule fails before anything starts.
  // With --nest, -B booted the module as `beat` too: its own scheduler runs the @Periodic schedules.
  const beat = options.beat && !nest ? new Beat(app) : undefined;
  if (!worker.queues.length) {
    await closeApp();
    ctx.stderr(`error: no queue left to consume: -X excludes every queue of -Q (${(options.queues ?? [app.conf.taskDefaultQueue]).join(', ')}).\n`);
    return 2;
  }
  ctx.stdout(workerBanner(worker, loaded, version, ctx.cwd));

  // An object, so TypeScript does not narrow what the signal handler changes behind its back.
  const state: { mode: 'running' | 'warm' | 'cold'; started: boolean } = { mode: 'running', started: false };
  let requestStop!: () => void;
  const stopRequested = new Promise<void>((r) => (requestStop = r));
  const onSignal = (signal: NodeJS.Signals): void => {
    if (state.mode === 'running') {
      state.mode = signal === 'SIGQUIT' ? 'cold' : 'warm';
      if (signal === 'SIGINT') ctx.stderr('\nworker: Hitting Ctrl+C again will terminate all running tasks!\n');
      ctx.stderr(`\nworker: ${state.mode === 'cold' ? 'Cold' : 'Warm'} shutdown (MainProcess)\n`);
      requestStop();
    } else if (state.mode === 'warm') {
      state.mode = 'cold';
      ctx.stderr('\nworker: Cold shutdown (MainProcess)\n');
      // A second close() is cold: running tasks' unacked messages go back to the queue now.
      if (state.started) void worker.close({ graceful: false });
    } else {
      ctx.stderr('\nworker: Forced exit\n');
      ctx.exit(1);
    }
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGQUIT'];
  for (const s of signals) ctx.signals.on(s, onSignal);
  let health: HealthServer | undefined;
  try {
    try {
      // Before start, so a probe during a slow start sees 503 "starting" rather than a refused connection.
      if (options.healthPort !== undefined) {
        health = await startHealthServer(worker, { port: options.healthPort, host: options.healthHost });
        ctx.stdout(`health: http://${options.healthHost ?? '0.0.0.0'}:${health.port}/health\n`);
      }
      await worker.start();
      await beat?.start();
    } catch (err) {
      ctx.stderr(`error: worker ${worker.hostname} could not start (broker ${maskUrl(app.conf.brokerUrl)}): ${describeError(err)}\n`);
      await health?.close().catch(() => undefined);
      await beat?.close().catch(() => undefined);
      await worker.close({ graceful: false }).catch(() => undefined);
      await closeApp().catch(() => undefined);
      return 1;
    }
    state.started = true;
    await stopRequested;
    await beat?.close();
    await worker.close({ graceful: state.mode !== 'cold' });
    await health?.close();
    await closeApp();
    // Cold: tasks still running were given back; end the process now so they cannot finish (and
    // store a result) while another worker runs them again.
    if (state.mode === 'cold') ctx.exit(0);
    return 0;
  } finally {
    for (const s of signals) ctx.signals.off(s, onSignal);
  }
}

/** The `worker` command. */
export function workerCommand(ctx: CliContext, version: string, done: (exitCode: number) => void): Command {
  const cmd = new Command('worker')
    .description('Start a worker that consumes task queues.')
    .addOption(new Option('-Q, --queues <names>', 'queues to consume, comma-separated (repeatable) [default: taskDefaultQueue, "celery"]').argParser(parseList))
    .addOption(new Option('-X, --exclude-queues <names>', 'queues not to consume, comma-separated (repeatable)').argParser(parseList))
    .addOption(new Option('-c, --concurrency <n>', 'tasks run at once [default: workerConcurrency, the number of CPUs]').argParser(parseInteger(1)))
    .addOption(new Option('-n, --hostname <name>', 'node name; %h = host name, %n = its first label, %d = domain [default: celeriac@%h]'))
    .addOption(new Option('-l, --loglevel <level>', `log level: ${LOG_LEVELS.join(', ')} [default: workerLogLevel, info]`).argParser(parseLogLevel))
    .addOption(new Option('--prefetch-multiplier <n>', 'messages reserved per concurrency slot [default: workerPrefetchMultiplier, 4]').argParser(parseInteger(1)))
    .addOption(new Option('--disable-prefetch', 'reserve a message only when a slot is free (long tasks) [default: workerDisablePrefetch, off]'))
    .addOption(new Option('-B, --beat', 'also run beat (the periodic task scheduler) in this process'))
    .addOption(new Option('-S, --statedb <file>', 'keep revoked task ids in this file across restarts'))
    .addOption(new Option('-E, --task-events', 'send task events for monitors (celeriac events, Flower) [default: workerSendTaskEvents, off]'))
    .addOption(new Option('--without-heartbeat', 'send no worker-online/heartbeat/offline events'))
    .addOption(new Option('--heartbeat-interval <seconds>', 'seconds between worker-heartbeat events [default: 2]').argParser(parsePositiveSeconds))
    .addOption(new Option('-P, --pool <kind>', `where tasks run: ${POOL_KINDS.join(', ')} (worker_threads; child processes) [default: workerPool, async]`).argParser(parsePool))
    .addOption(new Option('--max-tasks-per-child <n>', 'threads/processes: replace a child after n tasks [default: workerMaxTasksPerChild]').argParser(parseInteger(1)))
    .addOption(new Option('--max-memory-per-child <KiB>', 'threads/processes: replace a child whose memory passed this after a task [default: workerMaxMemoryPerChild]').argParser(parseInteger(1)))
    .addOption(new Option('--autoscale <max,min>', 'grow the pool up to max while tasks wait, shrink to min when idle (overrides -c)').argParser(parseAutoscale))
    .addOption(new Option('--health-port <port>', 'serve GET /health: 200 while consuming, 503 otherwise (0 = any free port)').argParser(parseInteger(0, 65535)))
    .addOption(new Option('--health-host <host>', 'interface of the health endpoint [default: 0.0.0.0]'))
    .addOption(new Option('--nest <path[:export]>', 'boot this Nest module or bootstrap function (needs @celeriac/nestjs) and run its tasks with DI; replaces -A'));
  addAppOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Settings, highest precedence first: these flags (-b, --result-backend, -l, -c, ...), then what the
app module passes to new Celeriac(...), then CELERIAC_* environment variables (CELERIAC_BROKER_URL,
CELERIAC_WORKER_CONCURRENCY, ...; they fill only settings the app module leaves at their default),
then the defaults.

Signals: SIGINT/SIGTERM once = warm shutdown (running tasks finish), twice = cold shutdown (they are
given back to the queue), SIGQUIT = cold. The exit code is then 0; 1 when the worker cannot start.

Examples:
  $ celeriac worker -A dist/worker.js -c 4 -Q celery,billing
  $ CELERIAC_APP=dist/worker.js:app celeriac worker -b redis://:secret@localhost:6379/0 -l debug
  $ celeriac worker --nest dist/app.module.js:AppModule -Q reports -B`,
  );
  cmd.action(async (_options: unknown, command: Command) => {
    done(await runWorker(ctx, commandOptions<WorkerCommandOptions>(command), version));
  });
  return cmd;
}
