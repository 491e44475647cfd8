/**
 * `app.signals`: Celery's signals as typed, app-level hooks.
 *
 * - Listeners run synchronously, in the order they were added, where the event happens: publishing
 *   signals in the process that publishes; task signals (prerun, postrun, success, failure, retry)
 *   wherever the task runs (inside a pool's thread or child process too, as Celery's prerun fires in
 *   the pool process), so register listeners in the module that builds the app; worker signals in the
 *   worker's main process.
 * - A listener that throws, or whose promise rejects, is logged and the others still run: publishing
 *   and task processing go on (Celery's Signal.send logs and continues). That holds for
 *   beforeTaskPublish too: it cannot veto a publish (neither can Celery's); check before calling delay().
 * - Emitters check `has(name)` before building a payload, so an unused signal costs one Map lookup.
 *
 * @example
 * app.signals.on('taskPrerun', ({ taskId, task }) => console.log(`${task.taskName}[${taskId}] starting`));
 * app.signals.on('beforeTaskPublish', ({ headers }) => { headers.tenant = 'acme'; });
 */
import type { Logger } from '../logging/logger';
import type { SignalListener, SignalMap, SignalName } from './signal-types';

export class Signals {
  private readonly listeners = new Map<SignalName, Array<SignalListener<SignalName>>>();

  constructor(private readonly logger: Logger) {}

  /** Adds a listener; returns a function that removes it. */
  on<K extends SignalName>(name: K, listener: SignalListener<K>): () => void {
    if (typeof listener !== 'function') throw new TypeError(`Signal "${name}": the listener must be a function.`);
    // A new array each time, so an emit in progress is not changed under it.
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), listener as SignalListener<SignalName>]);
    return () => this.off(name, listener);
  }

  /** Adds a listener that runs once. */
  once<K extends SignalName>(name: K, listener: SignalListener<K>): () => void {
    const off = this.on(name, (payload) => {
      off();
      return listener(payload);
    });
    return off;
  }

  /** Removes a listener (the first registration of it). */
  off<K extends SignalName>(name: K, listener: SignalListener<K>): void {
    const list = this.listeners.get(name);
    if (!list) return;
    const i = list.indexOf(listener as SignalListener<SignalName>);
    if (i < 0) return;
    const next = [...list.slice(0, i), ...list.slice(i + 1)];
    if (next.length) this.listeners.set(name, next);
    else this.listeners.delete(name);
  }

  /** Removes every listener of `name`, or of every signal. */
  removeAll(name?: SignalName): void {
    if (name) this.listeners.delete(name);
    else this.listeners.clear();
  }

  /** True when `name` has listeners: check it before building a payload. */
  has(name: SignalName): boolean {
    return this.listeners.has(name);
  }

  listenerCount(name: SignalName): number {
    return this.listeners.get(name)?.length ?? 0;
  }

  /** Calls the listeners of `name`; their errors are logged, never thrown. */
  emit<K extends SignalName>(name: K, payload: SignalMap[K]): void {
    const list = this.listeners.get(name);
    if (!list) return;
    for (const listener of list) {
      try {
        const out = listener(payload);
        if (out instanceof Promise) out.catch((err: unknown) => this.report(name, err));
      } catch (err) {
        this.report(name, err);
      }
    }
  }

  private report(name: SignalName, err: unknown): void {
    this.logger.error({ err, signal: name }, `Signal handler of ${name} raised: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  }
}
