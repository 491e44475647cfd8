/** The first schema: tables, indexes and change triggers, in the connected database's dialect. */
import type { MigrationInterface, QueryRunner } from 'typeorm';
import type { DialectSql } from './sql/columns';
import { mysqlSql } from './sql/mysql';
import { postgresSql } from './sql/postgres';
import { sqliteSql } from './sql/sqlite';

export function dialectSql(type: string): DialectSql {
  switch (type) {
    case 'better-sqlite3':
    case 'sqlite':
      return sqliteSql;
    case 'postgres':
      return postgresSql;
    case 'mysql':
    case 'mariadb':
      return mysqlSql;
    default:
      throw new Error(`@celeriac/beat-db has no migrations for the "${type}" database; use better-sqlite3, postgres, mysql or mariadb.`);
  }
}

export class BeatDbInitial1763856000000 implements MigrationInterface {
  name = 'BeatDbInitial1763856000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const sql of dialectSql(queryRunner.connection.options.type).up) await queryRunner.query(sql);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const sql of dialectSql(queryRunner.connection.options.type).down) await queryRunner.query(sql);
  }
}
