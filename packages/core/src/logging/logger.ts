/** Structured logging through pino. Task logs carry `task` and `id` fields. */
import pino from 'pino';

export type Logger = pino.Logger;

/** Celery level names map onto pino's. */
export function normalizeLevel(level: string): pino.LevelWithSilent {
  const l = level.toLowerCase();
  if (l === 'warning') return 'warn';
  if (l === 'critical') return 'fatal';
  return l as pino.LevelWithSilent;
}

/** A logger writing JSON lines to stderr (stdout stays free for CLI output). */
export function createLogger(level = 'info', name = 'celeriac'): Logger {
  return pino({ name, level: normalizeLevel(level), base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
}
