"""The chain's shared picture in Redis: per-model cooldowns, RPM/TPM windows, circuit breakers and
probe slots, decided atomically by Lua scripts on Redis's own clock, so every web worker, job worker
and instance agrees.

RPM and TPM are sliding 60 s windows (a little longer, to absorb the trip to Bedrock), so a model
never sees more than its configured requests in any minute.
"""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

from redis import Redis

from .errors import LONG_KINDS, THROTTLE
from .types import ModelSpec

WINDOW_MS = 60_500
PROBE_WINDOW_MS = 2_000
EPISODE_RESET_MS = 120_000
LONG_COOLDOWN_MS = {"quota": 3_600_000, "access": 3_600_000, "gone": 86_400_000}
MAX_LEVEL = 5

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local rid = ARGV[3]
local window = tonumber(ARGV[4])
local probe_window = tonumber(ARGV[5])
local best_wait = -1
local blocked = {}
local disabled = {}
for i = 1, n do
  local k = (i - 1) * 5
  local S, R, T, TS = KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4]
  local rpm = tonumber(ARGV[5 + (i - 1) * 2 + 1])
  local tpm = tonumber(ARGV[5 + (i - 1) * 2 + 2])
  local st = redis.call('HMGET', S, 'cd_until', 'bo_until', 'dis_until', 'probation')
  local cd, bo, dis = tonumber(st[1]) or 0, tonumber(st[2]) or 0, tonumber(st[3]) or 0
  local until_ = math.max(cd, bo, dis)
  if until_ <= now and st[4] == '1' then
    -- Cooldown over, but the model comes back through one probe, not a stampede of waiting callers.
    local P = KEYS[k + 5]
    if redis.call('SET', P, rid, 'NX', 'PX', probe_window) then
      redis.call('ZADD', R, now, rid)
      redis.call('ZADD', T, now, rid .. ':' .. cost)
      redis.call('INCRBY', TS, cost)
      return {2, i, 0, now}
    end
    local ttl = redis.call('PTTL', P)
    until_ = now + (ttl > 0 and ttl or probe_window)
  end
  if until_ > now then
    blocked[i] = until_
    disabled[i] = dis > now
  else
    local wait = 0
    redis.call('ZREMRANGEBYSCORE', R, '-inf', now - window)
    if redis.call('ZCARD', R) >= rpm then
      local oldest = redis.call('ZRANGE', R, 0, 0, 'WITHSCORES')
      wait = tonumber(oldest[2]) + window - now
    else
      local expired = redis.call('ZRANGEBYSCORE', T, '-inf', now - window)
      if #expired > 0 then
        local freed = 0
        for _, member in ipairs(expired) do
          freed = freed + tonumber(string.match(member, ':(%d+)$'))
        end
        redis.call('ZREMRANGEBYSCORE', T, '-inf', now - window)
        redis.call('DECRBY', TS, freed)
      end
      local used = tonumber(redis.call('GET', TS) or '0')
      if used > 0 and used + cost > tpm then
        local oldest = redis.call('ZRANGE', T, 0, 0, 'WITHSCORES')
        wait = tonumber(oldest[2]) + window - now
      else
        redis.call('ZADD', R, now, rid)
        redis.call('ZADD', T, now, rid .. ':' .. cost)
        redis.call('INCRBY', TS, cost)
        redis.call('PEXPIRE', R, window * 2)
        redis.call('PEXPIRE', T, window * 2)
        redis.call('PEXPIRE', TS, window * 2)
        return {1, i, 0, now}
      end
    end
    if wait < 1 then wait = 1 end
    if best_wait < 0 or wait < best_wait then best_wait = wait end
  end
end
-- No model can take the call now. A cooling model (not a disabled one) may be probed by one caller,
-- at most once per probe window, the one whose cooldown ends first; everyone else is told when to
-- come back. Probing while others are merely rate-limited lets capacity return as soon as it exists.
local order = {}
for i = 1, n do
  if blocked[i] and not disabled[i] then table.insert(order, i) end
end
table.sort(order, function(a, b) return blocked[a] < blocked[b] end)
local soonest = best_wait
for _, i in ipairs(order) do
  local P = KEYS[(i - 1) * 5 + 5]
  if redis.call('SET', P, rid, 'NX', 'PX', probe_window) then
    local k = (i - 1) * 5
    redis.call('ZADD', KEYS[k + 2], now, rid)
    redis.call('ZADD', KEYS[k + 3], now, rid .. ':' .. cost)
    redis.call('INCRBY', KEYS[k + 4], cost)
    return {2, i, 0, now}
  end
  local ttl = redis.call('PTTL', P)
  local wait = math.min(blocked[i] - now, ttl > 0 and ttl or blocked[i] - now)
  if soonest < 0 or wait < soonest then soonest = wait end
