/** A counting semaphore: at most `size` tasks run at once (the -c concurrency). */
export class Slots {
  private free: number;
  private readonly waiters: Array<(ok: boolean) => void> = [];

  constructor(readonly size: number) {
    this.free = size;
  }

  get running(): number {
    return this.size - this.free;
  }

  /** Resolves true with a slot, or false when `cancelAll` ran first. */
  acquire(): Promise<boolean> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next(true);
    else this.free++;
  }

  /** Wakes every waiter with false (shutdown). */
  cancelAll(): void {
    for (const w of this.waiters.splice(0)) w(false);
  }
}
