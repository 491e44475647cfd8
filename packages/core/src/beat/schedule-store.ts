/**
 * Where beat keeps what it must remember across restarts: for each entry, the scheduled time of its
 * last run (Celery's `last_run_at`, kept in the celerybeat-schedule file). Implementations: a JSON
 * file (one beat), Redis (beats on several hosts share it), memory (tests). A database store
 * (@celeriac/beat-db) implements the same interface.
 */

/** One entry's remembered state. */
export interface EntryState {
  /**
   * ISO time the next run is counted from: the scheduled time of the last run, or when beat first
   * saw the entry. Null: a one-off (clocked) entry that has not run.
   */
  lastRunAt: string | null;
  /** Runs sent so far. */
  totalRunCount: number;
  /** Id of the last task sent (for skipIfRunning). */
  lastTaskId?: string;
}

/** Persistent per-entry state. */
export interface ScheduleStore {
  /** Opens the store (connects, reads the file). */
  open(): Promise<void>;
  /** Every entry's state, by entry name; read again whenever this beat becomes the leader. */
  load(): Promise<Record<string, EntryState>>;
  /**
   * Saves one entry's state. A store shared by several beats keeps the later `lastRunAt` when two
   * writes race, so a beat that lost its lease cannot move an entry back.
   */
  save(name: string, state: EntryState): Promise<void>;
  close(): Promise<void>;
}

/** Later of two ISO times (null counts as earliest). */
export function laterRunAt(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

/** State in this process only: tests, and beats that need not survive a restart. */
export class MemoryScheduleStore implements ScheduleStore {
  private readonly states = new Map<string, EntryState>();

  async open(): Promise<void> {}

  async load(): Promise<Record<string, EntryState>> {
    return Object.fromEntries([...this.states].map(([name, state]) => [name, { ...state }]));
  }

  async save(name: string, state: EntryState): Promise<void> {
    const previous = this.states.get(name);
    if (previous && laterRunAt(previous.lastRunAt, state.lastRunAt) !== state.lastRunAt) return;
    this.states.set(name, { ...state });
  }

  async close(): Promise<void> {}
}
