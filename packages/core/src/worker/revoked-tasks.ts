/**
 * Task ids revoked on this worker (Celery's `worker.state.revoked`, a LimitedSet): kept for
 * `ttlSeconds` (Celery: 3 h) and at most `maxSize` (Celery: 50,000), oldest dropped first. With a
 * state file (Celery's `--statedb`) they survive restarts: loaded on start, written on change
 * (debounced) and on stop.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';

export interface RevokedTasksOptions {
  maxSize?: number;
  ttlSeconds?: number;
  /** JSON file that keeps revokes across restarts. */
  stateFile?: string;
  now?: () => number;
}

export class RevokedTasks {
  /** id -> revoked at (Unix seconds). Insertion order = age. */
  private readonly ids = new Map<string, number>();
  private readonly maxSize: number;
  private readonly ttl: number;
  private readonly now: () => number;
  private saveTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: RevokedTasksOptions = {}) {
    this.maxSize = options.maxSize ?? 50_000;
    this.ttl = options.ttlSeconds ?? 10_800;
    this.now = options.now ?? (() => Date.now() / 1000);
  }

  get size(): number {
    this.purge();
    return this.ids.size;
  }

  add(ids: Iterable<string>, at = this.now()): void {
    for (const id of ids) {
      this.ids.delete(id);
      this.ids.set(id, at);
    }
    this.purge();
    this.scheduleSave();
  }

  has(id: string): boolean {
    const at = this.ids.get(id);
    if (at === undefined) return false;
    if (at + this.ttl <= this.now()) {
      this.ids.delete(id);
      return false;
    }
    return true;
  }

  /** Ids with their revoke time, oldest first. */
  entries(): Array<[string, number]> {
    this.purge();
    return [...this.ids];
  }

  private purge(): void {
    const limit = this.now() - this.ttl;
    for (const [id, at] of this.ids) {
      if (at > limit && this.ids.size <= this.maxSize) break;
      this.ids.delete(id);
    }
  }

  /** Loads the state file (missing file: nothing revoked yet). */
  async load(): Promise<void> {
    const file = this.options.stateFile;
    if (!file) return;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const doc = JSON.parse(text) as { revoked?: Record<string, number> };
    const sorted = Object.entries(doc.revoked ?? {}).sort((a, b) => a[1] - b[1]);
    for (const [id, at] of sorted) if (typeof at === 'number') this.ids.set(id, at);
    this.purge();
  }

  private scheduleSave(): void {
    if (!this.options.stateFile || this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      void this.save().catch(() => undefined);
    }, 200);
    this.saveTimer.unref();
  }

  /** Writes the state file atomically (temp file + rename). */
  async save(): Promise<void> {
    const file = this.options.stateFile;
    if (!file) return;
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ revoked: Object.fromEntries(this.entries()) }));
    await rename(tmp, file);
  }
}
