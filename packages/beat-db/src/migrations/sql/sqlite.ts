/** SQLite DDL. Times are UTC text 'YYYY-MM-DD HH:MM:SS.SSS', the format TypeORM writes. */
import { ADMIN_COLUMNS, SCHEDULE_COLUMNS, SCHEDULE_TABLES, type DialectSql } from './columns';
import { TABLES } from '../../entities/table-names';
import { createTables, dropTables, ONE_SCHEDULE_CHECK, type ColumnKind } from './tables';

const NOW = "(strftime('%Y-%m-%d %H:%M:%f', 'now'))";
const changed = (columns: readonly string[]): string => columns.map((c) => `NEW.${c} IS NOT OLD.${c}`).join(' OR ');
const TYPES: Record<string, string> = { id: 'INTEGER PRIMARY KEY AUTOINCREMENT', int: 'INTEGER', bigint: 'BIGINT', bool: 'BOOLEAN', text: 'TEXT', datetime: 'DATETIME' };
const type = (kind: ColumnKind): string => TYPES[kind] ?? kind.toUpperCase();

export const sqliteSql: DialectSql = {
  up: [
    ...createTables(type, NOW, (literal) => (literal === 'true' ? '1' : '0'), (literal) => literal, { [TABLES.periodicTask]: [ONE_SCHEDULE_CHECK] }),
    // SQLite cannot assign NEW in a trigger, so AFTER triggers update the row again (recursive
    // triggers are off by default, and the inner update changes no watched column anyway).
    `CREATE TRIGGER celeriac_beat_task_changed AFTER UPDATE ON celeriac_beat_periodic_task WHEN ${changed(ADMIN_COLUMNS)}
     BEGIN UPDATE celeriac_beat_periodic_task SET version = OLD.version + 1, date_changed = ${NOW} WHERE id = NEW.id; END`,
    `CREATE TRIGGER celeriac_beat_task_rescheduled AFTER UPDATE ON celeriac_beat_periodic_task WHEN ${changed(SCHEDULE_COLUMNS)}
     BEGIN UPDATE celeriac_beat_periodic_task SET next_run_at = NULL WHERE id = NEW.id; END`,
    ...SCHEDULE_TABLES.map(
      ([table, column]) => `CREATE TRIGGER ${table}_changed AFTER UPDATE ON ${table}
       BEGIN UPDATE celeriac_beat_periodic_task SET next_run_at = NULL, version = version + 1, date_changed = ${NOW} WHERE ${column} = NEW.id; END`,
    ),
  ],
  down: [...SCHEDULE_TABLES.map(([table]) => `DROP TRIGGER IF EXISTS ${table}_changed`), 'DROP TRIGGER IF EXISTS celeriac_beat_task_rescheduled', 'DROP TRIGGER IF EXISTS celeriac_beat_task_changed', ...dropTables()],
};
