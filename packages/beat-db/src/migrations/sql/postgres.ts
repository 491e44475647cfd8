/** PostgreSQL DDL. Times are timestamptz; BEFORE UPDATE triggers adjust the row being written. */
import { ADMIN_COLUMNS, SCHEDULE_COLUMNS, SCHEDULE_TABLES, type DialectSql } from './columns';
import { createTables, dropTables, type ColumnKind } from './tables';

const TYPES: Record<string, string> = { id: 'SERIAL PRIMARY KEY', int: 'INTEGER', bigint: 'BIGINT', bool: 'BOOLEAN', text: 'TEXT', datetime: 'TIMESTAMPTZ' };
const type = (kind: ColumnKind): string => TYPES[kind] ?? kind.toUpperCase();
const row = (prefix: string, columns: readonly string[]): string => `ROW(${columns.map((c) => `${prefix}.${c}`).join(', ')})`;

export const postgresSql: DialectSql = {
  up: [
    ...createTables(type, 'now()', (literal) => literal, (literal) => literal),
    `ALTER TABLE celeriac_beat_periodic_task ADD CONSTRAINT ck_celeriac_beat_one_schedule CHECK (num_nonnulls(interval_id, crontab_id, solar_id, clocked_id) = 1)`,
    `CREATE FUNCTION celeriac_beat_task_changed() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF ${row('NEW', ADMIN_COLUMNS)} IS DISTINCT FROM ${row('OLD', ADMIN_COLUMNS)} THEN
         NEW.version := OLD.version + 1;
         NEW.date_changed := now();
       END IF;
       IF ${row('NEW', SCHEDULE_COLUMNS)} IS DISTINCT FROM ${row('OLD', SCHEDULE_COLUMNS)} THEN
         NEW.next_run_at := NULL;
       END IF;
       RETURN NEW;
     END $$`,
    `CREATE TRIGGER celeriac_beat_task_changed BEFORE UPDATE ON celeriac_beat_periodic_task FOR EACH ROW EXECUTE FUNCTION celeriac_beat_task_changed()`,
    `CREATE FUNCTION celeriac_beat_schedule_changed() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       EXECUTE format('UPDATE celeriac_beat_periodic_task SET next_run_at = NULL, version = version + 1, date_changed = now() WHERE %I = $1', TG_ARGV[0]) USING NEW.id;
       RETURN NULL;
     END $$`,
    ...SCHEDULE_TABLES.map(([table, column]) => `CREATE TRIGGER ${table}_changed AFTER UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION celeriac_beat_schedule_changed('${column}')`),
  ],
  down: [...dropTables(), 'DROP FUNCTION IF EXISTS celeriac_beat_schedule_changed()', 'DROP FUNCTION IF EXISTS celeriac_beat_task_changed()'],
};
