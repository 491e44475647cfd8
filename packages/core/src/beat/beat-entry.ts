/**
 * Entries of `beatSchedule` (Celery's `beat_schedule`): a name, the task to send, when, and how.
 *
 * ```ts
 * beatSchedule: {
 *   'nightly-report': { task: 'reports.nightly', schedule: { crontab: '0 3 * * *', timezone: 'Europe/Paris' } },
 *   'refresh-cache':  { task: 'cache.refresh', schedule: { every: '5m' }, args: ['all'], options: { queue: 'cache', expires: 240 } },
 * }
 * ```
 */
import { ConfigError } from '../errors';
import type { ApplyOptions } from '../task/task-options';
import { nearest } from '../util/levenshtein';
import type { Schedule } from './schedules/schedule';
import { toSchedule, type ScheduleSpec } from './schedules/to-schedule';

/** How a beat entry's task is sent (Celery's entry `options`): a subset of `applyAsync`'s options. */
export type BeatEntryOptions = Pick<
  ApplyOptions,
  'queue' | 'exchange' | 'routingKey' | 'priority' | 'expires' | 'headers' | 'serializer' | 'compression' | 'ignoreResult' | 'shadow' | 'timeLimit' | 'softTimeLimit' | 'countdown' | 'retry' | 'retryPolicy'
>;

/** One entry of `beatSchedule`, as configured. */
export interface BeatEntryConfig {
  /** Task name (it may be defined elsewhere, even in Python). */
  task: string;
  schedule: ScheduleSpec;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  options?: BeatEntryOptions;
  /** @defaultValue true */
  enabled?: boolean;
  /**
   * Skip a run while the previous run's task has not finished (its stored state is not SUCCESS, FAILURE
   * or REVOKED). Needs a result backend, and the task must store results (no ignoreResult).
   * @defaultValue false
   */
  skipIfRunning?: boolean;
}

/** A validated entry. */
export interface BeatEntry {
  readonly name: string;
  readonly task: string;
  readonly schedule: Schedule;
  readonly args: unknown[];
  readonly kwargs: Record<string, unknown>;
  readonly options: BeatEntryOptions;
  readonly enabled: boolean;
  readonly skipIfRunning: boolean;
}

const ENTRY_KEYS = ['task', 'schedule', 'args', 'kwargs', 'options', 'enabled', 'skipIfRunning'];
const OPTION_KEYS = ['queue', 'exchange', 'routingKey', 'priority', 'expires', 'headers', 'serializer', 'compression', 'ignoreResult', 'shadow', 'timeLimit', 'softTimeLimit', 'countdown', 'retry', 'retryPolicy'];

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

function unknownKey(where: string, key: string, allowed: readonly string[]): ConfigError {
  const near = nearest(key, allowed);
  return new ConfigError('beatSchedule', `${where} has unknown key "${key}"${near ? ` (did you mean "${near}"?)` : ''}; allowed: ${allowed.join(', ')}.`);
}

/** Validates one entry; `timezone` is the default of crontabs. Throws ConfigError naming the entry. */
export function toBeatEntry(name: string, config: BeatEntryConfig, timezone = 'UTC'): BeatEntry {
  const where = `beatSchedule entry "${name}"`;
  const fail = (message: string): never => {
    throw new ConfigError('beatSchedule', `${where}: ${message}`);
  };
  if (!name) fail('an entry needs a non-empty name');
  if (!isObject(config)) fail(`expected { task, schedule, args?, kwargs?, options? }, got ${JSON.stringify(config)}.`);
  for (const key of Object.keys(config)) if (!ENTRY_KEYS.includes(key)) throw unknownKey(where, key, ENTRY_KEYS);
  if (typeof config.task !== 'string' || !config.task) fail('task must be a task name such as "reports.nightly".');
  if (config.args !== undefined && !Array.isArray(config.args)) fail('args must be an array.');
  if (config.kwargs !== undefined && !isObject(config.kwargs)) fail('kwargs must be an object.');
  if (config.enabled !== undefined && typeof config.enabled !== 'boolean') fail('enabled must be true or false.');
  if (config.skipIfRunning !== undefined && typeof config.skipIfRunning !== 'boolean') fail('skipIfRunning must be true or false.');
  const options = config.options ?? {};
  if (!isObject(options)) fail('options must be an object such as { queue: "billing", priority: 5, expires: 60 }.');
  for (const key of Object.keys(options)) if (!OPTION_KEYS.includes(key)) throw unknownKey(`${where} options`, key, OPTION_KEYS);
  const o = options as Record<string, unknown>;
  for (const key of ['queue', 'exchange', 'routingKey', 'shadow', 'serializer'] as const) {
    if (o[key] !== undefined && (typeof o[key] !== 'string' || !o[key])) fail(`options.${key} must be a non-empty string.`);
  }
  if (o.priority !== undefined && (!Number.isInteger(o.priority) || (o.priority as number) < 0 || (o.priority as number) > 255)) fail('options.priority must be an integer 0-9.');
  if (o.expires !== undefined && !(o.expires instanceof Date) && (typeof o.expires !== 'number' || !(o.expires > 0))) fail('options.expires must be seconds after sending (> 0) or a Date.');
  if (o.countdown !== undefined && (typeof o.countdown !== 'number' || !(o.countdown >= 0))) fail('options.countdown must be a number of seconds >= 0.');
  let schedule: Schedule;
  try {
    schedule = toSchedule(config.schedule, { timezone });
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError('beatSchedule', `${where}: ${err.message}`);
    throw err;
  }
  return {
    name,
    task: config.task,
    schedule,
    args: [...(config.args ?? [])],
    kwargs: { ...config.kwargs },
    options: { ...options },
    enabled: config.enabled ?? true,
    skipIfRunning: config.skipIfRunning ?? false,
  };
}

/** Validates a whole `beatSchedule`; throws ConfigError naming the first bad entry. */
export function toBeatEntries(schedule: Record<string, BeatEntryConfig>, timezone = 'UTC'): BeatEntry[] {
  if (!isObject(schedule)) throw new ConfigError('beatSchedule', `beatSchedule must be an object of named entries { name: { task, schedule } }, got ${JSON.stringify(schedule)}.`);
  return Object.entries(schedule).map(([name, config]) => toBeatEntry(name, config, timezone));
}
