/**
 * The fault tests' own count of task executions, apart from broker and result backend: the fixture
 * app (test/fixtures/fault/fault-app.js) does HINCRBY `<prefix>runs` <task id> 1 and RPUSH
 * `<prefix>times` <ms> in one MULTI once a task has done its work, on a Redis that no fault touches.
 * From it: completed, lost and duplicated per task id, the time of each completion (recovery times),
 * and one printed block of figures per test.
 *
 * @example
 * const ledger = new FaultLedger(ns.redisUrl, ns.prefix);
 * const figures = await ledger.figures(sentIds); // { sent, completed, lost, duplicated, unexpected }
 * printFigures('Redis kill', { ...figures, 'recovery (ms)': 120 });
 */
import { Redis } from 'ioredis';

export interface LedgerFigures {
  /** Task ids published. */
  sent: number;
  /** Distinct published ids executed at least once. */
  completed: number;
  /** Published ids never executed. */
  lost: number;
  /** Executions beyond the first, over all ids (at-least-once redeliveries). */
  duplicated: number;
  /** Executed ids that were never published (must be 0). */
  unexpected: number;
}

export class FaultLedger {
  readonly redis: Redis;
  readonly runsKey: string;
  readonly timesKey: string;

  constructor(url: string, prefix: string) {
    this.redis = new Redis(url);
    this.runsKey = `${prefix}runs`;
    this.timesKey = `${prefix}times`;
  }

  /** Distinct task ids executed so far. */
  distinct(): Promise<number> {
    return this.redis.hlen(this.runsKey);
  }

  /** Executions so far, duplicates included. */
  executions(): Promise<number> {
    return this.redis.llen(this.timesKey);
  }

  /** Executions per task id. */
  async runs(): Promise<Map<string, number>> {
    const all = await this.redis.hgetall(this.runsKey);
    return new Map(Object.entries(all).map(([id, n]) => [id, Number(n)]));
  }

  /** The first completion at or after `sinceMs` (epoch ms), or undefined. */
  async firstCompletionAfter(sinceMs: number): Promise<number | undefined> {
    const times = (await this.redis.lrange(this.timesKey, 0, -1)).map(Number);
    let first: number | undefined;
    for (const t of times) if (t >= sinceMs && (first === undefined || t < first)) first = t;
    return first;
  }

  /** Completions strictly between two instants (epoch ms). */
  async completionsBetween(fromMs: number, toMs: number): Promise<number> {
    const times = (await this.redis.lrange(this.timesKey, 0, -1)).map(Number);
    return times.filter((t) => t > fromMs && t < toMs).length;
  }

  async figures(sent: readonly string[]): Promise<LedgerFigures> {
    const runs = await this.runs();
    const sentSet = new Set(sent);
    let completed = 0;
    let duplicated = 0;
    let unexpected = 0;
    for (const [id, n] of runs) {
      if (!sentSet.has(id)) unexpected++;
      else completed++;
      duplicated += n - 1;
    }
    return { sent: sent.length, completed, lost: sent.filter((id) => !runs.has(id)).length, duplicated, unexpected };
  }

  close(): void {
    this.redis.disconnect();
  }
}

/** Prints a test's figures as one block in the test output (the issue asks for them there). */
export function printFigures(title: string, figures: Record<string, number | string>): void {
  console.log(`${title}:\n${Object.entries(figures).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`);
}