end
if soonest < 0 then
  for i = 1, n do
    if blocked[i] then
      local wait = blocked[i] - now
      if soonest < 0 or wait < soonest then soonest = wait end
    end
  end
end
if soonest < 1 then soonest = 1 end
return {0, 0, soonest, now}
"""

_REPORT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local S, T, TS, P = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local outcome, rid = ARGV[1], ARGV[2]
local reserved, actual = tonumber(ARGV[3]), tonumber(ARGV[4])
local base, jitter, long = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local threshold, breaker_ms = tonumber(ARGV[8]), tonumber(ARGV[9])
local probe, reset_ms, max_level = ARGV[11] == '1', tonumber(ARGV[12]), tonumber(ARGV[13])
local probe_window = tonumber(ARGV[14])
-- per-minute counters for the admin page's last five minutes
local stats = KEYS[5] .. ':' .. math.floor(now / 60000)
local counter = 'errors'
if outcome == 'success' then counter = 'calls' elseif outcome == 'throttle' or ARGV[10] == 'quota' then counter = 'throttles' end
redis.call('HINCRBY', stats, counter, 1)
redis.call('EXPIRE', stats, 900)
if actual ~= reserved then
  local member = rid .. ':' .. reserved
  local score = redis.call('ZSCORE', T, member)
  if score then
    redis.call('ZREM', T, member)
    redis.call('ZADD', T, score, rid .. ':' .. actual)
    redis.call('DECRBY', TS, reserved - actual)
  end
end
if outcome == 'success' then
  redis.call('HSET', S, 'bf', 0, 'bo_until', 0)
  local cd = tonumber(redis.call('HGET', S, 'cd_until') or '0')
  if probe then
    -- Only a probe's success reopens a model: a late success from a call made before the episode
    -- began says nothing about now.
    redis.call('HSET', S, 'cd_until', 0, 'level', 0, 'probation', 0)
    redis.call('DEL', P)
  elseif cd <= now then
    redis.call('HSET', S, 'level', 0)
  end
  return {0, now}
elseif outcome == 'throttle' then
  local cd = tonumber(redis.call('HGET', S, 'cd_until') or '0')
  if cd > now then
    return {cd - now, now}
  end
  local level = tonumber(redis.call('HGET', S, 'level') or '0')
  local ep_end = tonumber(redis.call('HGET', S, 'ep_end') or '0')
  if ep_end > 0 and now - ep_end < reset_ms then
    level = math.min(level + 1, max_level)
  else
    level = 0
  end
  local duration = math.floor(base * (2 ^ level) * (1 + 0.25 * jitter))
  redis.call('HSET', S, 'cd_until', now + duration, 'level', level, 'ep_end', now + duration, 'probation', 1)
  -- the first probe of this episode comes one probe window after it began, not at once
  redis.call('SET', P, 'cooling', 'PX', probe_window)
  return {duration, now}
elseif outcome == 'long' then
  local dis = tonumber(redis.call('HGET', S, 'dis_until') or '0')
  redis.call('HSET', S, 'dis_until', math.max(dis, now + long), 'dis_reason', ARGV[10])
  return {long, now}
else
  local bf = tonumber(redis.call('HGET', S, 'bf') or '0')
  local last = tonumber(redis.call('HGET', S, 'bf_last') or '0')
  if now - last > breaker_ms then bf = 0 end
  bf = bf + 1
  redis.call('HSET', S, 'bf', bf, 'bf_last', now)
  if bf >= threshold or probe then
    redis.call('HSET', S, 'bo_until', now + breaker_ms, 'probation', 1)
    redis.call('SET', P, 'open', 'PX', probe_window)
    return {breaker_ms, now}
  end
  return {0, now}
end
"""


@dataclass
class Decision:
    kind: str  # "call", "probe" or "wait"
    index: int = -1
    retry_after: float = 0.0  # seconds, for "wait"
    request_id: str = ""
    cost: int = 0
    at_ms: int = 0  # Redis server time of the decision
    reported_at_ms: int = 0  # Redis server time of the outcome report


