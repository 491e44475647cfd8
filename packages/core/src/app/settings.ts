/**
 * The settings table: one row per setting, Celery's name beside ours. This table drives validation
 * (`validateSettings`), environment loading (`loadConfig`) and the README's configuration table.
 */
import { cpus } from 'node:os';
import type { BeatEntryConfig } from '../beat/beat-entry';
import type { TaskAnnotations } from '../task/annotations';

export type SettingKind = 'string' | 'number' | 'boolean' | 'list' | 'json' | 'enum' | 'object' | 'any';

export interface SettingSpec {
  /** Celery's setting name; the env var is PREFIX + this upper-cased. */
  readonly celeryName: string;
  readonly kind: SettingKind;
  readonly default: unknown;
  /** For 'enum' and 'list' of enums: the allowed values. */
  readonly values?: readonly string[];
  readonly min?: number;
  /** A setting that cannot come from an environment variable (functions, classes). */
  readonly codeOnly?: boolean;
  readonly doc: string;
}

export interface RetryPolicy {
  /** Retries before giving up. @defaultValue 3 */
  maxRetries: number;
  /** Seconds before the first retry. @defaultValue 0 */
  intervalStart: number;
  /** Seconds added per retry. @defaultValue 0.2 */
  intervalStep: number;
  /** Largest wait between retries, in seconds. @defaultValue 0.2 */
  intervalMax: number;
}

export interface RouteSpec {
  queue?: string;
  exchange?: string;
  routingKey?: string;
  priority?: number;
}
/**
 * A queue of Celery's `task_queues`: how it is declared (exchange, binding, AMQP arguments). Queues
 * named only in routes are declared with the defaults (a direct exchange of the same name).
 */
export interface QueueSpec {
  name: string;
  /** @defaultValue the queue's name (the default queue: taskDefaultExchange) */
  exchange?: string;
  exchangeType?: 'direct' | 'topic' | 'fanout';
  /** @defaultValue the queue's name (the default queue: taskDefaultRoutingKey) */
  routingKey?: string;
  /** `x-max-priority` (AMQP): 0-255, higher served first. @defaultValue taskQueueMaxPriority */
  maxPriority?: number;
  /**
   * AMQP queue arguments, e.g. `{ 'x-queue-type': 'quorum' }` or `{ 'x-dead-letter-exchange': 'dlx' }`
   * (Kombu's queue_arguments). Everyone declaring the queue must give the same ones.
   */
  queueArguments?: Record<string, number | string>;
}

/** A router function: return a route for a task name, or null/undefined to fall through. */
export type RouterFunction = (name: string, args: unknown[], kwargs: Record<string, unknown>) => RouteSpec | string | null | undefined;
/** Celery's task_routes: a map from exact name or glob to a route, router functions, or a list of both. */
export type TaskRoutes = Record<string, RouteSpec | string> | RouterFunction | Array<Record<string, RouteSpec | string> | RouterFunction>;

export interface BrokerTransportOptions {
  /** Seconds a reserved Redis message may stay unacked before any consumer restores it. @defaultValue 3600 */
  visibilityTimeout?: number;
  /** Prepended to every Redis key and channel (Kombu's `global_keyprefix`). */
  globalKeyprefix?: string;
  /** Seconds between checks that each consumer still receives while messages wait (RabbitMQ and Redis; 0 disables). @defaultValue 5 */
  consumerWatchdogInterval?: number;
}

export interface ResultBackendTransportOptions {
  /** Prepended to every result key and channel (Celery's result_backend_transport_options global_keyprefix). */
  globalKeyprefix?: string;
  /** Chord join kept in header order (a sorted set, Celery's default) or completion order (a list). @defaultValue true */
  resultChordOrdered?: boolean;
}

