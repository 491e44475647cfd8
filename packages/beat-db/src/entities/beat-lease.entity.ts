/** The beat leader lease, one row per lease name: who holds it and until when (epoch milliseconds). */
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { TABLES } from './table-names';
import { decimalNumber } from './transformers';

@Entity(TABLES.lease)
export class BeatLeaseEntity {
  @PrimaryColumn({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ type: 'varchar', length: 200 })
  holder!: string;

  /** Epoch ms; bigint, which drivers return as a string. */
  @Column({ name: 'expires_at', type: 'bigint', transformer: decimalNumber })
  expiresAt!: number;
}
