/**
 * `--autoscale max,min` (Celery's Autoscaler): every interval, compares the demand (tasks running
 * plus tasks waiting for a slot) with the pool's size. More demand than size: grow to it, up to
 * `max`, at once. Less: shrink to it, down to `min`, once the demand has stayed under the size for
 * `keepalive` seconds.
 */
export interface AutoscalerOptions {
  max: number;
  min: number;
  /** Seconds of low demand before shrinking. @defaultValue 30 (Celery's AUTOSCALE_KEEPALIVE) */
  keepalive?: number;
  /** Ms between checks. @defaultValue 1000 */
  intervalMs?: number;
}

export class Autoscaler {
  readonly max: number;
  readonly min: number;
  private current: number;
  private lastBusy: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: AutoscalerOptions,
    /** Tasks running plus tasks waiting for a slot. */
    private readonly demand: () => number,
    /** Applies a new size (slots and pool). */
    private readonly apply: (size: number) => void,
    now = Date.now(),
  ) {
    this.max = Math.floor(options.max);
    this.min = Math.floor(options.min);
    if (!(this.min >= 1) || !(this.max >= this.min)) {
      throw new RangeError(`autoscale needs max >= min >= 1 (got max ${options.max}, min ${options.min}).`);
    }
    this.current = this.min;
    this.lastBusy = now;
  }

  get size(): number {
    return this.current;
  }

  /** One check; returns the size after it. */
  tick(now = Date.now()): number {
    const demand = this.demand();
    if (demand >= this.current) this.lastBusy = now;
    const grown = Math.min(demand, this.max);
    if (grown > this.current) return this.set(grown);
    const shrunk = Math.max(demand, this.min);
    if (shrunk < this.current && now - this.lastBusy > (this.options.keepalive ?? 30) * 1000) return this.set(shrunk);
    return this.current;
  }

  private set(size: number): number {
    this.current = size;
    this.apply(size);
    return size;
  }

  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.options.intervalMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
