/**
 * The work of one database-scheduler tick, row by row:
 *
 * ```text
 * (a) enabled, next_run_at NULL   compute next_run_at (a row with no further run, or an invalid
 *                                 schedule, is disabled and the reason logged)
 * (b) enabled, next_run_at <= now run = latest scheduled time <= now; misfire policy; skip if the
 *                                 previous run still runs; claim (conditional UPDATE) → send →
 *                                 history row; a failed send gives the claim back
 * ```
 * A row computed again in (a) counts from its last run only while that run's successor is still
 * ahead; a row re-enabled or rescheduled later counts from now, so a change never sends a catch-up
 * run (missed runs are the misfire policy's, in (b)). Batches of (a) commit in one transaction
 * (PostgreSQL, MySQL).
 *
 * Per run: claim → send → record. A crash between the claim and the send loses that one run rather
 * than sending it twice (as core's Scheduler). A claim leaves `enabled` alone even when it was the
 * last run: the row is disabled after the send, so giving a claim back never fires the change trigger.
 */
import { randomUUID } from 'node:crypto';
import { ConfigError, states, type Celeriac, type Logger, type Schedule, type SkipReason } from '@celeriac/core';
import type { DataSource } from 'typeorm';
import { PeriodicTaskRunEntity, type RunState } from '../entities/periodic-task-run.entity';
import type { PeriodicTaskEntity } from '../entities/periodic-task.entity';
import { nextRunAt } from '../schedules/next-run';
import { scheduleOf } from '../schedules/schedule-input';
import { dueRun, seconds, sendOptions } from './due-run';
import { recordRun } from './run-history';
import type { RowStamp, TaskWrites } from './task-writes';

/** Batches of unscheduled rows handled per tick before due runs get their turn. */
const UNSCHEDULED_BATCHES_PER_TICK = 4;
/**
 * Due rows dispatched at once (not on SQLite). Each run is three round trips (claim, send, history)
 * and rows are independent (each claim is its own conditional UPDATE), so a few at a time cut how
 * late the last run of a busy second goes out; below the default pool of 10 connections.
 */
const DISPATCH_WINDOW = 6;

export interface PassEvents {
  sent(info: { entry: string; task: string; id: string; runAt: Date }): void;
  skipped(info: { entry: string; task: string; runAt: Date; reason: SkipReason }): void;
  error(err: unknown): void;
}

export interface PassOptions {
  app: Pick<Celeriac, 'sendTask' | 'backendOrNull'>;
  dataSource: DataSource;
  writes: TaskWrites;
  logger: Logger;
  batchSize: number;
  catchUpWindowMs: number;
  isLeader: () => boolean;
  events: PassEvents;
}

const SKIP_STATE: Record<'missed' | 'running', RunState> = { missed: 'SKIPPED_MISSED', running: 'SKIPPED_RUNNING' };

export class SchedulerPass {
  private warnedNoBackend = false;

  constructor(private readonly o: PassOptions) {}

  /** (a) Gives unscheduled rows their next_run_at; true when more remain for the next tick. */
  async scheduleNew(now: Date): Promise<boolean> {
    let afterId = 0;
    for (let batch = 0; batch < UNSCHEDULED_BATCHES_PER_TICK; batch++) {
      if (!this.o.isLeader()) return false;
      const rows = await this.o.writes.unscheduled(afterId, this.o.batchSize);
      await this.scheduleBatch(rows, now);
      if (rows.length < this.o.batchSize) return false;
      afterId = rows[rows.length - 1]!.id;
    }
    return true;
  }

  /**
   * One transaction per batch, the next runs written by one multi-row UPDATE (a round trip per row
   * was most of the cost of a large initial sync); if it fails, row by row.
   */
  private async scheduleBatch(rows: PeriodicTaskEntity[], now: Date): Promise<void> {
    if (!rows.length) return;
    // Not on SQLite: better-sqlite3 waits for locks synchronously, so a transaction held across
    // awaits would stall another connection of the same process (an admin DataSource) and itself.
    if (/sqlite/.test(this.o.dataSource.options.type)) {
      for (const row of rows) await this.guard(row, () => this.scheduleRow(row, now, this.o.writes));
      return;
    }
    try {
      await this.o.dataSource.transaction(async (manager) => {
        const writes = this.o.writes.in(manager);
        const nextRuns: Array<{ row: PeriodicTaskEntity; nextRunAt: Date }> = [];
        for (const row of rows) {
          const next = await this.nextRunOf(row, now, writes);
          if (next) nextRuns.push({ row, nextRunAt: next });
        }
        await writes.writeNextRuns(nextRuns);
      });
    } catch (err) {
      this.o.logger.warn({ err }, 'beat-db: computing next runs in one transaction failed; retrying row by row');
      for (const row of rows) await this.guard(row, () => this.scheduleRow(row, now, this.o.writes));
    }
  }

