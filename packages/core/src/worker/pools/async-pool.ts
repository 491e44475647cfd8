/** `-P async` (default): tasks run in the worker's own event loop through its Executor; -c N at once. */
import type { Executor, Outcome } from '../executor';
import type { Pool, PoolJob } from './pool';

export class AsyncPool implements Pool {
  readonly kind = 'async';

  constructor(
    private readonly executor: Executor,
    private current: number,
  ) {}

  get size(): number {
    return this.current;
  }

  async start(): Promise<void> {}

  run(job: PoolJob): Promise<Outcome> {
    return this.executor.run(job.task, job.message, job.deliveryInfo, false);
  }

  /** The task's signal aborts and the worker stops waiting; its code is not killed (see Executor.terminate). */
  terminate(id: string): boolean {
    return this.executor.terminate(id);
  }

  pidOf(): number | undefined {
    return undefined;
  }

  startedAt(id: string): number | null {
    return this.executor.running.get(id)?.startedAt ?? null;
  }

  /** The worker's slots bound concurrency; nothing to grow here. */
  resize(size: number): void {
    this.current = size;
  }

  async close(): Promise<void> {}

  stats(): Record<string, unknown> {
    return { implementation: 'celeriac:async', 'max-concurrency': this.current, processes: [process.pid], 'max-tasks-per-child': 'N/A', 'put-guarded-by-semaphore': false, timeouts: [] };
  }
}
