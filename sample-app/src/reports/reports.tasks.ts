import { currentTask } from '@celeriac/core';
import { Periodic, Task } from '@celeriac/nestjs';
import { Injectable, Logger } from '@nestjs/common';
import { TextStatsService } from './text-stats.service';

export interface TextReport {
  words: number;
  top: Array<[string, number]>;
}

/** Report tasks: each @Task method runs on a worker with this provider's injected services. */
@Injectable()
export class ReportsTasks {
  private readonly logger = new Logger(ReportsTasks.name);

  constructor(private readonly stats: TextStatsService) {}

  /** Named explicitly, so Python (or a saved schedule) can call it as `reports.analyze`. */
  @Task('reports.analyze')
  async analyze(text: string, top: number = 3): Promise<TextReport> {
    return { words: this.stats.words(text), top: this.stats.topWords(text, top) };
  }

  /** A chord body: merges the reports of a batch (see POST /reports/batch). */
  @Task('reports.merge')
  async merge(reports: TextReport[], top: number = 3): Promise<TextReport> {
    const counts = new Map<string, number>();
    for (const r of reports) for (const [word, n] of r.top) counts.set(word, (counts.get(word) ?? 0) + n);
    const merged = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, top);
    return { words: reports.reduce((sum, r) => sum + r.words, 0), top: merged };
  }

  /** Fails twice, then succeeds: retries re-publish the same task id after the countdown. */
  @Task('reports.flaky_export', { maxRetries: 5 })
  async flakyExport(name: string): Promise<string> {
    const ctx = currentTask()!;
    if (ctx.request.retries < 2) ctx.retry({ countdown: 0.2, exc: new Error(`storage busy (try ${ctx.request.retries + 1})`) });
    return `${name}.csv exported after ${ctx.request.retries} retries`;
  }

  /** Runs every 30 s while beat runs (role beat): the code default of a periodic job. */
  @Task('reports.heartbeat')
  @Periodic({ every: '30s' })
  async heartbeat(): Promise<string> {
    return `ok at ${new Date().toISOString()}`;
  }

  /** A periodic job's code default: every night at 03:00 UTC. */
  @Task('reports.nightly_digest')
  @Periodic({ crontab: '0 3 * * *', timezone: 'UTC' })
  async nightlyDigest(): Promise<void> {
    this.logger.log('nightly digest');
  }
}
