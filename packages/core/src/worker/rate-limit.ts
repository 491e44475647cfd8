/**
 * Celery's task rate limits, per task type and per worker: `'10/s'`, `'100/m'`, `'1000/h'`, or a
 * number (per second). Over-limit tasks are delayed, never dropped: each one reserves the next free
 * slot of a token bucket (capacity 1, as Celery's worker uses) and waits for it outside the pool.
 */
import { ConfigError } from '../errors';

const PER: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** Tasks per second, or null for no limit (undefined, '', 0). Throws ConfigError for anything else. */
export function parseRateLimit(value: unknown, where = 'rateLimit'): number | null {
  if (value === undefined || value === null || value === '' || value === 0 || value === '0') return null;
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value > 0) return value;
  } else if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*([smh]))?\s*$/.exec(value);
    if (m) {
      const n = Number(m[1]);
      return n > 0 ? n / PER[m[2] ?? 's']! : null;
    }
  }
  throw new ConfigError(where, `${where} must look like '10/s', '100/m' or '1000/h' (or a number per second), got ${JSON.stringify(value)}.`);
}

/** One bucket per task name; `reserve` returns how many ms the caller must wait for its turn. */
export class RateLimiter {
  private readonly rates = new Map<string, number | null>();
  /** Next time (ms) a token is free, per task. */
  private readonly next = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Sets (or clears, with null) a task's rate in tasks per second. */
  setRate(task: string, perSecond: number | null): void {
    this.rates.set(task, perSecond);
    if (perSecond === null) this.next.delete(task);
  }

  rateOf(task: string): number | null | undefined {
    return this.rates.get(task);
  }

  /** Takes the next slot for `task`: 0 when it may run now, else the wait in ms. */
  reserve(task: string): number {
    const rate = this.rates.get(task);
    if (!rate) return 0;
    const now = this.now();
    const at = Math.max(now, this.next.get(task) ?? now);
    this.next.set(task, at + 1000 / rate);
    return at - now;
  }
}
