/**
 * A worker's Celery events: `worker-online` at start, `worker-heartbeat` every `heartbeatInterval`
 * seconds and `worker-offline` at stop (Celery's Heart, celery/worker/heartbeat.py; on unless
 * `heartbeat: false`, like --without-heartbeat), and with task events enabled (workerSendTaskEvents,
 * -E, or remote `enable_events`) the task events, translated from the worker's own events
 * (WorkerEventMap) with the fields of celery/worker/request.py.
 */
import { loadavg } from 'node:os';
import { NotRegisteredError, toError } from '../errors';
import { toExceptionDict } from '../protocol/exception-codec';
import { taskMessageFields } from './task-sent';
import { pythonRepr, saferepr } from '../protocol/repr';
import type { Worker, WorkerEventMap } from '../worker/worker';
import type { EventDispatcher } from './event-dispatcher';
import { softwareInfo } from './event-types';

export interface WorkerEventsOptions {
  /** Send worker-online/heartbeat/offline. @defaultValue true */
  heartbeat?: boolean;
  /** Seconds between heartbeats (Celery's --heartbeat-interval). @defaultValue 2 */
  heartbeatInterval?: number;
  /** Send task events. @defaultValue false */
  taskEvents?: boolean;
}

/** Python's repr of an exception: `ValueError('boom')`. */
export function exceptionRepr(error: unknown): string {
  const dict = toExceptionDict(error);
  return `${dict.exc_type}(${dict.exc_message.map((m) => pythonRepr(m)).join(', ')})`;
}

/** The reason Worker gives for rejecting an unregistered task (it also sends task-failed). */
const NOT_REGISTERED = 'not registered';

type Listeners = { [K in keyof WorkerEventMap]?: (...args: WorkerEventMap[K]) => void };

export class WorkerEvents {
  private timer: NodeJS.Timeout | undefined;
  private listeners: Listeners | undefined;
  private readonly interval: number;

  constructor(
    private readonly worker: Worker,
    private readonly dispatcher: EventDispatcher,
    private readonly options: WorkerEventsOptions = {},
  ) {
    const interval = options.heartbeatInterval ?? 2;
    if (!(interval > 0)) throw new RangeError(`heartbeatInterval must be a number of seconds > 0, got ${interval}.`);
    this.interval = interval;
  }

  get taskEventsEnabled(): boolean {
    return this.listeners !== undefined;
  }

  start(): void {
    if (this.options.taskEvents) this.enableTaskEvents();
    if (this.options.heartbeat === false) return;
    this.sendWorkerEvent('worker-online');
    this.timer = setInterval(() => this.sendWorkerEvent('worker-heartbeat'), this.interval * 1000);
    this.timer.unref();
  }

  /** Sends worker-offline and waits for the events in flight. */
  async stop(): Promise<void> {
    this.disableTaskEvents();
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    if (this.options.heartbeat !== false) this.sendWorkerEvent('worker-offline');
    await this.dispatcher.close();
  }

  /** A heartbeat now (remote control `heartbeat`, sent by receivers as they start). */
  heartbeatNow(): void {
    if (this.options.heartbeat !== false) this.sendWorkerEvent('worker-heartbeat');
  }

  sendWorkerEvent(type: 'worker-online' | 'worker-heartbeat' | 'worker-offline'): void {
    const worker = this.worker;
    const signals = worker.app.signals;
    if (signals.has('heartbeatSent')) signals.emit('heartbeatSent', { worker, type });
    let processed = 0;
    for (const n of worker.processed.values()) processed += n;
    this.dispatcher.send(type, {
      freq: this.interval,
      active: worker.active,
      processed,
      loadavg: loadavg().map((l) => Math.ceil(l * 100) / 100),
      ...softwareInfo(),
    });
  }

  /** Starts sending task events; false when they were on already. */
  enableTaskEvents(): boolean {
    if (this.listeners) return false;
    const d = this.dispatcher;
    this.listeners = {
      'task-received': ({ message: m }) => d.send('task-received', taskMessageFields(m)),
      'task-started': ({ id }) => d.send('task-started', { uuid: id }),
      'task-succeeded': ({ id, result, runtimeMs }) => d.send('task-succeeded', { uuid: id, result: saferepr(result), runtime: runtimeMs / 1000 }),
      'task-failed': ({ id, name, error }) => {
        // Celery's on_unknown_task sends no traceback.
        if (error instanceof NotRegisteredError) d.send('task-failed', { uuid: id, exception: `NotRegistered(${pythonRepr(name)})` });
        else d.send('task-failed', { uuid: id, exception: exceptionRepr(error), traceback: toError(error).stack ?? null });
      },
      'task-retried': ({ id, error }) => d.send('task-retried', { uuid: id, exception: exceptionRepr(error), traceback: toError(error).stack ?? null }),
      'task-revoked': ({ id, expired, terminated }) => d.send('task-revoked', { uuid: id, terminated: terminated ?? false, signum: null, expired }),
      'task-rejected': ({ id, reason, requeue }) => {
        if (id !== null && reason !== NOT_REGISTERED) d.send('task-rejected', { uuid: id, requeue });
      },
    };
    for (const [name, fn] of Object.entries(this.listeners)) this.worker.on(name as 'task-started', fn as (...a: WorkerEventMap['task-started']) => void);
    return true;
  }

  /** Stops sending task events; false when they were off. */
  disableTaskEvents(): boolean {
    if (!this.listeners) return false;
    for (const [name, fn] of Object.entries(this.listeners)) this.worker.off(name as 'task-started', fn as (...a: WorkerEventMap['task-started']) => void);
    this.listeners = undefined;
    this.dispatcher.flush();
    return true;
  }
}