/** All settings, camelCase forms of Celery's names. */
export interface CeleriacSettings {
  main: string | undefined;
  brokerUrl: string;
  brokerTransportOptions: BrokerTransportOptions;
  brokerConnectionTimeout: number;
  brokerHeartbeat: number;
  resultBackend: string | undefined;
  resultBackendTransportOptions: ResultBackendTransportOptions;
  resultExpires: number;
  resultExtended: boolean;
  resultSerializer: string;
  resultAcceptContent: string[] | undefined;
  taskSerializer: string;
  acceptContent: string[];
  taskCompression: string | undefined;
  taskDefaultQueue: string;
  taskDefaultExchange: string;
  taskDefaultRoutingKey: string;
  taskDefaultPriority: number | undefined;
  taskRoutes: TaskRoutes | undefined;
  taskQueues: QueueSpec[] | undefined;
  taskQueueMaxPriority: number | undefined;
  taskCreateMissingQueues: boolean;
  taskPublishRetry: boolean;
  taskPublishRetryPolicy: RetryPolicy;
  taskAcksLate: boolean;
  taskRejectOnWorkerLost: boolean;
  taskAcksOnFailureOrTimeout: boolean;
  taskTrackStarted: boolean;
  taskTrackSent: boolean;
  taskIgnoreResult: boolean;
  taskStoreErrorsEvenIfIgnored: boolean;
  taskPropagateContext: boolean;
  taskAlwaysEager: boolean;
  taskEagerPropagates: boolean;
  taskTimeLimit: number | undefined;
  taskSoftTimeLimit: number | undefined;
  taskDefaultRateLimit: string | undefined;
  taskDefaultGlobalRateLimit: string | undefined;
  taskAnnotations: TaskAnnotations | undefined;
  rateLimitRedisUrl: string | undefined;
  rateLimitKeyPrefix: string;
  timezone: string;
  enableUtc: boolean;
  imports: string[];
  workerConcurrency: number;
  workerPrefetchMultiplier: number;
  workerDisablePrefetch: boolean;
  workerShutdownTimeout: number;
  workerDeduplicateSuccessfulTasks: boolean;
  workerEtaTaskLimit: number | undefined;
  workerLogLevel: string;
  workerHostname: string | undefined;
  workerSendTaskEvents: boolean;
  taskSendSentEvent: boolean;
  eventQueueExpires: number;
  eventQueueTtl: number;
  workerPool: 'async' | 'threads' | 'processes';
  workerMaxTasksPerChild: number | undefined;
  workerMaxMemoryPerChild: number | undefined;
  beatSchedule: Record<string, BeatEntryConfig>;
  beatScheduleFilename: string;
  beatMaxLoopInterval: number;
  beatCatchUpWindow: number;
  beatStore: 'auto' | 'file' | 'redis' | 'memory';
  beatRedisUrl: string | undefined;
  beatKeyPrefix: string;
  beatLeaseTime: number;
}

const SERIALIZERS = ['json', 'msgpack'] as const;
const COMPRESSIONS = ['gzip', 'zlib', 'brotli'] as const;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'warning', 'error', 'fatal', 'critical', 'silent'] as const;

