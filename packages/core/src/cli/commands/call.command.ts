/**
 * `celeriac call <name>`: sends a task by name (it may be a Python task) and prints its id, like
 * `celery call`. It does not wait: `celeriac result <id>` does.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseJson } from '../../protocol/serializers';
import type { ApplyOptions } from '../../task/task-options';
import { addAppOptions, commandOptions, openApp, parseInteger, parseSeconds, type AppOptions, type CliContext } from '../load-app';

/** Parsed `celeriac call` options. */
export interface CallCommandOptions extends AppOptions {
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  countdown?: number;
  eta?: Date;
  expires?: number | Date;
  queue?: string;
  priority?: number;
  serializer?: 'json' | 'msgpack';
}

function parseJsonText(value: string): unknown {
  try {
    // Python's json may send NaN or integers beyond 2^53; parseJson keeps them (as BigInt).
    return parseJson(value);
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    throw new InvalidArgumentError(`Not valid JSON (${cause instanceof Error ? cause.message : (err as Error).message}).`);
  }
}

/** --args: a JSON array. */
export function parseArgsJson(value: string): unknown[] {
  const parsed = parseJsonText(value);
  if (!Array.isArray(parsed)) throw new InvalidArgumentError(`Expected a JSON array of positional arguments, e.g. '[2, 3]'.`);
  return parsed as unknown[];
}

/** --kwargs: a JSON object. */
export function parseKwargsJson(value: string): Record<string, unknown> {
  const parsed = parseJsonText(value);
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidArgumentError(`Expected a JSON object of keyword arguments, e.g. '{"x": 2}'.`);
  }
  return parsed as Record<string, unknown>;
}

/** --eta: an ISO 8601 date-time; without a zone it is UTC (as Celery's wire format). */
export function parseEta(value: string): Date {
  const text = value.trim();
  const zoned = /(?:[zZ]|[+-]\d\d:?\d\d)$/.test(text) || !/T|\d \d/.test(text) ? text : `${text}Z`;
  const date = new Date(zoned);
  if (!/^\d{4}-\d\d-\d\d/.test(text) || Number.isNaN(date.getTime())) {
    throw new InvalidArgumentError(`Expected an ISO 8601 date-time, e.g. 2030-01-31T12:00:00Z.`);
  }
  return date;
}

/** --expires: seconds from now, or an ISO 8601 date-time. */
export function parseExpires(value: string): number | Date {
  if (/^\s*[\d.]+\s*$/.test(value)) return parseSeconds(value);
  try {
    return parseEta(value);
  } catch {
    throw new InvalidArgumentError('Expected a number of seconds from now or an ISO 8601 date-time.');
  }
}

/** The apply options a `call` sends with. */
export function applyOptionsOf(options: CallCommandOptions): ApplyOptions {
  const out: ApplyOptions = {};
  if (options.countdown !== undefined) out.countdown = options.countdown;
  if (options.eta !== undefined) out.eta = options.eta;
  if (options.expires !== undefined) out.expires = options.expires;
  if (options.queue !== undefined) out.queue = options.queue;
  if (options.priority !== undefined) out.priority = options.priority;
  if (options.serializer !== undefined) out.serializer = options.serializer;
  return out;
}

/** Sends the task; prints its id. Resolves with the exit code. */
export async function runCall(ctx: CliContext, name: string, options: CallCommandOptions): Promise<number> {
  const { app } = await openApp(ctx, options);
  try {
    const result = await app.sendTask(name, options.args ?? [], options.kwargs ?? {}, applyOptionsOf(options));
    ctx.stdout(`${result.id}\n`);
    return 0;
  } finally {
    await app.close();
  }
}

/** The `call` command. */
export function callCommand(ctx: CliContext, done: (exitCode: number) => void): Command {
  const cmd = new Command('call')
    .description('Send a task by name and print its id.')
    .argument('<name>', 'task name, e.g. math.add (it may be defined elsewhere, even in Python)')
    .addOption(new Option('-a, --args <json>', 'positional arguments as a JSON array, e.g. \'[2,3]\'').argParser(parseArgsJson))
    .addOption(new Option('-k, --kwargs <json>', 'keyword arguments as a JSON object, e.g. \'{"x":2}\'').argParser(parseKwargsJson))
    .addOption(new Option('--countdown <seconds>', 'run no earlier than this many seconds from now').argParser(parseSeconds).conflicts('eta'))
    .addOption(new Option('--eta <datetime>', 'run no earlier than this ISO 8601 date-time (UTC unless it has a zone)').argParser(parseEta))
    .addOption(new Option('--expires <seconds|datetime>', 'discard the task if it has not started by then').argParser(parseExpires))
    .addOption(new Option('--queue <name>', 'queue to send to [default: the route of the task, else taskDefaultQueue]'))
    .addOption(new Option('--priority <n>', 'message priority, 0-9 (0 is served first on Redis)').argParser(parseInteger(0, 255)))
    .addOption(new Option('--serializer <name>', 'serializer of the message [default: taskSerializer]').choices(['json', 'msgpack']));
  addAppOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  $ celeriac call math.add -A dist/worker.js --args '[2, 3]'
  $ celeriac call reports.build -A dist/worker.js --kwargs '{"day": "2030-01-31"}' --countdown 60 --queue reports`,
  );
  cmd.action(async (name: string, _options: unknown, command: Command) => {
    done(await runCall(ctx, name, commandOptions<CallCommandOptions>(command)));
  });
  return cmd;
}
