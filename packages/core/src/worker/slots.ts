/** A counting semaphore: at most `size` tasks run at once (the -c concurrency); autoscale resizes it. */
export class Slots {
  private used = 0;
  private readonly waiters: Array<(ok: boolean) => void> = [];

  constructor(private capacity: number) {}

  get size(): number {
    return this.capacity;
  }

  get running(): number {
    return this.used;
  }

  /** Callers waiting for a slot. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Takes a free slot now if there is one (no promise: the common case on the hot path). */
  tryAcquire(): boolean {
    if (this.used >= this.capacity || this.waiters.length > 0) return false;
    this.used++;
    return true;
  }

  /** Resolves true with a slot, or false when `cancelAll` ran first. */
  acquire(): Promise<boolean> {
    if (this.used < this.capacity) {
      this.used++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    this.used--;
    this.drain();
  }

  /** Grows (waiters start at once) or shrinks (running tasks finish; no new one starts until under `size`). */
  resize(size: number): void {
    this.capacity = Math.max(1, Math.floor(size));
    this.drain();
  }

  /** Wakes every waiter with false (shutdown). */
  cancelAll(): void {
    for (const w of this.waiters.splice(0)) w(false);
  }

  private drain(): void {
    while (this.used < this.capacity && this.waiters.length) {
      this.used++;
      this.waiters.shift()!(true);
    }
  }
}
