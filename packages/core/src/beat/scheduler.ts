/**
 * One pass of beat (Celery's `Scheduler.tick`): for each enabled entry, is a run due? If so, apply the
 * misfire policy, claim the run, send the task and remember the run. Returns how long to sleep.
 *
 * Misfire policy: when beat was down, each entry sends at most one run for the gap, the latest one,
 * and only if it is no older than the catch-up window; otherwise the gap is skipped and logged.
 * Per run: claim (idempotency key) → send → save state. A failed send gives the claim back and is
 * retried on the next tick; a crash after the claim and before the send loses that one run rather
 * than sending it twice.
 */
import type { Celeriac } from '../app/celeriac';
import type { Logger } from '../logging/logger';
import { READY_STATES } from '../result/states';
import type { BeatEntry } from './beat-entry';
import type { BeatCoordinator } from './coordinator';
import type { EntryState, ScheduleStore } from './schedule-store';

/** Why a due run was not sent. */
export type SkipReason = 'missed' | 'running' | 'claimed';

/** What the scheduler reports (Beat re-emits these as events). */
export interface SchedulerEvents {
  sent(info: { entry: string; task: string; id: string; runAt: Date }): void;
  skipped(info: { entry: string; task: string; runAt: Date; reason: SkipReason }): void;
  error(err: unknown, entry: string): void;
}

export interface SchedulerOptions {
  app: Pick<Celeriac, 'sendTask' | 'backendOrNull'>;
  entries: readonly BeatEntry[];
  store: ScheduleStore;
  coordinator: BeatCoordinator;
  logger: Logger;
  /** The clock of schedules (tests pass a fake one). */
  now: () => Date;
  /** Longest sleep between ticks, ms. */
  maxLoopIntervalMs: number;
  /** How old a missed run may be and still be sent when beat comes back, ms. */
  catchUpWindowMs: number;
  /** How long a run's claim is kept, ms. */
  claimTtlMs: number;
  events: SchedulerEvents;
}

/** Retry delay after a failed send or an unreachable store. */
const RETRY_MS = 1000;

export class Scheduler {
  private states: Record<string, EntryState> = {};

  constructor(private readonly options: SchedulerOptions) {}

  /** Reads every entry's state from the store (at start, and on becoming leader). */
  async reload(): Promise<void> {
    this.states = await this.options.store.load();
  }

  /** The state beat holds for an entry (a copy). */
  state(name: string): EntryState | undefined {
    const s = this.states[name];
    return s && { ...s };
  }

  /** Sends what is due; resolves with the milliseconds to wait before the next tick. */
  async tick(): Promise<number> {
    const { coordinator, maxLoopIntervalMs } = this.options;
    let wait = maxLoopIntervalMs;
    for (const entry of this.options.entries) {
      if (!entry.enabled) continue;
      if (!coordinator.isLeader()) return maxLoopIntervalMs;
      try {
        wait = Math.min(wait, await this.tickEntry(entry));
      } catch (err) {
        this.options.logger.error({ err, entry: entry.name }, `Beat: entry ${entry.name} failed`);
        this.options.events.error(err, entry.name);
        wait = Math.min(wait, RETRY_MS);
      }
    }
    return Math.max(0, wait);
  }

  private async tickEntry(entry: BeatEntry): Promise<number> {
    const { now: clock, logger } = this.options;
    const now = clock();
    let state = this.states[entry.name];
    if (!state) {
      // First sight: count from now (Celery's default last_run_at), and remember it, so a restart does
      // not move the anchor. One-off schedules are not anchored: their time may already have passed.
      state = { lastRunAt: entry.schedule.oneOff ? null : now.toISOString(), totalRunCount: 0 };
      await this.save(entry.name, state);
    }
    const due = entry.schedule.isDue(state.lastRunAt === null ? null : new Date(state.lastRunAt), now);
    const next = due.nextInMs ?? Number.POSITIVE_INFINITY;
    if (!due.due || !due.runAt) return next;
    const runAt = due.runAt;
    const late = now.getTime() - runAt.getTime();
    if (late > this.options.catchUpWindowMs) {
      logger.warn(
        { entry: entry.name, task: entry.task, runAt, missedSince: due.missedSince ?? runAt, lateSeconds: Math.round(late / 1000) },
        `Beat: skipping missed run of ${entry.name} scheduled for ${runAt.toISOString()}: ${Math.round(late / 1000)} s late, beyond the catch-up window`,
      );
      await this.advance(entry, state, runAt, 'missed');
      return next;
    }
    if (due.missedSince) {
      logger.info({ entry: entry.name, missedSince: due.missedSince, runAt }, `Beat: ${entry.name} missed runs since ${due.missedSince.toISOString()}; sending one now`);
    }
    if (entry.skipIfRunning && state.lastTaskId && (await this.stillRunning(state.lastTaskId))) {
      logger.info({ entry: entry.name, previous: state.lastTaskId, runAt }, `Beat: skipping ${entry.name}: its previous run ${state.lastTaskId} has not finished`);
      await this.advance(entry, state, runAt, 'running');
      return next;
    }
    if (!(await this.options.coordinator.claim(entry.name, runAt, this.options.claimTtlMs))) {
      // Another beat (or this one before a restart) already sent this run.
      await this.advance(entry, state, runAt, 'claimed');
      return next;
    }
    let id: string;
    try {
      const result = await this.options.app.sendTask(entry.task, entry.args, entry.kwargs, entry.options);
      id = result.id;
    } catch (err) {
      await this.options.coordinator.unclaim(entry.name, runAt).catch(() => undefined);
      throw err;
    }
    logger.info({ entry: entry.name, task: entry.task, id, runAt }, `Scheduler: Sending due task ${entry.name} (${entry.task})`);
    await this.save(entry.name, { lastRunAt: runAt.toISOString(), totalRunCount: state.totalRunCount + 1, lastTaskId: id });
    this.options.events.sent({ entry: entry.name, task: entry.task, id, runAt });
    return next;
  }

  private async advance(entry: BeatEntry, state: EntryState, runAt: Date, reason: SkipReason): Promise<void> {
    await this.save(entry.name, { ...state, lastRunAt: runAt.toISOString() });
    this.options.events.skipped({ entry: entry.name, task: entry.task, runAt, reason });
  }

  private async stillRunning(taskId: string): Promise<boolean> {
    const meta = await this.options.app.backendOrNull()?.getMeta(taskId);
    return !READY_STATES.has(meta?.status ?? 'PENDING');
  }

  private async save(name: string, state: EntryState): Promise<void> {
    this.states[name] = state;
    await this.options.store.save(name, state);
  }
}
