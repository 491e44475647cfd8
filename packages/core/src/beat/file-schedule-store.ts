/**
 * Beat state in a JSON file (`beatScheduleFilename`, Celery's celerybeat-schedule): one beat per
 * file. Each save rewrites the file through a temporary file and a rename, so a crash leaves the old
 * state or the new one, never half of each. An unreadable file is set aside (`<file>.corrupt-<time>`)
 * and beat starts afresh, as Celery recreates a corrupt shelve.
 *
 * ```json
 * { "version": 1, "entries": { "nightly-report": { "lastRunAt": "2026-03-29T01:00:00.000Z", "totalRunCount": 12 } } }
 * ```
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../logging/logger';
import type { EntryState, ScheduleStore } from './schedule-store';

const VERSION = 1;

export class FileScheduleStore implements ScheduleStore {
  private states: Record<string, EntryState> = {};
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly filename: string,
    private readonly logger?: Logger,
  ) {}

  async open(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.filename, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    try {
      const parsed = JSON.parse(text) as { version?: unknown; entries?: unknown };
      if (parsed.version !== VERSION || !parsed.entries || typeof parsed.entries !== 'object') throw new Error(`not a version ${VERSION} beat state file`);
      this.states = parsed.entries as Record<string, EntryState>;
    } catch (err) {
      const aside = `${this.filename}.corrupt-${Date.now()}`;
      await rename(this.filename, aside);
      this.logger?.warn({ err, file: this.filename, movedTo: aside }, 'Beat state file is unreadable; starting afresh');
    }
  }

  async load(): Promise<Record<string, EntryState>> {
    return structuredClone(this.states);
  }

  save(name: string, state: EntryState): Promise<void> {
    this.states[name] = { ...state };
    // One write at a time, in order: the last save wins on disk as it does in memory.
    const write = this.writing.then(() => this.flush());
    this.writing = write.catch(() => undefined);
    return write;
  }

  private async flush(): Promise<void> {
    const tmp = `${this.filename}.${process.pid}.tmp`;
    await mkdir(dirname(this.filename), { recursive: true });
    await writeFile(tmp, JSON.stringify({ version: VERSION, entries: this.states }, null, 2) + '\n');
    await rename(tmp, this.filename);
  }

  async close(): Promise<void> {
    await this.writing;
  }
}
