/**
 * One consume() call's handler and prefetch window, shared by its list queues (redis-consumer.ts,
 * BRPOP) and its fanout queues (redis-fanout.ts, PSUBSCRIBE): a delivery holds a slot until its
 * handler call settles.
 */
import type { ConsumerRecovery, Delivery, DeliveryHandler } from '../broker';

export class ConsumeWindow {
  /** Handler calls not settled yet. */
  inFlight = 0;
  readonly prefetch: number;
  private readonly listeners: (() => void)[] = [];

  constructor(
    private readonly handler: DeliveryHandler,
    prefetch: number,
    readonly onError?: (error: unknown) => void,
    /** Told when a stalled list consumer was rebuilt and receives again (redis-consumer-watchdog.ts). */
    readonly onRecover?: (event: ConsumerRecovery) => void,
  ) {
    this.prefetch = Math.max(1, prefetch);
  }

  /** Slots free now. */
  get free(): number {
    return this.prefetch - this.inFlight;
  }

  /** `listener` runs each time a slot frees (the list loop's wake-up, the fanout buffer's drain). */
  onRelease(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Calls the handler; the slot is held until the call settles. A throw or a rejection goes to onError. */
  run(delivery: Delivery): void {
    this.inFlight++;
    try {
      const ret: unknown = this.handler(delivery);
      if (ret instanceof Promise) {
        ret.then(this.release, (err: unknown) => {
          this.onError?.(err);
          this.release();
        });
      } else this.release();
    } catch (err) {
      this.onError?.(err);
      this.release();
    }
  }

  private readonly release = (): void => {
    this.inFlight--;
    for (const listener of this.listeners) listener();
  };
}