/** One row per setting. Keep in the order the README documents them. */
export const SETTINGS: { readonly [K in keyof CeleriacSettings]: SettingSpec } = {
  main: { celeryName: 'main', kind: 'string', default: undefined, doc: 'App name; the prefix of auto-generated task names.' },
  brokerUrl: { celeryName: 'broker_url', kind: 'string', default: 'memory://', doc: 'Broker URL: redis://, rediss://, amqp://, amqps://, memory://.' },
  brokerTransportOptions: { celeryName: 'broker_transport_options', kind: 'json', default: {}, doc: 'Transport options: visibilityTimeout (s), globalKeyprefix (Redis); consumerWatchdogInterval (s, 5; 0 disables).' },
  brokerConnectionTimeout: { celeryName: 'broker_connection_timeout', kind: 'number', default: 4, min: 0, doc: 'Seconds to wait for a broker connection.' },
  brokerHeartbeat: { celeryName: 'broker_heartbeat', kind: 'number', default: 120, min: 0, doc: 'AMQP heartbeat in seconds (0 disables); a heartbeat in the URL wins.' },
  resultBackend: { celeryName: 'result_backend', kind: 'string', default: undefined, doc: 'Result backend URL: redis://, rediss://, memory://; unset disables results.' },
  resultBackendTransportOptions: { celeryName: 'result_backend_transport_options', kind: 'json', default: {}, doc: 'Result backend options: globalKeyprefix, resultChordOrdered.' },
  resultExpires: { celeryName: 'result_expires', kind: 'number', default: 86400, min: 0, doc: 'Seconds results are kept (0: forever).' },
  resultExtended: { celeryName: 'result_extended', kind: 'boolean', default: false, doc: 'Store name, args, kwargs, worker, retries, queue with results.' },
  resultSerializer: { celeryName: 'result_serializer', kind: 'enum', values: SERIALIZERS, default: 'json', doc: 'Serializer of stored results.' },
  resultAcceptContent: { celeryName: 'result_accept_content', kind: 'list', values: SERIALIZERS, default: undefined, doc: 'Content types accepted when reading results (defaults to acceptContent).' },
  taskSerializer: { celeryName: 'task_serializer', kind: 'enum', values: SERIALIZERS, default: 'json', doc: 'Serializer of task messages.' },
  acceptContent: { celeryName: 'accept_content', kind: 'list', values: SERIALIZERS, default: ['json'], doc: 'Content types a worker accepts; pickle never.' },
  taskCompression: { celeryName: 'task_compression', kind: 'enum', values: COMPRESSIONS, default: undefined, doc: 'Compression of task bodies.' },
  taskDefaultQueue: { celeryName: 'task_default_queue', kind: 'string', default: 'celery', doc: 'Queue of tasks with no route.' },
  taskDefaultExchange: { celeryName: 'task_default_exchange', kind: 'string', default: 'celery', doc: 'Exchange of the default queue; default: named after taskDefaultQueue.' },
  taskDefaultRoutingKey: { celeryName: 'task_default_routing_key', kind: 'string', default: 'celery', doc: 'Routing key of the default queue; default: named after taskDefaultQueue.' },
  taskDefaultPriority: { celeryName: 'task_default_priority', kind: 'number', default: undefined, min: 0, doc: 'Priority of tasks sent without one (0-9).' },
  taskRoutes: { celeryName: 'task_routes', kind: 'json', default: undefined, doc: 'Routes by name or glob: {"billing.*": {"queue": "billing"}}, or router functions in code.' },
  taskQueues: { celeryName: 'task_queues', kind: 'json', default: undefined, doc: 'Queue declarations: [{"name", "exchange", "exchangeType", "routingKey", "maxPriority", "queueArguments": {"x-queue-type": "quorum"}}], or {"name": {...}}.' },
  taskQueueMaxPriority: { celeryName: 'task_queue_max_priority', kind: 'number', default: undefined, min: 0, doc: 'x-max-priority of every task queue (RabbitMQ; 9 first). Must match how others declared the queue.' },
  taskCreateMissingQueues: { celeryName: 'task_create_missing_queues', kind: 'boolean', default: true, doc: 'Declare queues named in routes on first use.' },
  taskPublishRetry: { celeryName: 'task_publish_retry', kind: 'boolean', default: true, doc: 'Retry a publish when the broker is unreachable.' },
  taskPublishRetryPolicy: {
    celeryName: 'task_publish_retry_policy',
    kind: 'json',
    default: { maxRetries: 3, intervalStart: 0, intervalStep: 0.2, intervalMax: 0.2 },
    doc: 'maxRetries, intervalStart, intervalStep, intervalMax (seconds).',
  },
  taskAcksLate: { celeryName: 'task_acks_late', kind: 'boolean', default: false, doc: 'Ack after the task ran instead of before.' },
  taskRejectOnWorkerLost: { celeryName: 'task_reject_on_worker_lost', kind: 'boolean', default: false, doc: 'Requeue an acksLate task whose worker died.' },
  taskAcksOnFailureOrTimeout: { celeryName: 'task_acks_on_failure_or_timeout', kind: 'boolean', default: true, doc: 'With acksLate, ack failed and timed-out tasks too.' },
  taskTrackStarted: { celeryName: 'task_track_started', kind: 'boolean', default: false, doc: 'Store STARTED when a task starts.' },
  taskTrackSent: { celeryName: 'task_track_sent', kind: 'boolean', default: false, doc: 'Store a PENDING record on publish, so a known id can be told from an unknown one.' },
  taskIgnoreResult: { celeryName: 'task_ignore_result', kind: 'boolean', default: false, doc: 'Store no results unless a task asks.' },
  taskStoreErrorsEvenIfIgnored: { celeryName: 'task_store_errors_even_if_ignored', kind: 'boolean', default: false, doc: 'Store failures of ignore-result tasks.' },
  taskPropagateContext: {
    celeryName: 'task_propagate_context',
    kind: 'boolean',
    default: true,
    doc: 'Run tasks in an AsyncLocalStorage context: currentTask() works and tasks sent from a task carry parent/root ids. Costs ~15% throughput on no-op tasks (Node 20 promise hooks).',
  },
  taskAlwaysEager: { celeryName: 'task_always_eager', kind: 'boolean', default: false, doc: 'Run tasks locally on delay() (tests).' },
  taskEagerPropagates: { celeryName: 'task_eager_propagates', kind: 'boolean', default: false, doc: 'Eager tasks throw their errors.' },
  taskTimeLimit: { celeryName: 'task_time_limit', kind: 'number', default: undefined, min: 0, doc: 'Hard time limit in seconds.' },
  taskSoftTimeLimit: { celeryName: 'task_soft_time_limit', kind: 'number', default: undefined, min: 0, doc: 'Soft time limit in seconds.' },
  taskDefaultRateLimit: { celeryName: 'task_default_rate_limit', kind: 'string', default: undefined, doc: 'Rate limit of every task, e.g. "10/s".' },
  taskDefaultGlobalRateLimit: { celeryName: 'task_default_global_rate_limit', kind: 'string', default: undefined, doc: 'Rate limit of every task across all workers (through Redis), e.g. "100/s".' },
  taskAnnotations: { celeryName: 'task_annotations', kind: 'json', default: undefined, doc: 'Task options by name, glob or "*": {"billing.*": {"rateLimit": "10/s", "acksLate": true}}; functions (taskName) => options in code.' },
  rateLimitRedisUrl: { celeryName: 'rate_limit_redis_url', kind: 'string', default: undefined, doc: 'Redis of global rate limits; default the broker URL when it is redis(s)://.' },
  rateLimitKeyPrefix: { celeryName: 'rate_limit_key_prefix', kind: 'string', default: 'celeriac:', doc: 'Prefix of global rate-limit keys (<prefix>ratelimit:<task>).' },
  timezone: { celeryName: 'timezone', kind: 'string', default: 'UTC', doc: 'Time zone for beat and display.' },
  enableUtc: { celeryName: 'enable_utc', kind: 'boolean', default: true, doc: 'Dates in messages are UTC (always true on the wire).' },
  imports: { celeryName: 'imports', kind: 'list', default: [], doc: 'Task modules (paths or globs) the worker loads at start.' },
  workerConcurrency: { celeryName: 'worker_concurrency', kind: 'number', default: Math.max(1, cpus().length), min: 1, doc: 'Tasks run at once per worker (-c).' },
  workerPrefetchMultiplier: { celeryName: 'worker_prefetch_multiplier', kind: 'number', default: 4, min: 1, doc: 'Messages reserved per slot.' },
  workerDisablePrefetch: { celeryName: 'worker_disable_prefetch', kind: 'boolean', default: false, doc: 'Reserve a message only when a slot is free (long tasks): other workers get the rest.' },
  workerShutdownTimeout: { celeryName: 'worker_shutdown_timeout', kind: 'number', default: 60, min: 0, doc: 'Seconds a warm shutdown waits for running tasks.' },
  workerDeduplicateSuccessfulTasks: { celeryName: 'worker_deduplicate_successful_tasks', kind: 'boolean', default: false, doc: 'acksLate tasks delivered again whose id already has SUCCESS stored are acked, not run again.' },
  workerEtaTaskLimit: { celeryName: 'worker_eta_task_limit', kind: 'number', default: undefined, min: 0, doc: 'ETA/countdown tasks a worker holds in memory at most; beyond it, one due in over 1 s goes to the broker\'s delayed delivery (Redis, RabbitMQ, memory), else it keeps its prefetch slot until due (fetching slows; nothing dropped). Unset: no limit.' },
  workerLogLevel: { celeryName: 'worker_log_level', kind: 'enum', values: LOG_LEVELS, default: 'info', doc: 'Log level.' },
  workerHostname: { celeryName: 'worker_hostname', kind: 'string', default: undefined, doc: 'Node name (name@host); default celeriac@<hostname>.' },
  workerSendTaskEvents: { celeryName: 'worker_send_task_events', kind: 'boolean', default: false, doc: 'Workers send task events (task-received, task-started, task-succeeded...) for monitors such as Flower (-E).' },
  taskSendSentEvent: { celeryName: 'task_send_sent_event', kind: 'boolean', default: false, doc: 'Clients send a task-sent event per published task.' },
  eventQueueExpires: { celeryName: 'event_queue_expires', kind: 'number', default: 60, min: 0, doc: 'Seconds an event receiver\'s queue outlives its consumer (RabbitMQ x-expires).' },
  eventQueueTtl: { celeryName: 'event_queue_ttl', kind: 'number', default: 5, min: 0, doc: 'Seconds an event waits in a receiver\'s queue at most (RabbitMQ x-message-ttl).' },
  workerPool: { celeryName: 'worker_pool', kind: 'enum', values: ['async', 'threads', 'processes'], default: 'async', doc: 'Execution pool (-P): async (event loop), threads (worker_threads) or processes (child processes, Celery\'s prefork).' },
  workerMaxTasksPerChild: { celeryName: 'worker_max_tasks_per_child', kind: 'number', default: undefined, min: 1, doc: 'Tasks a pool thread/process runs before it is replaced (threads and processes pools).' },
  workerMaxMemoryPerChild: { celeryName: 'worker_max_memory_per_child', kind: 'number', default: undefined, min: 1, doc: 'KiB a pool child may use after a task before it is replaced: a process\'s RSS, a thread\'s V8 heap.' },
  beatSchedule: { celeryName: 'beat_schedule', kind: 'json', default: {}, doc: 'Periodic tasks by name: {"task", "schedule", "args", "kwargs", "options"}; schedule {"every": "5m"}, {"crontab": "0 3 * * *", "timezone"}, {"solar", "lat", "lon"} or {"clocked"}.' },
  beatScheduleFilename: { celeryName: 'beat_schedule_filename', kind: 'string', default: 'celerybeat-schedule.json', doc: 'File of beat state (last run per entry) when beatStore is file.' },
  beatMaxLoopInterval: { celeryName: 'beat_max_loop_interval', kind: 'number', default: 300, min: 0.01, doc: 'Longest sleep of the beat loop, in seconds.' },
  beatCatchUpWindow: { celeryName: 'beat_catch_up_window', kind: 'number', default: 3600, min: 0, doc: 'Seconds a run missed while beat was down may be late and still run (once) on start; older ones are skipped and logged.' },
  beatStore: { celeryName: 'beat_store', kind: 'enum', values: ['auto', 'file', 'redis', 'memory'], default: 'auto', doc: 'Where beat keeps its state: redis (shared by replicas), file (beatScheduleFilename), memory; auto = redis when beat has a Redis, else file.' },
  beatRedisUrl: { celeryName: 'beat_redis_url', kind: 'string', default: undefined, doc: 'Redis for the beat leader lease, run claims and state; default the broker URL when it is redis(s)://. Without one, beat runs as a single instance.' },
  beatKeyPrefix: { celeryName: 'beat_key_prefix', kind: 'string', default: 'celeriac:', doc: 'Prefix of beat\'s Redis keys (<prefix>beat:leader, <prefix>beat:state, <prefix>beat:run:*).' },
  beatLeaseTime: { celeryName: 'beat_lease_time', kind: 'number', default: 30, min: 0.05, doc: 'Seconds of the beat leader lease; another beat takes over within this time after the leader dies.' },
};

export type SettingName = keyof CeleriacSettings;
export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];
