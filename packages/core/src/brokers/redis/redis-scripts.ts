/**
 * The Redis broker's Lua scripts (run by EVALSHA through ioredis defineCommand). Each one is one
 * atomic step of Kombu's bookkeeping (kombu/transport/redis.py QoS): pop + record unacked (or
 * dead-letter), record, ack, restore, give back, and the unacked_mutex release; plus our delayed delivery (add a
 * member, move the due ones), which Kombu does not have.
 */
import type { Redis } from 'ioredis';

// Pops up to ARGV[2] messages, priority-major and round robin between queues inside a priority, and
// records each in unacked/unacked_index like redis.py QoS.append. KEYS: unacked_index, unacked,
// dead-letter list, then the lists in consume order. Returns {list index (1-based), envelope, tag}
// triples; tag '' = not JSON to cjson, popped but not recorded (the caller decodes it and decides).
// A value that is JSON but not a Kombu envelope is moved to the dead-letter list in the same step:
// its triple is {-list index, envelope, reason}. The cjson checks mirror keys.ts decodeEnvelope.
const FETCH_LUA = `
-- returns tag, unacked entry; or nil, nil, reason (JSON, not an envelope); or nothing (not JSON to cjson)
-- The string value of "key" found at or after \`from\`: plain finds only (Lua patterns cost ~11 us
-- per envelope in Redis, cjson.decode ~5 us, plain finds ~2.5 us). nil when the value is not a plain
-- string right after the key (at most one space between), or holds a backslash: cjson decides then.
local function quoted(env, key, from)
  local k = string.find(env, key, from, true)
  if not k then return nil end
  local q1 = string.find(env, '"', k + #key, true)
  if not q1 or q1 > k + #key + 1 then return nil end
  local q2 = string.find(env, '"', q1 + 1, true)
  if not q2 then return nil end
  local v = string.sub(env, q1 + 1, q2 - 1)
  if string.find(v, '\\\\', 1, true) then return nil end
  return v, q2
end

local function envelope(env)
  -- Fast path: tag, exchange and routing key read after "properties"; anything unusual goes to cjson.
  local ps = string.find(env, '"properties":', 1, true)
  if ps then
    local t = quoted(env, '"delivery_tag":', ps)
    local di = string.find(env, '"delivery_info":', ps, true)
    if t and t ~= '' and di then
      local ex, at = quoted(env, '"exchange":', di)
      local rk = at and quoted(env, '"routing_key":', at)
      if ex and rk then return t, '[' .. env .. ', "' .. ex .. '", "' .. rk .. '"]' end
    end
  end
  local ok, m = pcall(cjson.decode, env)
  if not ok then return nil end
  if type(m) ~= 'table' then return nil, nil, 'not a JSON object' end
  local p = m.properties
  if type(p) ~= 'table' then return nil, nil, 'no "properties" object' end
  local di = p.delivery_info
  if type(di) ~= 'table' then return nil, nil, 'no "properties.delivery_info" object' end
  if type(di.exchange) ~= 'string' or type(di.routing_key) ~= 'string' then return nil, nil, 'delivery_info.exchange/routing_key missing' end
  if type(p.delivery_tag) ~= 'string' or p.delivery_tag == '' then return nil, nil, 'no "properties.delivery_tag"' end
  if type(m.body) ~= 'string' then return nil, nil, '"body" is not a string' end
  if m.headers ~= nil and m.headers ~= cjson.null and type(m.headers) ~= 'table' then return nil, nil, '"headers" is not an object' end
  local be = p.body_encoding
  if be ~= nil and be ~= cjson.null and be ~= 'base64' then return nil, nil, 'unknown body_encoding' end
  return p.delivery_tag, '[' .. env .. ', ' .. cjson.encode(di.exchange) .. ', ' .. cjson.encode(di.routing_key) .. ']'
end
local score, max, width = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local out, taken, base = {}, 0, 3
while taken < max and base < #KEYS do
  local live, empty = width, {}
  while taken < max and live > 0 do
    for q = 1, width do
      if taken >= max then break end
      if not empty[q] then
        local env = redis.call('RPOP', KEYS[base + q])
        if env then
          local tag, entry, why = envelope(env)
          local index = base + q - 3
          if tag then
            redis.call('ZADD', KEYS[1], score, tag)
            redis.call('HSET', KEYS[2], tag, entry)
          elseif why then
            tag = 'Redis message is not a Kombu envelope (' .. why .. ')'
            redis.call('LPUSH', KEYS[3], cjson.encode({reason = tag, list = KEYS[base + q], time = tonumber(score), payload = env}))
            index = -index
          else
            tag = ''
          end
          out[#out + 1] = index
          out[#out + 1] = env
          out[#out + 1] = tag
          taken = taken + 1
        else
          empty[q] = true
          live = live - 1
        end
      end
    end
  end
  base = base + width
end
return out`;

// redis.py QoS.append (a MULTI of ZADD + HSET) for a message BRPOP returned: KEYS unacked_index,
// unacked; ARGV score, delivery tag, unacked entry. Sent with EVAL, not EVALSHA (recordUnacked): a
// NOSCRIPT retry after a Redis restart could land after the message's ack and leave a stale entry;
// and one EVAL costs the client far less than a MULTI, on the path from BRPOP to the task.
const RECORD_LUA = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1`;

/** Records a message BRPOP returned in `unacked` + `unacked_index` (RECORD_LUA), in one command. */
export function recordUnacked(client: Redis, unackedIndex: string, unacked: string, score: string, tag: string, entry: string): Promise<unknown> {
  return client.eval(RECORD_LUA, 2, unackedIndex, unacked, score, tag, entry);
}

// redis.py QoS.ack (a MULTI of ZREM + HDEL) for many delivery tags (ARGV, at most a few thousand:
// Lua's unpack limit) as one script call, which costs the client far less than a MULTI. KEYS
// unacked_index, unacked. (A NOSCRIPT retry landing late is harmless here: the record it follows was
// sent before it, and removing entries twice does nothing.)
const ACK_LUA = `
redis.call('ZREM', KEYS[1], unpack(ARGV))
redis.call('HDEL', KEYS[2], unpack(ARGV))
return #ARGV`;

