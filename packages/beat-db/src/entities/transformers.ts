/** Column transformers for values drivers return as strings (PostgreSQL and MySQL decimals, bigints). */
import type { ValueTransformer } from 'typeorm';

export const decimalNumber: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null || value === undefined ? value : Number(value)),
};

/** JSON kept as text (portable across SQLite, PostgreSQL and MySQL, and readable in raw SQL). */
export const jsonText: ValueTransformer = {
  to: (value: unknown) => (value === undefined ? undefined : JSON.stringify(value)),
  from: (value: string | null): unknown => (value === null || value === undefined ? value : (JSON.parse(value) as unknown)),
};
