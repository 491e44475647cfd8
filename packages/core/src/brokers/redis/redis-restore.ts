/**
 * Kombu's `restore_visible` (redis.py `QoS.restore_visible`, celery-wire.md §3.4): under
 * `unacked_mutex`, every unacked message older than the visibility timeout goes back at the head of
 * its queue (next in line), marked redelivered.
 *
 * Where we differ from Kombu 5.2.4, on purpose: a restored message goes back to its priority's list
 * (as Kombu >= 5.3; 5.2.4 used the plain list); an unacked entry whose exchange no longer routes
 * anywhere, or that we cannot parse, stays in `unacked` (Kombu drops the first and crashes on the other).
 */
import { randomUUID } from 'node:crypto';
import { UNACKED_MUTEX_EXPIRE_MS, markRedelivered, matchBindings, parseBindingMember, parseUnackedEntry, stringifyEnvelope, unackedScore } from './keys';
import type { KombuKeys } from './keys';
import type { RedisClients } from './redis-connection';

const RESTORE_PAGE = 500;

export interface RestoreContext {
  readonly clients: RedisClients;
  readonly keys: KombuKeys;
  readonly visibilityTimeoutMs: number;
}

/** Returns how many messages were restored; 0 when another consumer holds the mutex. */
export async function restoreVisible(ctx: RestoreContext): Promise<number> {
  const { clients, keys } = ctx;
  const token = randomUUID().replace(/-/g, '');
  const got = await clients.run(() => clients.cmd.set(keys.unackedMutex, token, 'PX', UNACKED_MUTEX_EXPIRE_MS, 'NX'));
  if (got !== 'OK') return 0;
  let restored = 0;
  try {
    const ceiling = unackedScore(Date.now() - ctx.visibilityTimeoutMs);
    for (let skipped = 0; ; ) {
      const tags = await clients.run(() => clients.cmd.zrevrangebyscore(keys.unackedIndex, ceiling, 0, 'LIMIT', skipped, RESTORE_PAGE));
      if (!tags.length) break;
      const entries = await clients.run(() => clients.cmd.hmget(keys.unacked, ...tags));
      for (let i = 0; i < tags.length; i++) {
        const result = await restoreEntry(ctx, tags[i]!, entries[i] ?? null);
        if (result === 'restored') restored++;
        if (result === 'skipped') skipped++;
      }
      if (tags.length < RESTORE_PAGE) break;
    }
  } finally {
    await clients.cmd.celeriacUnlock(1, keys.unackedMutex, token).catch(() => 0); // expires anyway
  }
  return restored;
}

async function restoreEntry(ctx: RestoreContext, tag: string, entry: string | null): Promise<'restored' | 'gone' | 'skipped'> {
  const { clients, keys } = ctx;
  const { unackedIndex, unacked } = keys;
  if (entry === null) {
    // Acked meanwhile (or index without hash entry): Kombu drops the index entry too.
    await clients.run(() => clients.cmd.celeriacRestore(2, unackedIndex, unacked, tag, '', '0', '0'));
    return 'gone';
  }
  let parsed: ReturnType<typeof parseUnackedEntry>;
  try {
    parsed = parseUnackedEntry(entry);
  } catch {
    return 'skipped'; // not ours to judge; left for whoever wrote it
  }
  let queues = [parsed.routingKey];
  if (parsed.exchange !== '') {
    const members = await clients.run(() => clients.cmd.smembers(keys.binding(parsed.exchange)));
    queues = matchBindings(members.map(parseBindingMember).filter((b) => b !== undefined), parsed.routingKey);
  }
  if (!queues.length) return 'skipped'; // Kombu would drop it; we leave it in unacked instead
  const props = parsed.envelope.properties as Record<string, unknown> | undefined;
  const priority = Number(props?.priority);
  const lists = queues.map((q) => keys.queueList(q, Number.isFinite(priority) ? priority : 0));
  const payload = stringifyEnvelope(markRedelivered(parsed.envelope));
  const done = await clients.run(() => clients.cmd.celeriacRestore(lists.length + 2, unackedIndex, unacked, ...lists, tag, payload, '0', '0'));
  return done === 1 ? 'restored' : 'gone';
}