class ChainState:
    """Shared model-chain state under one key prefix."""

    def __init__(self, redis: Redis, prefix: str = "ai-prism:chain:", breaker_threshold: int = 5,
                 breaker_timeout_s: float = 60, probe_window_s: float = PROBE_WINDOW_MS / 1000):
        self.redis = redis
        self.probe_window_ms = int(probe_window_s * 1000)
        self.prefix = prefix
        self.breaker_threshold = breaker_threshold
        self.breaker_timeout_ms = int(breaker_timeout_s * 1000)
        self._acquire = redis.register_script(_ACQUIRE)
        self._report = redis.register_script(_REPORT)

    def _keys(self, spec: ModelSpec) -> list[str]:
        base = f"{self.prefix}{spec.id}"
        return [f"{base}:state", f"{base}:rpm", f"{base}:tpm", f"{base}:tpmsum", f"{base}:probe"]

    def acquire(self, specs: list[ModelSpec], cost: int) -> Decision:
        """Reserve a request and ``cost`` tokens on the first model that can take them."""
        request_id = uuid.uuid4().hex
        keys, args = [], [len(specs), cost, request_id, WINDOW_MS, self.probe_window_ms]
        for spec in specs:
            keys += self._keys(spec)
            args += [spec.rpm, spec.tpm]
        status, index, wait_ms, at_ms = self._acquire(keys=keys, args=args)
        if status == 0:
            return Decision("wait", retry_after=wait_ms / 1000, request_id=request_id, cost=cost, at_ms=at_ms)
        return Decision("call" if status == 1 else "probe", index - 1, request_id=request_id, cost=cost, at_ms=at_ms)

    def report(self, spec: ModelSpec, decision: Decision, outcome: str, actual_tokens: int | None = None) -> float:
        """Record what happened; returns the cooldown set, in seconds (0 when none)."""
        state, _, tpm, tpmsum, probe = self._keys(spec)
        stats = f"{self.prefix}stats:{spec.id}"
        kind = "success" if outcome == "success" else ("throttle" if outcome == THROTTLE else ("long" if outcome in LONG_KINDS else "failure"))
        actual = decision.cost if actual_tokens is None else int(actual_tokens)
        result, decision.reported_at_ms = self._report(
            keys=[state, tpm, tpmsum, probe, stats],
            args=[kind, decision.request_id, decision.cost, actual, int(spec.cooldown_s * 1000), random.random(),
                  LONG_COOLDOWN_MS.get(outcome, 3_600_000), self.breaker_threshold, self.breaker_timeout_ms,
                  outcome, "1" if decision.kind == "probe" else "0", EPISODE_RESET_MS, MAX_LEVEL, self.probe_window_ms],
        )
        return result / 1000

    def snapshot(self, specs: list[ModelSpec]) -> list[dict]:
        """Per model: cooldown and breaker state, window levels, for the admin page."""
        now_s, now_us = self.redis.time()
        now = now_s * 1000 + now_us // 1000
        pipe = self.redis.pipeline()
        for spec in specs:
            state, rpm, tpm, tpmsum, probe = self._keys(spec)
            pipe.hgetall(state)
            pipe.zcount(rpm, now - WINDOW_MS, "+inf")
            pipe.get(tpmsum)
            pipe.pttl(probe)
        raw = pipe.execute()
        out = []
        for i, spec in enumerate(specs):
            state, rpm_used, tpm_used, probe_ttl = raw[i * 4:(i + 1) * 4]
            state = {k.decode(): v.decode() for k, v in state.items()}
            num = lambda name: int(float(state.get(name, 0) or 0))  # noqa: E731
            out.append({
                **spec.to_dict(),
                "cooldown_remaining_s": max(0, num("cd_until") - now) / 1000,
                "escalation_level": num("level"),
                "breaker": "open" if num("bo_until") > now else ("closed" if num("bf") < self.breaker_threshold else "half-open"),
                "breaker_failures": num("bf"),
                "disabled_remaining_s": max(0, num("dis_until") - now) / 1000,
                "disabled_reason": state.get("dis_reason") if num("dis_until") > now else None,
                "rpm_used": rpm_used, "rpm_free": max(0, spec.rpm - rpm_used),
                "tpm_used": int(tpm_used or 0), "tpm_free": max(0, spec.tpm - int(tpm_used or 0)),
                "probe_slot_busy_s": max(0, probe_ttl) / 1000 if probe_ttl and probe_ttl > 0 else 0,
            })
        return out

    def recent(self, specs: list[ModelSpec], minutes: int = 5) -> dict[str, dict]:
        """Calls, throttles and errors per model over the last ``minutes`` minutes."""
        now = int(self.redis.time()[0] // 60)
        pipe = self.redis.pipeline(transaction=False)
        for spec in specs:
            for minute in range(now - minutes + 1, now + 1):
                pipe.hgetall(f"{self.prefix}stats:{spec.id}:{minute}")
        raw = pipe.execute()
        out = {}
        for i, spec in enumerate(specs):
            totals = {"calls": 0, "throttles": 0, "errors": 0}
            for bucket in raw[i * minutes:(i + 1) * minutes]:
                for key, value in bucket.items():
                    if key.decode() in totals:
                        totals[key.decode()] += int(value)
            out[spec.id] = totals
        return out

    def reset(self, specs: list[ModelSpec]) -> None:
        keys = [key for spec in specs for key in self._keys(spec)]
        keys += [k for spec in specs for k in self.redis.scan_iter(f"{self.prefix}stats:{spec.id}:*")]
        if keys:
            self.redis.delete(*keys)
