/**
 * The Redis broker's Lua scripts (run by EVALSHA through ioredis defineCommand). Each one is one
 * atomic step of Kombu's bookkeeping (kombu/transport/redis.py QoS): pop + record unacked, restore,
 * give back, and the unacked_mutex release.
 */
import type { Redis } from 'ioredis';

// Pops up to ARGV[2] messages, priority-major and round robin between queues inside a priority, and
// records each in unacked/unacked_index like redis.py QoS.append. Returns {key index, envelope, tag}
// triples; tag '' = not a Kombu envelope, popped but not recorded.
const FETCH_LUA = `
local score, max, width = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local out, taken, base = {}, 0, 2
while taken < max and base < #KEYS do
  local live, empty = width, {}
  while taken < max and live > 0 do
    for q = 1, width do
      if taken >= max then break end
      if not empty[q] then
        local env = redis.call('RPOP', KEYS[base + q])
        if env then
          local tag, entry = '', nil
          -- Fast path: read tag, exchange and routing key with patterns after "properties" (cjson.decode
          -- of every envelope cost ~13 us per message in Redis). Escaped strings fall back to cjson.
          local ps = string.find(env, '"properties":%s*{')
          local t, ex, rk
          if ps then
            t = string.match(env, '"delivery_tag":%s*"([^"\\\\]+)"', ps)
            ex, rk = string.match(env, '"delivery_info":%s*{%s*"exchange":%s*"([^"\\\\]*)",%s*"routing_key":%s*"([^"\\\\]*)"', ps)
          end
          if t and ex and rk then
            tag, entry = t, '[' .. env .. ', "' .. ex .. '", "' .. rk .. '"]'
          else
            local ok, m = pcall(cjson.decode, env)
            if ok and type(m) == 'table' and type(m.properties) == 'table' then
              local p = m.properties
              local di = p.delivery_info
              if type(p.delivery_tag) == 'string' and type(di) == 'table' and type(di.exchange) == 'string' and type(di.routing_key) == 'string' then
                tag, entry = p.delivery_tag, '[' .. env .. ', ' .. cjson.encode(di.exchange) .. ', ' .. cjson.encode(di.routing_key) .. ']'
              end
            end
          end
          if entry then
            redis.call('ZADD', KEYS[1], score, tag)
            redis.call('HSET', KEYS[2], tag, entry)
          end
          out[#out + 1] = base + q - 2
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

// redis.py QoS.restore_by_tag without WATCH: only the holder of the unacked entry pushes (ARGV[4]
// '1' forces it). ARGV[3] '1' = LPUSH (back of the queue, reject+requeue), else RPUSH (next in line).
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

export type Arg = string | number;
export type ScriptedRedis = Redis & {
  celeriacFetch(numKeys: number, ...args: Arg[]): Promise<Arg[]>;
  celeriacRestore(numKeys: number, ...args: Arg[]): Promise<number>;
  celeriacGiveBack(numKeys: number, ...args: Arg[]): Promise<number>;
  celeriacUnlock(numKeys: number, ...args: Arg[]): Promise<number>;
};

/** Registers the scripts on a connection. */
export function defineScripts(client: Redis): void {
  client.defineCommand('celeriacFetch', { lua: FETCH_LUA });
  client.defineCommand('celeriacRestore', { lua: RESTORE_LUA });
  client.defineCommand('celeriacGiveBack', { lua: GIVE_BACK_LUA });
  client.defineCommand('celeriacUnlock', { lua: UNLOCK_LUA });
}
