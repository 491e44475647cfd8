/**
 * What a worker is given (WorkerOptions: the CLI flags' programmatic form) and what it emits
 * (WorkerEventMap), apart from worker.ts so the class file keeps to the worker's behaviour.
 */
import { hostname as osHostname } from 'node:os';
import type { TaskMessage } from '../protocol/message-v2';
import type { EtaScheduler } from './eta-scheduler';
import type { AppSource, AutoscaleOptions, PoolKind } from './pools/pool';

export interface WorkerOptions {
  /** Queues to consume (-Q). @defaultValue [taskDefaultQueue] */
  queues?: readonly string[];
  /** Queues not to consume (-X). */
  excludeQueues?: readonly string[];
  /** Tasks at once (-c). @defaultValue workerConcurrency */
  concurrency?: number;
  /** @defaultValue workerPrefetchMultiplier */
  prefetchMultiplier?: number;
  /** Node name; %h = host, %n = name part of host, %d = domain. @defaultValue celeriac@%h */
  hostname?: string;
  /** Seconds a warm shutdown waits for running tasks. @defaultValue workerShutdownTimeout */
  shutdownTimeout?: number;
  /** Where ETA tasks wait. @defaultValue in-memory timers */
  etaScheduler?: EtaScheduler;
  /** Answer remote control (ping, revoke, inspect...) on `<hostname>.celery.pidbox`. @defaultValue true */
  remoteControl?: boolean;
  /** Send worker-online, worker-heartbeat and worker-offline events (false: Celery's --without-heartbeat). @defaultValue true */
  heartbeat?: boolean;
  /** Seconds between worker-heartbeat events (--heartbeat-interval). @defaultValue 2 */
  heartbeatInterval?: number;
  /** Send task events (-E). @defaultValue workerSendTaskEvents */
  taskEvents?: boolean;
  /** File that keeps revoked task ids across restarts (Celery's --statedb). */
  stateDb?: string;
  /**
   * Seconds of ETA this worker holds a message for (unacked) at most. A later ETA goes back to a
   * broker that can delay by itself (RabbitMQ: delay levels; Redis: `celeriac.delayed`), so no message
   * outlives RabbitMQ's consumer_timeout (30 min) or Redis's visibility timeout in a worker. Capped at
   * half the broker's `maxHoldSeconds` (Redis: the visibility timeout). @defaultValue 300
   */
  etaHoldLimit?: number;
  /**
   * Reserve a message only when a slot is free (Celery's --disable-prefetch, for long tasks): the
   * prefetch window is the concurrency, and a held ETA or rate-limited task that becomes due goes
   * back to the queue, to be reserved again by whichever worker has a free slot. @defaultValue workerDisablePrefetch
   */
  disablePrefetch?: boolean;
  /** Where tasks run (-P): 'async' (event loop), 'threads' (worker_threads), 'processes' (child processes). @defaultValue workerPool */
  pool?: PoolKind;
  /** How each pool thread/process builds the app; required by the threads and processes pools. */
  appSource?: AppSource;
  /** Threads/processes: replace a child after this many tasks. @defaultValue workerMaxTasksPerChild */
  maxTasksPerChild?: number;
  /** Threads/processes: replace a child after a task leaves it above this many KiB. @defaultValue workerMaxMemoryPerChild */
  maxMemoryPerChild?: number;
  /** Grow the pool toward max while tasks wait, shrink toward min when idle (--autoscale max,min); overrides concurrency. */
  autoscale?: AutoscaleOptions;
}

/** Events a worker emits (also the basis of Celery task events). */
export interface WorkerEventMap {
  'task-received': [{ id: string; name: string; message: TaskMessage }];
  'task-started': [{ id: string; name: string }];
  'task-succeeded': [{ id: string; name: string; result: unknown; runtimeMs: number }];
  'task-failed': [{ id: string; name: string; error: unknown }];
  'task-retried': [{ id: string; name: string; error: unknown; eta: Date }];
  'task-revoked': [{ id: string; name: string; expired: boolean; terminated?: boolean }];
  'task-rejected': [{ id: string | null; name: string | null; reason: string; requeue: boolean }];
  error: [unknown];
}

/** Expands a node name template: %h = host name, %n = its first label, %d = its domain. */
export function expandHostname(template: string): string {
  const host = osHostname();
  const [name, ...domain] = host.split('.');
  return template.replace(/%h/g, host).replace(/%n/g, name ?? host).replace(/%d/g, domain.join('.'));
}
