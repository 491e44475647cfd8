/**
 * Every Redis key beat writes, in one place. `prefix` is `beatKeyPrefix` (default `celeriac:`).
 *
 * ```text
 * <prefix>beat:leader                      string  the leader's token; SET NX PX <lease>, renewed, deleted on stop
 * <prefix>beat:state                       hash    entry name -> EntryState JSON (RedisScheduleStore)
 * <prefix>beat:run:<entry>:<ISO time>      string  one scheduled run, claimed with SET NX PX before it is sent
 * ```
 */
export const leaderKey = (prefix: string): string => `${prefix}beat:leader`;
export const stateKey = (prefix: string): string => `${prefix}beat:state`;
export const runKey = (prefix: string, entry: string, runAt: Date): string => `${prefix}beat:run:${entry}:${runAt.toISOString()}`;
