/**
 * `celeriac events`: prints the Celery events of every worker and client on the broker (Node or
 * Python), as `celery events --dump` does, until SIGINT/SIGTERM (or --timeout). `--json` prints each
 * event as sent, one JSON object per line. Workers send task events only with -E
 * (workerSendTaskEvents) or after `celeriac control enable_events`; heartbeats always.
 *
 * @example
 * $ celeriac events -A dist/worker.js
 * celeriac@web1 [2024-05-01 12:00:00.123456] started: active=0, clock=1, freq=2, ...
 * celeriac@web1 [2024-05-01 12:00:03.001234] task succeeded: math.add(3f0c...) args=(2, 3) kwargs={} result=5, runtime=0.001
 */
import { Command, Option } from 'commander';
import { EventReceiver } from '../../events/event-receiver';
import { stringifyJson } from '../../protocol/serializers';
import { maskUrl } from '../banner';
import { addAppOptions, commandOptions, describeError, openApp, parseSeconds, type AppOptions, type CliContext } from '../load-app';

export interface EventsCommandOptions extends AppOptions {
  json?: boolean;
  /** Seconds to listen, then exit 0. */
  timeout?: number;
}

/** Celery's dumper names for worker events. */
const HUMAN_TYPES: Record<string, string> = { 'worker-offline': 'shutdown', 'worker-online': 'started', 'worker-heartbeat': 'heartbeat' };

const humanizeType = (type: string): string => HUMAN_TYPES[type.toLowerCase()] ?? type.toLowerCase().replace(/-/g, ' ');

/** Python's str(datetime) of a UTC timestamp: `2024-05-01 12:00:00.123456`. */
function formatTimestamp(seconds: unknown): string {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return String(seconds);
  const micros = Math.round((seconds % 1) * 1e6);
  const iso = new Date(Math.floor(seconds) * 1000).toISOString().slice(0, 19).replace('T', ' ');
  return micros ? `${iso}.${String(micros).padStart(6, '0')}` : iso;
}

const fieldText = (value: unknown): string => (typeof value === 'string' ? value : stringifyJson(value));

/** Formats events as Celery's Dumper (celery/events/dumper.py); remembers task names by id. */
export class EventDumper {
  private readonly names = new Map<string, string>();

  format(raw: Readonly<Record<string, unknown>>): string {
    const { type: rawType, hostname, timestamp, uuid, local_received: _received, ...rest } = raw;
    const type = String(rawType).toLowerCase();
    const fields = (ev: Record<string, unknown>): string =>
      Object.keys(ev)
        .sort()
        .map((k) => `${k}=${fieldText(ev[k])}`)
        .join(', ');
    const head = `${String(hostname)} [${formatTimestamp(timestamp)}] ${humanizeType(type)}`;
    if (!type.startsWith('task-')) {
      const text = fields(rest);
      return `${head}${text ? ':' : ''} ${text}`;
    }
    const id = String(uuid);
    let task = this.names.get(id) ?? '';
    const ev: Record<string, unknown> = { ...rest };
    if (type === 'task-received' || type === 'task-sent') {
      task = `${String(ev.name)}(${id}) args=${String(ev.args)} kwargs=${String(ev.kwargs)}`;
      delete ev.name;
      delete ev.args;
      delete ev.kwargs;
      this.names.set(id, task);
      if (this.names.size > 4095) this.names.delete(this.names.keys().next().value!);
    }
    const text = fields(ev);
    return `${head}${text ? ':' : ''} ${task} ${text}`;
  }
}

/** Prints events until a signal or the timeout; resolves with the exit code. */
export async function runEvents(ctx: CliContext, options: EventsCommandOptions): Promise<number> {
  const { app } = await openApp(ctx, options);
  const receiver = new EventReceiver(app);
  const dumper = new EventDumper();
  receiver.on('*', (_event, raw) => ctx.stdout(`${options.json ? stringifyJson(raw) : dumper.format(raw)}\n`));
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  const onSignal = (): void => stop();
  for (const s of signals) ctx.signals.on(s, onSignal);
  const timer = options.timeout !== undefined ? setTimeout(stop, options.timeout * 1000) : undefined;
  try {
    try {
      await receiver.start();
    } catch (err) {
      ctx.stderr(`error: could not listen for events: ${describeError(err)}\n`);
      return 1;
    }
    ctx.stderr(`-> events: listening on ${maskUrl(app.conf.brokerUrl)} (Ctrl+C to stop)\n`);
    await stopped;
    return 0;
  } finally {
    clearTimeout(timer);
    for (const s of signals) ctx.signals.off(s, onSignal);
    await receiver.close().catch(() => undefined);
    await app.close();
  }
}

/** The `events` command. */
export function eventsCommand(ctx: CliContext, done: (exitCode: number) => void): Command {
  const cmd = new Command('events')
    .description('Print the events of workers and clients (Node or Python), like celery events --dump.')
    .addOption(new Option('-d, --dump', 'print events as text (the default; the only mode)'))
    .addOption(new Option('--json', 'print each event as sent, one JSON object per line'))
    .addOption(new Option('-t, --timeout <seconds>', 'stop after this many seconds').argParser(parseSeconds));
  addAppOptions(cmd);
  cmd.action(async (_options: unknown, command: Command) => {
    done(await runEvents(ctx, commandOptions<EventsCommandOptions>(command)));
  });
  return cmd;
}
