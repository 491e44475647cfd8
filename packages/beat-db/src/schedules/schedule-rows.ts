/**
 * Finds or creates the schedule row for an input, as django-celery-beat's admin does: tasks with
 * the same interval, crontab or solar event share one row (no giant dropdowns: the form takes the
 * fields, and this finds the row). Clocked rows are one per task.
 */
import type { EntityManager } from 'typeorm';
import { ClockedScheduleEntity } from '../entities/clocked-schedule.entity';
import { CrontabScheduleEntity } from '../entities/crontab-schedule.entity';
import { IntervalScheduleEntity } from '../entities/interval-schedule.entity';
import { SolarScheduleEntity } from '../entities/solar-schedule.entity';
import type { ScheduleInput } from './schedule-input';

/** The four schedule foreign keys of a periodic task: exactly one is set. */
export interface ScheduleIds {
  intervalId: number | null;
  crontabId: number | null;
  solarId: number | null;
  clockedId: number | null;
}

const NONE: ScheduleIds = { intervalId: null, crontabId: null, solarId: null, clockedId: null };

async function findOrInsert<T extends { id: number }>(manager: EntityManager, entity: new () => T, where: Partial<T>): Promise<number> {
  const repo = manager.getRepository(entity);
  const found = await repo.findOneBy(where as never);
  if (found) return found.id;
  try {
    return (await repo.save(repo.create(where as never) as unknown as T)).id;
  } catch (err) {
    // Another writer created the same shared row between our read and insert.
    const again = await repo.findOneBy(where as never);
    if (again) return again.id;
    throw err;
  }
}

/** The schedule row for `input` (found or created); returns the foreign keys to store on the task. */
export async function scheduleRowFor(manager: EntityManager, input: ScheduleInput): Promise<ScheduleIds> {
  switch (input.kind) {
    case 'interval':
      return { ...NONE, intervalId: await findOrInsert(manager, IntervalScheduleEntity, { every: input.every, period: input.period }) };
    case 'crontab': {
      const { minute, hour, dayOfMonth, monthOfYear, dayOfWeek, timezone } = input;
      return { ...NONE, crontabId: await findOrInsert(manager, CrontabScheduleEntity, { minute, hour, dayOfMonth, monthOfYear, dayOfWeek, timezone }) };
    }
    case 'solar':
      return { ...NONE, solarId: await findOrInsert(manager, SolarScheduleEntity, { event: input.event, latitude: input.latitude, longitude: input.longitude }) };
    case 'clocked': {
      const repo = manager.getRepository(ClockedScheduleEntity);
      return { ...NONE, clockedId: (await repo.save(repo.create({ clockedTime: new Date(input.clockedTime) }))).id };
    }
  }
}
