/**
 * The schema once, in dialect-neutral terms; sqlite.ts, postgres.ts and mysql.ts turn it into DDL.
 * Names match the entities (../../entities) and django-celery-beat's columns where it has them.
 */
import { TABLES } from '../../entities/table-names';

/** Column kinds each dialect maps to its own type. */
export type ColumnKind = 'id' | 'int' | 'bigint' | 'bool' | 'text' | 'datetime' | `varchar(${number})` | 'decimal(9,6)';

export interface ColumnSpec {
  name: string;
  kind: ColumnKind;
  nullable?: boolean;
  /** SQL literal, or 'now' for the current UTC time. */
  default?: string;
  unique?: boolean;
  /** Foreign key to a table's id, deleting this row with it (django-celery-beat's CASCADE). */
  references?: string;
}

export interface TableSpec {
  name: string;
  columns: ColumnSpec[];
  /** Named unique constraints. */
  unique?: Array<[name: string, columns: string[]]>;
  indexes?: Array<[name: string, columns: string[]]>;
}

const col = (name: string, kind: ColumnKind, extra: Omit<ColumnSpec, 'name' | 'kind'> = {}): ColumnSpec => ({ name, kind, ...extra });

export const SCHEMA: TableSpec[] = [
  { name: TABLES.interval, columns: [col('id', 'id'), col('every', 'int'), col('period', 'varchar(24)')], unique: [['uq_celeriac_beat_interval', ['every', 'period']]] },
  {
    name: TABLES.crontab,
    columns: [
      col('id', 'id'),
      col('minute', 'varchar(240)', { default: "'*'" }),
      col('hour', 'varchar(96)', { default: "'*'" }),
      col('day_of_month', 'varchar(124)', { default: "'*'" }),
      col('month_of_year', 'varchar(64)', { default: "'*'" }),
      col('day_of_week', 'varchar(64)', { default: "'*'" }),
      col('timezone', 'varchar(63)', { default: "'UTC'" }),
    ],
  },
  { name: TABLES.solar, columns: [col('id', 'id'), col('event', 'varchar(24)'), col('latitude', 'decimal(9,6)'), col('longitude', 'decimal(9,6)')], unique: [['uq_celeriac_beat_solar', ['event', 'latitude', 'longitude']]] },
  { name: TABLES.clocked, columns: [col('id', 'id'), col('clocked_time', 'datetime')] },
  {
    name: TABLES.periodicTask,
    columns: [
      col('id', 'id'),
      col('name', 'varchar(200)', { unique: true }),
      col('task', 'varchar(200)'),
      col('interval_id', 'int', { nullable: true, references: TABLES.interval }),
      col('crontab_id', 'int', { nullable: true, references: TABLES.crontab }),
      col('solar_id', 'int', { nullable: true, references: TABLES.solar }),
      col('clocked_id', 'int', { nullable: true, references: TABLES.clocked }),
      col('args', 'text', { default: "'[]'" }),
      col('kwargs', 'text', { default: "'{}'" }),
      col('queue', 'varchar(200)', { nullable: true }),
      col('exchange', 'varchar(200)', { nullable: true }),
      col('routing_key', 'varchar(200)', { nullable: true }),
      col('headers', 'text', { default: "'{}'" }),
      col('priority', 'int', { nullable: true }),
      col('expires', 'datetime', { nullable: true }),
      col('expire_seconds', 'int', { nullable: true }),
      col('one_off', 'bool', { default: 'false' }),
      col('start_time', 'datetime', { nullable: true }),
      col('enabled', 'bool', { default: 'true' }),
      col('skip_if_running', 'bool', { default: 'false' }),
      col('description', 'text', { default: "''" }),
      col('source', 'varchar(16)', { default: "'admin'" }),
      col('code_version', 'int', { nullable: true }),
      col('version', 'int', { default: '1' }),
      col('date_changed', 'datetime', { default: 'now' }),
      col('created_at', 'datetime', { default: 'now' }),
      col('last_run_at', 'datetime', { nullable: true }),
      col('total_run_count', 'int', { default: '0' }),
      col('last_task_id', 'varchar(255)', { nullable: true }),
      col('next_run_at', 'datetime', { nullable: true }),
      col('beat_seq', 'int', { default: '0' }),
    ],
    indexes: [
      ['ix_celeriac_beat_task_due', ['enabled', 'next_run_at']],
      ['ix_celeriac_beat_task_interval', ['interval_id']],
      ['ix_celeriac_beat_task_crontab', ['crontab_id']],
      ['ix_celeriac_beat_task_solar', ['solar_id']],
      ['ix_celeriac_beat_task_clocked', ['clocked_id']],
    ],
  },
  {
    name: TABLES.run,
    columns: [
      col('id', 'id'),
      col('periodic_task_id', 'int'),
      col('name', 'varchar(200)'),
      col('task', 'varchar(200)'),
      col('scheduled_for', 'datetime'),
      col('dispatched_at', 'datetime'),
      col('task_id', 'varchar(255)', { nullable: true }),
      col('state', 'varchar(24)'),
      col('detail', 'text', { nullable: true }),
      col('finished_at', 'datetime', { nullable: true }),
      col('manual', 'bool', { default: 'false' }),
    ],
    unique: [['uq_celeriac_beat_run', ['periodic_task_id', 'scheduled_for']]],
    indexes: [['ix_celeriac_beat_run_state', ['state', 'dispatched_at']]],
  },
  {
    name: TABLES.audit,
    columns: [col('id', 'id'), col('at', 'datetime'), col('actor', 'varchar(200)'), col('action', 'varchar(16)'), col('periodic_task_id', 'int', { nullable: true }), col('name', 'varchar(200)'), col('changes', 'text')],
    indexes: [['ix_celeriac_beat_audit_task', ['periodic_task_id', 'at']]],
  },
  { name: TABLES.lease, columns: [col('name', 'varchar(200)'), col('holder', 'varchar(200)'), col('expires_at', 'bigint')] },
];

