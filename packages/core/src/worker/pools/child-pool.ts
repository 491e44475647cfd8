/**
 * The worker's side of a pool of threads or processes (Celery's prefork): N children, each running
 * one task at a time. It hands a task to an idle child, times its hard limit (killing the child at
 * expiry), kills it on revoke-terminate, replaces children that die or retire (maxTasksPerChild,
 * maxMemoryPerChild), and grows or shrinks for autoscale. How a child is spawned and killed is the
 * Spawner's business (thread-pool.ts, process-pool.ts).
 */
import type { Outcome } from '../executor';
import { fromWireError, fromWireOutcome, type FromChild, type ToChild } from './child-protocol';
import { settleLostTask, type LostReason, type LostTaskHost } from './lost-task';
import { hardTimeLimit, type ChildPoolOptions, type Pool, type PoolJob, type PoolKind } from './pool';

/** One thread or process, as the pool sees it. */
export interface ChildHandle {
  /** A process's pid; a thread's threadId. */
  readonly id: number;
  send(message: ToChild): void;
  /** Now: SIGKILL, or Worker.terminate(). */
  kill(): void;
  onMessage(listener: (message: FromChild) => void): void;
  /** Once, when it is gone; `exit` reads "exitcode 1" or "signal 9 (SIGKILL)". */
  onExit(listener: (exit: string) => void): void;
}

export type Spawner = () => ChildHandle;

interface Running {
  job: PoolJob;
  resolve: (outcome: Outcome) => void;
  startedAt: number;
  started: number;
  timer?: NodeJS.Timeout;
  killedFor?: LostReason;
}

interface Child {
  handle: ChildHandle;
  state: 'starting' | 'idle' | 'busy' | 'retiring';
  tasks: number;
  running?: Running;
  /** Built its app once; a child that never did is respawned after a delay, not in a tight loop. */
  ready: boolean;
}

/** Ms a retiring child may take to close its app before it is killed. */
const RETIRE_GRACE_MS = 10_000;
/** Ms before trying again to replace a child whose replacement failed to start. */
const RESPAWN_DELAY_MS = 1000;

export class ChildPool implements Pool {
  private readonly children = new Set<Child>();
  private readonly waiters: Array<(child: Child | undefined) => void> = [];
  private target: number;
  private closing = false;
  private respawnTimer: NodeJS.Timeout | undefined;
  private readonly exited = new Map<Child, Promise<void>>();

  constructor(
    readonly kind: Exclude<PoolKind, 'async'>,
    private readonly spawner: Spawner,
    private readonly options: ChildPoolOptions,
    private readonly host: LostTaskHost,
  ) {
    this.target = options.size;
  }

  get size(): number {
    return this.target;
  }

  private get logger() {
    return this.host.app.logger;
  }

