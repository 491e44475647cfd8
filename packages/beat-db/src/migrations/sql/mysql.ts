/**
 * MySQL 8.0.13+ / MariaDB 10.2+ DDL. Times are DATETIME(6) in UTC (the DataSource sets timezone 'Z';
 * triggers use UTC_TIMESTAMP). TEXT defaults need the expression form. No CHECK for "one schedule":
 * MySQL forbids CHECK on columns with ON DELETE CASCADE; the admin API validates it instead.
 */
import { ADMIN_COLUMNS, SCHEDULE_COLUMNS, SCHEDULE_TABLES, type DialectSql } from './columns';
import { createTables, dropTables, type ColumnKind } from './tables';

const TYPES: Record<string, string> = { id: 'INT AUTO_INCREMENT PRIMARY KEY', int: 'INT', bigint: 'BIGINT', bool: 'BOOLEAN', text: 'TEXT', datetime: 'DATETIME(6)' };
const type = (kind: ColumnKind): string => TYPES[kind] ?? kind.toUpperCase();
const same = (columns: readonly string[]): string => columns.map((c) => `NEW.${c} <=> OLD.${c}`).join(' AND ');

export const mysqlSql: DialectSql = {
  up: [
    ...createTables(type, '(UTC_TIMESTAMP(6))', (literal) => literal, (literal) => `(${literal})`).map((sql) => (sql.startsWith('CREATE TABLE') ? `${sql} ENGINE=InnoDB DEFAULT CHARSET=utf8mb4` : sql)),
    `CREATE TRIGGER celeriac_beat_task_changed BEFORE UPDATE ON celeriac_beat_periodic_task FOR EACH ROW
     BEGIN
       IF NOT (${same(ADMIN_COLUMNS)}) THEN SET NEW.version = OLD.version + 1, NEW.date_changed = UTC_TIMESTAMP(6); END IF;
       IF NOT (${same(SCHEDULE_COLUMNS)}) THEN SET NEW.next_run_at = NULL; END IF;
     END`,
    ...SCHEDULE_TABLES.map(
      ([table, column]) => `CREATE TRIGGER ${table}_changed AFTER UPDATE ON ${table} FOR EACH ROW
       UPDATE celeriac_beat_periodic_task SET next_run_at = NULL, version = version + 1, date_changed = UTC_TIMESTAMP(6) WHERE ${column} = NEW.id`,
    ),
  ],
  down: [...SCHEDULE_TABLES.map(([table]) => `DROP TRIGGER IF EXISTS ${table}_changed`), 'DROP TRIGGER IF EXISTS celeriac_beat_task_changed', ...dropTables()],
};