  /**
   * (b) Handles one batch of due rows, started in due order, up to DISPATCH_WINDOW at once (one at a
   * time on SQLite); true when the batch was full and moved on (more may be due). Each run is sent
   * as soon as its own claim is written, so runs of one batch may go out slightly out of due order.
   */
  async dispatchDue(now: Date): Promise<boolean> {
    const rows = await this.o.writes.due(now, this.o.batchSize);
    const window = /sqlite/.test(this.o.dataSource.options.type) ? 1 : DISPATCH_WINDOW;
    let moved = 0;
    let next = 0;
    let lostLead = false;
    const lane = async (): Promise<void> => {
      while (next < rows.length && !lostLead) {
        if (!this.o.isLeader()) {
          lostLead = true;
          return;
        }
        const row = rows[next++]!;
        if (await this.guard(row, () => this.dispatchRow(row, now))) moved++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(window, rows.length) }, lane));
    return !lostLead && rows.length === this.o.batchSize && moved > 0;
  }

  private async scheduleRow(row: PeriodicTaskEntity, now: Date, writes: TaskWrites): Promise<boolean> {
    const next = await this.nextRunOf(row, now, writes);
    return next ? writes.write(row, { nextRunAt: next }) : true;
  }

  /** The next run of an unscheduled row; null when its schedule is invalid or over (then `writes` disabled it). */
  private async nextRunOf(row: PeriodicTaskEntity, now: Date, writes: TaskWrites): Promise<Date | null> {
    const schedule = await this.scheduleOrDisable(row, writes);
    if (!schedule) return null;
    let next = nextRunAt(schedule, row, now);
    if (next && next.getTime() < now.getTime() && schedule.kind !== 'clocked') {
      // Re-enabled or rescheduled after its next run went by: count from now, as django-celery-beat
      // does (it clears last_run_at on disable). A change never causes a catch-up run.
      next = nextRunAt(schedule, { ...row, lastRunAt: null }, now);
    }
    if (next) return next;
    await this.finish(row, row.name, this.endReason(row, schedule, now), writes);
    return null;
  }

  private async dispatchRow(row: PeriodicTaskEntity, now: Date): Promise<boolean> {
    const { logger } = this.o;
    const schedule = await this.scheduleOrDisable(row);
    if (!schedule) return true;
    const due = dueRun(schedule, row.nextRunAt!, now, row.expires);
    if (!due) {
      await this.finish(row, row.name, this.endReason(row, schedule, now));
      return true;
    }
    const { runAt } = due;
    const next = nextRunAt(schedule, { ...row, lastRunAt: runAt }, now);
    const late = now.getTime() - runAt.getTime();
    const where = { entry: row.name, id: row.id, task: row.task, runAt };
    if (late > this.o.catchUpWindowMs) {
      logger.warn(
        { ...where, missedSince: due.missedSince ?? runAt, lateSeconds: seconds(late) },
        `beat-db: skipping missed run of ${row.name} scheduled for ${runAt.toISOString()}: ${seconds(late)} s late, beyond the catch-up window`,
      );
      return this.skip(row, schedule, runAt, next, now, 'missed', `${seconds(late)} s late, beyond the catch-up window`);
    }
    if (due.missedSince) logger.info({ ...where, missedSince: due.missedSince }, `beat-db: ${row.name} missed runs since ${due.missedSince.toISOString()}; sending one now`);
    if (row.skipIfRunning && row.lastTaskId && (await this.stillRunning(row))) {
      logger.info({ ...where, previous: row.lastTaskId }, `beat-db: skipping ${row.name}: its previous run ${row.lastTaskId} has not finished`);
      return this.skip(row, schedule, runAt, next, now, 'running', `previous run ${row.lastTaskId} has not finished`);
    }
    return this.send(row, schedule, runAt, next, now);
  }

  private async send(row: PeriodicTaskEntity, schedule: Schedule, runAt: Date, next: Date | null, now: Date): Promise<boolean> {
    const { logger } = this.o;
    const id = randomUUID();
    if (!(await this.o.writes.write(row, { nextRunAt: next, lastRunAt: runAt, lastTaskId: id, countRun: 1 }))) {
      logger.debug({ entry: row.name, runAt }, `beat-db: run of ${row.name} at ${runAt.toISOString()} was claimed by another beat or the row was edited`);
      return false;
    }
    const claimed: RowStamp = { id: row.id, version: row.version, beatSeq: row.beatSeq + 1 };
    const run = { periodicTaskId: row.id, name: row.name, task: row.task, scheduledFor: runAt, dispatchedAt: now, taskId: id };
    try {
      await this.o.app.sendTask(row.task, row.args, row.kwargs, sendOptions(row, id));
    } catch (err) {
      const reverted = await this.o.writes.write(claimed, { nextRunAt: row.nextRunAt, lastRunAt: row.lastRunAt, lastTaskId: row.lastTaskId, countRun: -1 }).catch(() => false);
      logger.error({ err, entry: row.name, runAt }, `beat-db: sending ${row.name} (${row.task}) failed; ${reverted ? 'it is retried on the next tick' : 'the row changed meanwhile, so this run is dropped'}`);
      await recordRun(this.o.dataSource, { ...run, state: 'SEND_FAILED', detail: String((err as Error)?.message ?? err) }).catch(() => undefined);
      this.o.events.error(err);
      return false;
    }
    logger.info({ entry: row.name, task: row.task, id, runAt }, `beat-db: Sending due task ${row.name} (${row.task})`);
    try {
      await recordRun(this.o.dataSource, { ...run, state: 'SENT', detail: null });
    } catch (err) {
      logger.warn({ err, entry: row.name, id }, `beat-db: ${row.name} was sent, but its run history row could not be written`);
    }
    this.o.events.sent({ entry: row.name, task: row.task, id, runAt });
    if (next === null) await this.finish(claimed, row.name, this.endReason({ ...row, lastRunAt: runAt }, schedule, now));
    return true;
  }

  /** Moves past a run without sending it, records why, and reports it. */
  private async skip(row: PeriodicTaskEntity, schedule: Schedule, runAt: Date, next: Date | null, now: Date, reason: 'missed' | 'running', detail: string): Promise<boolean> {
    if (!(await this.o.writes.write(row, { nextRunAt: next, lastRunAt: runAt, disable: next === null }))) return false;
    if (next === null) this.o.logger.info({ entry: row.name, id: row.id }, `beat-db: periodic task ${row.name} disabled: ${this.endReason({ ...row, lastRunAt: runAt }, schedule, now)}`);
    await recordRun(this.o.dataSource, { periodicTaskId: row.id, name: row.name, task: row.task, scheduledFor: runAt, dispatchedAt: now, taskId: null, state: SKIP_STATE[reason], detail });
    this.o.events.skipped({ entry: row.name, task: row.task, runAt, reason });
    return true;
  }

  /** Disables a row whose schedule has ended (django-celery-beat does the same), logging why. */
  private async finish(row: RowStamp, name: string, why: string, writes = this.o.writes): Promise<void> {
    if (await writes.write(row, { nextRunAt: null, disable: true })) {
      this.o.logger.info({ entry: name, id: row.id }, `beat-db: periodic task ${name} disabled: ${why}`);
    }
  }

  /** Why a row has no further run (logged when it is disabled). */
  private endReason(row: PeriodicTaskEntity, schedule: Schedule, now: Date): string {
    if ((row.oneOff || schedule.oneOff) && (row.lastRunAt !== null || row.totalRunCount > 0)) return 'it is a one-off task and ran';
    if (row.expires) return row.expires.getTime() <= now.getTime() ? `it expired at ${row.expires.toISOString()}` : `its next run would come after it expires at ${row.expires.toISOString()}`;
    if (schedule.kind === 'clocked') return `its clocked time ${schedule.toString().replace('clocked ', '')} has passed`;
    return `its schedule (${schedule.toString()}) has no further run`;
  }

  /** The row's schedule; an invalid one (bad cron text from SQL, no schedule) disables the row. */
  private async scheduleOrDisable(row: PeriodicTaskEntity, writes = this.o.writes): Promise<Schedule | null> {
    try {
      return scheduleOf(row);
    } catch (err) {
      const why = (err as Error).message;
      this.o.logger.error({ err, entry: row.name, id: row.id }, `beat-db: periodic task "${row.name}" (id ${row.id}) has an invalid schedule and is disabled: ${why}`);
      this.o.events.error(new ConfigError('schedule', `Periodic task "${row.name}" (id ${row.id}) has an invalid schedule and was disabled: ${why}`));
      await writes.write(row, { nextRunAt: null, disable: true });
      return null;
    }
  }

  /**
   * Whether the previous run has not finished: its history row is not final and the result backend
   * does not hold a final state (unknown counts as running, as in core's Scheduler).
   */
  private async stillRunning(row: PeriodicTaskEntity): Promise<boolean> {
    // The last run's history row, through the (periodic task, scheduled for) unique index.
    const previous = row.lastRunAt && (await this.o.dataSource.getRepository(PeriodicTaskRunEntity).findOne({ where: { periodicTaskId: row.id, scheduledFor: row.lastRunAt }, select: { id: true, taskId: true, state: true } }));
    if (previous && previous.taskId === row.lastTaskId && states.READY_STATES.has(previous.state)) return false;
    const backend = this.o.app.backendOrNull();
    if (!backend) {
      if (!this.warnedNoBackend) this.o.logger.warn({ entry: row.name }, 'beat-db: skipIfRunning needs a result backend (resultBackend); runs are sent regardless');
      this.warnedNoBackend = true;
      return false;
    }
    const meta = await backend.getMeta(row.lastTaskId!);
    return !states.READY_STATES.has(meta?.status ?? states.PENDING);
  }

  /** Runs one row's step; an error is logged and reported, and the other rows go on. */
  private async guard(row: PeriodicTaskEntity, step: () => Promise<boolean>): Promise<boolean> {
    try {
      return await step();
    } catch (err) {
      this.o.logger.error({ err, entry: row.name, id: row.id }, `beat-db: periodic task ${row.name} failed this tick`);
      this.o.events.error(err);
      return false;
    }
  }
}