  /** Starts every child and waits until each has built its app; kills them all if one cannot. */
  async start(): Promise<void> {
    const starting = Array.from({ length: this.target }, () => this.spawn());
    const results = await Promise.allSettled(starting);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await this.close({ graceful: false });
      throw failed.reason;
    }
  }

  /** Spawns a child; resolves once it is ready, rejects when it fails to build its app. */
  private spawn(): Promise<void> {
    let handle: ChildHandle;
    try {
      handle = this.spawner();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const child: Child = { handle, state: 'starting', tasks: 0, ready: false };
    this.children.add(child);
    let resolveExit!: () => void;
    this.exited.set(child, new Promise<void>((r) => (resolveExit = r)));
    return new Promise<void>((resolve, reject) => {
      handle.onMessage((message) => {
        if (message.type === 'ready') {
          this.logger.debug({ pool: this.kind, child: handle.id }, `Pool ${this.kind}: child ${handle.id} ready`);
          child.ready = true;
          resolve();
          if (child.state === 'starting') this.becomeIdle(child);
        } else if (message.type === 'init-failed') {
          const error = fromWireError(message.error);
          reject(new Error(`A ${this.kind} pool child could not build the app from its appSource: ${error.message}`, { cause: error }));
          child.state = 'retiring';
          handle.kill();
        } else this.onDone(child, message);
      });
      handle.onExit((exit) => {
        reject(new Error(`A ${this.kind} pool child exited while starting (${exit}).`));
        this.exited.delete(child);
        this.onExit(child, exit);
        resolveExit();
      });
      handle.send({ type: 'init', appSource: this.options.appSource, hostname: this.options.hostname });
    });
  }

  run(job: PoolJob): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      const begin = (child: Child | undefined): void => {
        if (!child) {
          void settleLostTask(this.host, job, { kind: 'shutdown' }, 0).then(resolve);
          return;
        }
        this.dispatch(child, job, resolve);
      };
      const idle = [...this.children].find((c) => c.state === 'idle');
      if (idle) begin(idle);
      else this.waiters.push(begin);
    });
  }

  private dispatch(child: Child, job: PoolJob, resolve: (outcome: Outcome) => void): void {
    child.state = 'busy';
    const running: Running = { job, resolve, startedAt: Date.now() / 1000, started: performance.now() };
    child.running = running;
    const hard = hardTimeLimit(job.task, job.message, this.host.app.conf);
    if (hard) {
      running.timer = setTimeout(() => {
        running.killedFor = { kind: 'time-limit', seconds: hard };
        child.handle.kill();
      }, hard * 1000);
    }
    child.handle.send({ type: 'run', message: job.message, deliveryInfo: job.deliveryInfo });
  }

  private onDone(child: Child, message: Extract<FromChild, { type: 'done' }>): void {
    const running = child.running;
    if (!running || running.job.message.id !== message.id || running.killedFor) return; // already being killed
    clearTimeout(running.timer);
    child.running = undefined;
    child.tasks++;
    running.resolve(fromWireOutcome(message.outcome));
    const { maxTasksPerChild, maxMemoryPerChild } = this.options;
    if (maxTasksPerChild && child.tasks >= maxTasksPerChild) {
      this.retire(child, `it ran ${child.tasks} tasks (maxTasksPerChild)`);
    } else if (maxMemoryPerChild && message.memoryKiB > maxMemoryPerChild) {
      this.retire(child, `it uses ${message.memoryKiB} KiB, over maxMemoryPerChild (${maxMemoryPerChild} KiB)`);
    } else if (this.live() > this.target) {
      this.retire(child, 'the pool shrinks');
    } else this.becomeIdle(child);
  }

  private becomeIdle(child: Child): void {
    if (this.closing) {
      this.retire(child, 'the pool closes');
      return;
    }
    if (this.live() > this.target) {
      this.retire(child, 'the pool shrinks');
      return;
    }
    child.state = 'idle';
    const waiter = this.waiters.shift();
    if (waiter) waiter(child);
  }

  /** Children that count toward the size (not retiring). */
  private live(): number {
    let n = 0;
    for (const c of this.children) if (c.state !== 'retiring') n++;
    return n;
  }

  /** Asks an idle child to close its app and exit; a replacement starts at once when needed. */
  private retire(child: Child, why: string): void {
    child.state = 'retiring';
    const log = { pool: this.kind, child: child.handle.id };
    if (this.closing) this.logger.debug(log, `Pool ${this.kind}: closing child ${child.handle.id}`);
    else this.logger.info(log, `Pool ${this.kind}: retiring child ${child.handle.id}: ${why}`);
    child.handle.send({ type: 'close' });
    setTimeout(() => {
      if (this.children.has(child)) child.handle.kill();
    }, RETIRE_GRACE_MS).unref();
    this.maintain();
  }

  private onExit(child: Child, exit: string): void {
    this.children.delete(child);
    const running = child.running;
    child.running = undefined;
    if (running) {
      clearTimeout(running.timer);
      const reason: LostReason = running.killedFor ?? (this.closing ? { kind: 'shutdown' } : { kind: 'died', exit });
      void settleLostTask(this.host, running.job, reason, performance.now() - running.started).then(running.resolve);
    } else if (child.state !== 'retiring' && !this.closing) {
      this.logger.error({ pool: this.kind, child: child.handle.id }, `Pool ${this.kind}: idle child ${child.handle.id} exited (${exit}); replacing it`);
    }
    if (child.ready) this.maintain();
  }

  /** Spawns children until `target` are live (not while closing). */
  private maintain(): void {
    if (this.closing) return;
    for (let n = this.live(); n < this.target; n++) {
      this.spawn().catch((err: unknown) => {
        if (this.closing) return;
        this.logger.error({ err, pool: this.kind }, `Pool ${this.kind}: could not start a replacement child; retrying in ${RESPAWN_DELAY_MS / 1000}s`);
        if (!this.respawnTimer && !this.closing) {
          this.respawnTimer = setTimeout(() => {
            this.respawnTimer = undefined;
            this.maintain();
          }, RESPAWN_DELAY_MS);
        }
      });
    }
  }

  terminate(id: string): boolean {
    for (const child of this.children) {
      if (child.running?.job.message.id !== id || child.running.killedFor) continue;
      child.running.killedFor = { kind: 'terminated' };
      child.handle.kill();
      return true;
    }
    return false;
  }

  pidOf(id: string): number | undefined {
    if (this.kind !== 'processes') return undefined;
    for (const child of this.children) if (child.running?.job.message.id === id) return child.handle.id;
    return undefined;
  }

  startedAt(id: string): number | null {
    for (const child of this.children) if (child.running?.job.message.id === id) return child.running.startedAt;
    return null;
  }

  resize(size: number): void {
    this.target = Math.max(1, Math.floor(size));
    for (const child of [...this.children]) {
      if (this.live() <= this.target) break;
      if (child.state === 'idle') this.retire(child, 'the pool shrinks');
    }
    this.maintain();
  }

  /**
   * Warm: idle children close their apps and exit; children still running a task (the worker's
   * shutdown timeout passed) are killed. Cold: all are killed. Resolves when every child is gone.
   */
  async close(options: { graceful?: boolean } = {}): Promise<void> {
    this.closing = true;
    clearTimeout(this.respawnTimer);
    for (const w of this.waiters.splice(0)) w(undefined);
    for (const child of this.children) {
      if (options.graceful !== false && child.state === 'idle') this.retire(child, 'the pool closes');
      else if (child.state !== 'retiring' || options.graceful === false) child.handle.kill();
    }
    await Promise.all([...this.exited.values()]);
  }

  stats(): Record<string, unknown> {
    return {
      implementation: `celeriac:${this.kind}`,
      'max-concurrency': this.target,
      // Children ready to run or running (not starting, not retiring): pids, or thread ids.
      processes: [...this.children].filter((c) => c.state === 'idle' || c.state === 'busy').map((c) => c.handle.id),
      'max-tasks-per-child': this.options.maxTasksPerChild ?? 'N/A',
      'max-memory-per-child': this.options.maxMemoryPerChild ?? 'N/A',
      'put-guarded-by-semaphore': false,
      timeouts: [],
    };
  }
}
