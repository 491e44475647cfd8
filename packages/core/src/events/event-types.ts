/**
 * Celery's monitoring events (celery-wire.md §6; celery/events/event.py): the exchange, how it is
 * declared per broker, and the events' fields. On the wire the fields are snake_case; the receiver
 * hands them over in camelCase (`root_id` → `rootId`, `sw_ident` → `swIdent`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExchangeType } from '../brokers/broker';

/** Celery's event_exchange. */
export const EVENT_EXCHANGE = 'celeryev';

/**
 * Celery declares `celeryev` as a durable topic exchange; Kombu's Redis transport has no topic
 * broadcast, so Celery turns it into a fanout there (events.get_exchange). The memory broker mirrors Redis.
 */
export function eventExchangeType(brokerUrl: string): ExchangeType {
  return /^(amqps?|pyamqp):/i.test(brokerUrl) ? 'topic' : 'fanout';
}

/** Routing key of an event type: `worker-heartbeat` → `worker.heartbeat` (batches: `task.multi`). */
export const eventRoutingKey = (type: string): string => type.replace(/-/g, '.');

/** Celery's utcoffset(): hours west of UTC, floored, DST included (JS getTimezoneOffset has the same sign). */
export function utcoffset(now = new Date()): number {
  return Math.floor(now.getTimezoneOffset() / 60);
}

/** Python's platform.system() names. */
const SYSTEM_NAMES: Partial<Record<NodeJS.Platform, string>> = { linux: 'Linux', darwin: 'Darwin', win32: 'Windows', freebsd: 'FreeBSD', openbsd: 'OpenBSD', sunos: 'SunOS', aix: 'AIX' };
const systemName = (): string => SYSTEM_NAMES[process.platform] ?? process.platform;

let version: string | undefined;
/** Celery's SOFTWARE_INFO, for worker events. */
export function softwareInfo(): { sw_ident: string; sw_ver: string; sw_sys: string } {
  if (version === undefined) {
    try {
      // src/events and dist/events both sit two levels below package.json
      version = (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      version = 'unknown';
    }
  }
  return { sw_ident: 'celeriac', sw_ver: version, sw_sys: systemName() };
}

/** Fields every event carries. */
export interface EventBase {
  type: string;
  hostname: string;
  /** Unix seconds (float), as sent. */
  timestamp: number;
  /** Hours west of UTC of the sender. */
  utcoffset: number;
  pid: number;
  /** Lamport clock of the sender. */
  clock: number;
  /** Unix seconds when this receiver got it. */
  localReceived: number;
  /** Fields of newer senders not modelled here (camelCased). */
  [field: string]: unknown;
}

export interface WorkerEvent extends EventBase {
  freq: number;
  active: number;
  processed: number;
  loadavg: number[];
  swIdent: string;
  swVer: string;
  swSys: string;
}

export interface TaskEventBase extends EventBase {
  uuid: string;
}

/** The task's own fields, as task-sent and task-received carry them (events/task-sent.ts taskMessageFields). */
export interface TaskMessageEventFields extends TaskEventBase {
  name: string;
  /** repr of the positional args, e.g. `(2, 3)` */
  args: string;
  kwargs: string;
  rootId: string | null;
  parentId: string | null;
  retries: number;
  eta: string | null;
  expires: string | null;
}

export interface TaskSentEvent extends TaskMessageEventFields {
  queue: string | null;
  exchange: string | null;
  routingKey: string | null;
}

export type TaskReceivedEvent = TaskMessageEventFields;

export interface TaskSucceededEvent extends TaskEventBase {
  /** repr of the return value (a string, e.g. `5`). */
  result: string;
  /** Seconds. */
  runtime: number;
}

export interface TaskFailedEvent extends TaskEventBase {
  /** repr of the error, e.g. `ValueError('boom')`. */
  exception: string;
  traceback?: string | null;
}

export interface TaskRevokedEvent extends TaskEventBase {
  terminated: boolean;
  signum: number | string | null;
  expired: boolean;
}

export interface TaskRejectedEvent extends TaskEventBase {
  requeue: boolean;
}

/** Handler argument by event type; `*` gets every event. */
export interface EventTypeMap {
  'worker-online': WorkerEvent;
  'worker-heartbeat': WorkerEvent;
  'worker-offline': WorkerEvent;
  'task-sent': TaskSentEvent;
  'task-received': TaskReceivedEvent;
  'task-started': TaskEventBase;
  'task-succeeded': TaskSucceededEvent;
  'task-failed': TaskFailedEvent;
  'task-retried': TaskFailedEvent;
  'task-revoked': TaskRevokedEvent;
  'task-rejected': TaskRejectedEvent;
  '*': EventBase;
}

export type EventType = keyof EventTypeMap;
