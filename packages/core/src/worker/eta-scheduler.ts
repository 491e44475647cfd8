/**
 * Holds ETA/countdown tasks until due. This in-memory timer version keeps the message reserved
 * (unacked) meanwhile, as Celery does; it is the seam where a durable design (a Redis sorted set of due
 * times, RabbitMQ delayed re-publish) plugs in, so long ETAs never outlive the visibility timeout.
 */
export interface EtaScheduler {
  /** Calls `run` at `eta`; returns a function that cancels it. */
  schedule(eta: Date, run: () => void): () => void;
  /** Tasks waiting. */
  readonly size: number;
}

// setTimeout caps at 2^31-1 ms (~24.8 days); longer waits re-arm.
const MAX_TIMEOUT = 2_147_483_647;

export class TimerEtaScheduler implements EtaScheduler {
  private readonly timers = new Set<NodeJS.Timeout>();

  get size(): number {
    return this.timers.size;
  }

  schedule(eta: Date, run: () => void): () => void {
    let timer: NodeJS.Timeout;
    const arm = (): void => {
      const wait = eta.getTime() - Date.now();
      timer = setTimeout(
        () => {
          this.timers.delete(timer);
          if (wait > MAX_TIMEOUT) arm();
          else run();
        },
        Math.max(0, Math.min(wait, MAX_TIMEOUT)),
      );
      this.timers.add(timer);
    };
    arm();
    return () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    };
  }
}