/** Primary key of tables without an `id` column. */
export const PRIMARY_KEYS: Record<string, string> = { [TABLES.lease]: 'name' };

/** A periodic task has exactly one schedule (SQL for SQLite and PostgreSQL; see mysql.ts). */
export const ONE_SCHEDULE_CHECK = 'CONSTRAINT ck_celeriac_beat_one_schedule CHECK ((interval_id IS NOT NULL) + (crontab_id IS NOT NULL) + (solar_id IS NOT NULL) + (clocked_id IS NOT NULL) = 1)';

/** CREATE TABLE + CREATE INDEX statements for one dialect; `checks` adds constraint lines per table. */
export function createTables(type: (kind: ColumnKind) => string, now: string, bool: (literal: string) => string, textDefault: (literal: string) => string, checks: Record<string, string[]> = {}): string[] {
  const statements: string[] = [];
  for (const table of SCHEMA) {
    const lines = table.columns.map((c) => {
      if (c.kind === 'id') return `id ${type('id')}`;
      let line = `${c.name} ${type(c.kind)}${c.nullable ? ' NULL' : ' NOT NULL'}`;
      if (c.default !== undefined) {
        const value = c.default === 'now' ? now : c.kind === 'bool' ? bool(c.default) : c.kind === 'text' ? textDefault(c.default) : c.default;
        line += ` DEFAULT ${value}`;
      }
      if (c.unique) line += ' UNIQUE';
      if (c.references) line += ` REFERENCES ${c.references}(id) ON DELETE CASCADE`;
      return line;
    });
    const pk = PRIMARY_KEYS[table.name];
    if (pk) lines.push(`PRIMARY KEY (${pk})`);
    for (const [name, columns] of table.unique ?? []) lines.push(`CONSTRAINT ${name} UNIQUE (${columns.join(', ')})`);
    lines.push(...(checks[table.name] ?? []));
    statements.push(`CREATE TABLE ${table.name} (\n  ${lines.join(',\n  ')}\n)`);
    for (const [name, columns] of table.indexes ?? []) statements.push(`CREATE INDEX ${name} ON ${table.name} (${columns.join(', ')})`);
  }
  return statements;
}

/** DROP TABLE statements, dependents first. */
export const dropTables = (): string[] => [...SCHEMA].reverse().map((t) => `DROP TABLE IF EXISTS ${t.name}`);
