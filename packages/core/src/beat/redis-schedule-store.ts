/**
 * Beat state in a Redis hash (`<prefix>beat:state`, see beat-keys.ts), shared by every beat that uses
 * the same Redis and prefix: the one that takes over the lease reads where the last leader stopped.
 * Writes never move an entry's `lastRunAt` back (a Lua compare-and-set), so a beat that lost its lease
 * mid-write cannot undo a newer leader's progress.
 */
import type { Redis } from 'ioredis';
import { stateKey } from './beat-keys';
import type { EntryState, ScheduleStore } from './schedule-store';

// KEYS[1] hash; ARGV: field, JSON, new lastRunAt ('' = null). ISO times in one format compare as text.
const SAVE_SCRIPT = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local ok, old = pcall(cjson.decode, cur)
  if ok and type(old) == 'table' and type(old.lastRunAt) == 'string' and (ARGV[3] == '' or old.lastRunAt > ARGV[3]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

export class RedisScheduleStore implements ScheduleStore {
  private readonly key: string;

  /** `client` is opened and closed by its owner (the Beat). */
  constructor(
    private readonly client: Redis,
    prefix: string,
  ) {
    this.key = stateKey(prefix);
  }

  async open(): Promise<void> {}

  async load(): Promise<Record<string, EntryState>> {
    const raw = await this.client.hgetall(this.key);
    const out: Record<string, EntryState> = {};
    for (const [name, json] of Object.entries(raw)) {
      try {
        out[name] = JSON.parse(json) as EntryState;
      } catch {
        // An unreadable field is as good as absent: the entry is anchored afresh.
      }
    }
    return out;
  }

  async save(name: string, state: EntryState): Promise<void> {
    await this.client.eval(SAVE_SCRIPT, 1, this.key, name, JSON.stringify(state), state.lastRunAt ?? '');
  }

  async close(): Promise<void> {}
}
