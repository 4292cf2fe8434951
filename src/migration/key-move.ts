// The key-move protocol between the proxies and the dashboard's migration executor: the key prefixes
// the migration machinery uses on the backends (never user data), the Lua script that moves a batch
// of keys from a slot's source to its target with one atomic MIGRATE, and the builder of its
// arguments. Both processes run the same script, so it lives here, below both of them.
import { parseAddr } from '../util/address.js';

/** Key prefixes used by the migration machinery on the backends (never user data). */
export const LOCK_PREFIX = '__shardis_lock:';
export const TMP_PREFIX = '__shardis_tmp:';
/** Set (per DB, on the source) of big keys a proxy is waiting for: the executor copies them first. */
export const BIGKEYS_KEY = '__shardis_bigkeys';
export const INTERNAL_PREFIX = '__shardis_';

/**
 * KEYS = keys to move (no duplicates); ARGV = target host, port, db, timeout ms, auth ('' = none),
 * big-key threshold (elements; 0 = no limit), cap on the elements moved by this call (0 = none),
 * '1' to queue big keys for the executor. Returns one status character per key: `m` moved, `a`
 * absent from the source, `l` locked by the big-key copier, `b` too big for one MIGRATE (queued for
 * the executor's chunked copy when asked), `r` left for another call (the cap was reached). The
 * present keys that are neither locked nor big move in one `MIGRATE ... KEYS`, atomically on the
 * source. Proxies and the dashboard's executor both use it.
 * A lock is checked before existence: a locked key that is gone from the source (expired while being
 * copied) must still be waited for, or a write could land on the target before the copy is renamed
 * over it.
 */
export const MIGRATE_KEYS_SCRIPT = `
local big = tonumber(ARGV[6])
local cap = tonumber(ARGV[7])
local total = 0
local st = {}
local present = {}
for i, k in ipairs(KEYS) do
  if redis.call('EXISTS', '${LOCK_PREFIX}' .. k) == 1 then st[i] = 'l'
  elseif redis.call('EXISTS', k) == 0 then st[i] = 'a'
  else
    local n = 0
    if big > 0 or cap > 0 then
      local t = redis.call('TYPE', k).ok
      if t == 'hash' then n = redis.call('HLEN', k)
      elseif t == 'list' then n = redis.call('LLEN', k)
      elseif t == 'set' then n = redis.call('SCARD', k)
      elseif t == 'zset' then n = redis.call('ZCARD', k)
      elseif t == 'stream' then n = redis.call('XLEN', k) end
    end
    if n < 1 then n = 1 end
    if big > 0 and n > big then
      if ARGV[8] == '1' then redis.call('SADD', '${BIGKEYS_KEY}', k) end
      st[i] = 'b'
    elseif cap > 0 and #present > 0 and total + n > cap then
      st[i] = 'r'
    else
      st[i] = 'm'
      total = total + n
      present[#present + 1] = k
    end
  end
end
if #present > 0 then
  local args = {'MIGRATE', ARGV[1], ARGV[2], '', ARGV[3], ARGV[4], 'REPLACE'}
  if ARGV[5] ~= '' then args[#args + 1] = 'AUTH'; args[#args + 1] = ARGV[5] end
  args[#args + 1] = 'KEYS'
  for i, k in ipairs(present) do args[#args + 1] = k end
  redis.call(unpack(args))
end
return table.concat(st)
`;

/** ARGV of MIGRATE_KEYS_SCRIPT (the proxies and the dashboard's executor both call it). */
export function migrateKeysArgs(
  target: string,
  db: number,
  o: { timeoutMs: number; auth: string; bigKeyElements: number },
  capElements: number,
  queueBig: boolean,
): string[] {
  const { host, port } = parseAddr(target);
  return [host, String(port), String(db), String(o.timeoutMs), o.auth, String(o.bigKeyElements), String(capElements), queueBig ? '1' : '0'];
}