// redis.py QoS.restore_by_tag without WATCH: only the holder of the unacked entry pushes (ARGV[4]
// '1' forces it). ARGV[3] '1' = LPUSH (back of the queue, reject+requeue), else RPUSH (next in line).
// Also moves an undecodable message from unacked to the dead-letter list (KEYS[3], LPUSH).
const RESTORE_LUA = `
local held = redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
if held == 0 and ARGV[4] ~= '1' then return 0 end
local push = ARGV[3] == '1' and 'LPUSH' or 'RPUSH'
for i = 3, #KEYS do redis.call(push, KEYS[i], ARGV[2]) end
return 1`;

// Undoes a fetch that lost its consumer to cancel(): each envelope back where it was popped from.
const GIVE_BACK_LUA = `
for i = #KEYS, 3, -1 do
  local tag = ARGV[(i - 3) * 2 + 1]
  redis.call('RPUSH', KEYS[i], ARGV[(i - 3) * 2 + 2])
  if tag ~= '' then redis.call('ZREM', KEYS[1], tag) redis.call('HDEL', KEYS[2], tag) end
end
return #KEYS - 2`;

// redis-py Lock.release: delete the mutex only if it still holds our token.
const UNLOCK_LUA = `
local token = redis.call('get', KEYS[1])
if not token or token ~= ARGV[1] then return 0 end
redis.call('del', KEYS[1])
return 1`;

// publishDelayed (redis-delayed.ts): ZADD KEYS[1] (the delayed set) the member ARGV[2] scored by
// the Redis clock now + ARGV[1] ms, so every mover compares due times against one clock. Returns now.
const DELAY_LUA = `
if redis.replicate_commands then redis.replicate_commands() end -- TIME before a write (Redis < 5)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
return now`;

// Delivery.defer: the held message (unacked entry ARGV[1], removed from KEYS[2] and KEYS[1]) becomes
// the delayed-set member ARGV[3] in KEYS[3], due in ARGV[2] ms of the Redis clock, in one step. Only
// while the entry is still held (ARGV[4] '1' forces it), so a message restore_visible already put back
// is not added a second time. Returns 1 when added.
const DEFER_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local held = redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
if held == 0 and ARGV[4] ~= '1' then return 0 end
local t = redis.call('TIME')
redis.call('ZADD', KEYS[3], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[2]), ARGV[3])
return 1`;

// Moves up to ARGV[2] due members of the delayed set KEYS[1] to their queue lists (ARGV[1] = key
// prefix + the member's "list"), each removed in the same atomic step, so two movers never both move
// one. RPUSH = next in line (it is due), the latest due first so the earliest ends up served first.
// A member that is not {"list", "envelope"} goes to the dead-letter list KEYS[2] instead of looping.
// The list keys are computed here, not passed in KEYS: standalone Redis only, as Kombu's transport.
// Returns {moved, taken, ms until the next due member or -1 when none is left}.
const MOVE_DUE_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local moved = 0
for i = #due, 1, -1 do
  local member = due[i]
  local ok, m = pcall(cjson.decode, member)
  if ok and type(m) == 'table' and type(m.list) == 'string' and type(m.envelope) == 'string' then
    redis.call('RPUSH', ARGV[1] .. m.list, m.envelope)
    moved = moved + 1
  else
    redis.call('LPUSH', KEYS[2], cjson.encode({reason = 'not a delayed-delivery member', list = KEYS[1], time = now / 1000, payload = member}))
  end
  redis.call('ZREM', KEYS[1], member)
end
local wait = -1
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if nxt[2] then wait = math.max(0, tonumber(nxt[2]) - now) end
return {moved, #due, wait}`;

export type Arg = string | number;
export type ScriptedRedis = Redis & {
  celeriacFetch(numKeys: number, ...args: Arg[]): Promise<Arg[]>;
  celeriacAck(numKeys: number, ...args: Arg[]): Promise<number>;
  celeriacRestore(numKeys: number, ...args: Arg[]): Promise<number>;
  celeriacGiveBack(numKeys: number, ...args: Arg[]): Promise<number>;
  celeriacUnlock(numKeys: number, ...args: Arg[]): Promise<number>;
  celeriacDelay(numKeys: number, ...args: Arg[]): Promise<number>;
  celeriacDefer(numKeys: number, ...args: Arg[]): Promise<number>;
  celeriacMoveDue(numKeys: number, ...args: Arg[]): Promise<[moved: number, taken: number, nextInMs: number]>;
};

/** Registers the scripts on a connection. */
export function defineScripts(client: Redis): void {
  client.defineCommand('celeriacFetch', { lua: FETCH_LUA });
  client.defineCommand('celeriacAck', { lua: ACK_LUA });
  client.defineCommand('celeriacRestore', { lua: RESTORE_LUA });
  client.defineCommand('celeriacGiveBack', { lua: GIVE_BACK_LUA });
  client.defineCommand('celeriacUnlock', { lua: UNLOCK_LUA });
  client.defineCommand('celeriacDelay', { lua: DELAY_LUA });
  client.defineCommand('celeriacDefer', { lua: DEFER_LUA });
  client.defineCommand('celeriacMoveDue', { lua: MOVE_DUE_LUA });
}
