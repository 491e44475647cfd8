/**
 * Run history (celeriac_beat_run): one row per scheduled run the scheduler handled, keyed by
 * (periodic task, scheduled time), and a refresher that copies each sent run's final state from the
 * result backend (SUCCESS, FAILURE, REVOKED…) so the admin shows how runs ended.
 *
 * The refresher reads at most REFRESH_BATCH runs a pass through the (state, dispatched_at) index:
 * runs still SENT/STARTED/RETRY and dispatched in the last day, walking forward from where the last
 * pass stopped, so runs whose task stores no result (ignoreResult) cannot starve newer ones. Older
 * runs keep their last known state.
 */
import { states, type Celeriac, type Logger } from '@celeriac/core';
import type { DataSource } from 'typeorm';
import { PeriodicTaskRunEntity, type RunState } from '../entities/periodic-task-run.entity';

/** Runs read per refresh pass. */
export const REFRESH_BATCH = 200;
/** How far back the refresher looks, ms. */
export const REFRESH_HORIZON_MS = 24 * 3600_000;
const OPEN_STATES: RunState[] = ['SENT', 'STARTED', 'RETRY'];
const KNOWN_STATES = new Set<string>(['SUCCESS', 'FAILURE', 'REVOKED', 'STARTED', 'RETRY']);

export type RunRecord = Pick<PeriodicTaskRunEntity, 'periodicTaskId' | 'name' | 'task' | 'scheduledFor' | 'dispatchedAt' | 'taskId' | 'state' | 'detail'>;

/** Writes a run's row; the same (task, scheduled time) again (a retried send) updates it. */
export async function recordRun(dataSource: DataSource, run: RunRecord): Promise<void> {
  await dataSource.getRepository(PeriodicTaskRunEntity).upsert({ ...run, manual: false }, { conflictPaths: ['periodicTaskId', 'scheduledFor'] });
}

export class HistoryRefresher {
  /** dispatched_at of the last run read; the next pass reads after it. */
  private cursor: Date | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly app: Pick<Celeriac, 'backendOrNull'>,
    private readonly logger: Logger,
  ) {}

  /** One pass; resolves with the number of runs whose state changed. */
  async refresh(now: Date): Promise<number> {
    const backend = this.app.backendOrNull();
    if (!backend) return 0;
    const since = new Date(now.getTime() - REFRESH_HORIZON_MS);
    const from = this.cursor && this.cursor.getTime() > since.getTime() ? this.cursor : since;
    const repo = this.dataSource.getRepository(PeriodicTaskRunEntity);
    const runs = await repo
      .createQueryBuilder('r')
      .where('r.state IN (:...open) AND r.dispatched_at > :from', { open: OPEN_STATES, from })
      .orderBy('r.dispatched_at', 'ASC')
      .addOrderBy('r.id', 'ASC')
      .limit(REFRESH_BATCH)
      .getMany();
    this.cursor = runs.length < REFRESH_BATCH ? null : runs[runs.length - 1]!.dispatchedAt;
    const withIds = runs.filter((r): r is PeriodicTaskRunEntity & { taskId: string } => r.taskId !== null);
    if (!withIds.length) return 0;
    const metas = await backend.getMetaMany(withIds.map((r) => r.taskId));
    let changed = 0;
    for (const [i, run] of withIds.entries()) {
      const status = metas[i]?.status;
      if (!status || status === run.state || !KNOWN_STATES.has(status)) continue;
      const done = states.READY_STATES.has(status);
      const finishedAt = done ? finishedTime(metas[i]?.dateDone ?? null, now) : null;
      await repo.update({ id: run.id }, { state: status as RunState, finishedAt });
      changed++;
    }
    if (changed) this.logger.debug({ changed }, 'beat-db: run history updated from the result backend');
    return changed;
  }
}

/** The backend's date_done (naive UTC ISO, as Celery writes it), else now. */
function finishedTime(dateDone: string | null, now: Date): Date {
  if (!dateDone) return now;
  const t = Date.parse(/Z|[+-]\d\d:?\d\d$/.test(dateDone) ? dateDone : `${dateDone}Z`);
  return Number.isNaN(t) ? now : new Date(t);
}
