/**
 * `celeriac inspect <command>` and `celeriac control <command>`: Celery's remote control from the
 * shell. Replies are printed as JSON (`{ node: reply }`); exit 1 when no worker answered.
 *
 * inspect: ping, active, reserved, scheduled, revoked, registered, stats, active_queues.
 * control: revoke <ids...> [--terminate], shutdown.
 */
import { Command, Option } from 'commander';
import { stringifyJson } from '../../protocol/serializers';
import { addAppOptions, commandOptions, openApp, type AppOptions, type CliContext } from '../load-app';

export interface RemoteControlOptions extends AppOptions {
  /** Seconds to wait for replies. */
  timeout?: number;
  /** Comma-separated node names. */
  destination?: string;
  terminate?: boolean;
}

const INSPECT = ['ping', 'active', 'reserved', 'scheduled', 'revoked', 'registered', 'stats', 'active_queues'] as const;

const parseSeconds = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--timeout must be a number of seconds > 0, got "${value}"`);
  return n;
};

function destinations(options: RemoteControlOptions): string[] | undefined {
  const list = options.destination?.split(',').map((d) => d.trim()).filter(Boolean);
  return list?.length ? list : undefined;
}

/** Sends an inspect command and prints the replies. Resolves with the exit code. */
export async function runInspect(ctx: CliContext, method: string, options: RemoteControlOptions): Promise<number> {
  const { app } = await openApp(ctx, options);
  try {
    const replies = await app.control.broadcast(method, { reply: true, timeout: options.timeout ?? 1, destination: destinations(options), arguments: method === 'registered' ? { taskinfoitems: [] } : {} });
    if (!replies.length) {
      ctx.stderr('error: no worker replied.\n');
      return 1;
    }
    ctx.stdout(`${stringifyJson(Object.assign({}, ...replies))}\n`);
    return 0;
  } finally {
    await app.close();
  }
}

/** Sends a control command (revoke, shutdown). Resolves with the exit code. */
export async function runControl(ctx: CliContext, method: string, ids: string[], options: RemoteControlOptions): Promise<number> {
  const { app } = await openApp(ctx, options);
  try {
    const destination = destinations(options);
    if (method === 'revoke') {
      if (!ids.length) {
        ctx.stderr('error: revoke needs at least one task id.\n');
        return 2;
      }
      const replies = await app.control.revoke(ids, { terminate: options.terminate ?? false, reply: true, timeout: options.timeout ?? 1, destination });
      ctx.stdout(`${stringifyJson(Object.assign({}, ...replies))}\n`);
      return replies.length ? 0 : 1;
    }
    await app.control.shutdown({ destination });
    return 0;
  } finally {
    await app.close();
  }
}

function addCommon(cmd: Command): Command {
  cmd
    .addOption(new Option('-t, --timeout <seconds>', 'seconds to wait for replies').argParser(parseSeconds).default(1))
    .addOption(new Option('-d, --destination <nodes>', 'comma-separated node names (default: every worker)'));
  addAppOptions(cmd);
  return cmd;
}

/** The `inspect` command. */
export function inspectCommand(ctx: CliContext, done: (exitCode: number) => void): Command {
  const cmd = new Command('inspect').description('Ask the workers (Node or Python) about their state.').argument('<command>', INSPECT.join(' | '));
  addCommon(cmd);
  cmd.action(async (method: string, _options: unknown, command: Command) => {
    if (!(INSPECT as readonly string[]).includes(method)) {
      ctx.stderr(`error: unknown inspect command "${method}"; use one of: ${INSPECT.join(', ')}\n`);
      done(2);
      return;
    }
    done(await runInspect(ctx, method, commandOptions<RemoteControlOptions>(command)));
  });
  return cmd;
}

/** The `control` command. */
export function controlCommand(ctx: CliContext, done: (exitCode: number) => void): Command {
  const cmd = new Command('control')
    .description('Tell the workers to do something: revoke tasks, shut down.')
    .argument('<command>', 'revoke | shutdown')
    .argument('[ids...]', 'task ids (revoke)')
    .addOption(new Option('--terminate', 'revoke: also stop the task where it runs'));
  addCommon(cmd);
  cmd.action(async (method: string, ids: string[], _options: unknown, command: Command) => {
    if (method !== 'revoke' && method !== 'shutdown') {
      ctx.stderr(`error: unknown control command "${method}"; use revoke or shutdown\n`);
      done(2);
      return;
    }
    done(await runControl(ctx, method, ids, commandOptions<RemoteControlOptions>(command)));
  });
  return cmd;
}
