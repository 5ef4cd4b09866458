"""The chain's shared picture in Redis, decided atomically by Lua scripts on Redis's own clock, so every
web worker, job worker and instance agrees.

Per model (hash ``<prefix><id>:state``):
- learned limits: ``rate`` (requests per minute) and ``conc`` (calls in flight). They start at the
  configured RPM and concurrency; a throttle cuts both multiplicatively (once per episode: only calls
  sent after the last cut may cut again); every success raises them additively back toward the
  configured values (AIMD). The token budget follows the rate: configured TPM x rate / configured RPM.
- pacing: calls are spaced evenly at the learned rate by a GCRA (``tat``, the theoretical arrival
  time), and tokens likewise (``ttat``), never released in a per-minute burst.
- slow start: an untested model, and a model coming back from a cooldown, takes a single probe call
  (slot ``:probe``); other callers go elsewhere or wait for its answer.
- cooling (``cd_until``): after a throttle, or after CIRCUIT_BREAKER_FAILURE_THRESHOLD failures in a
  row (5xx, timeouts), a short backoff that doubles while the model keeps failing, capped.
- unusable (``dis_until``): access denied, not found / end of life, inference profile required. Out
  for every process until an admin resets it or the unusable-probe interval passes; then exactly one
  caller (the holder of the probe slot) tries it.
- in flight: a sorted set of leases (``:lease``), and one for the whole deployment (``sem``,
  MAX_CONCURRENT_REQUESTS): a process killed with -9 frees its slots when its leases expire.
"""
from __future__ import annotations

import itertools
import os
import random
import uuid
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import NoScriptError

from .errors import QUOTA, THROTTLE, UNUSABLE_KINDS
from .reporter import OutcomeReporter
from .types import ModelSpec

QUOTA_COOLDOWN_MS = 3_600_000  # a daily quota: long, but the model is not broken
DEFAULT_LATENCY_MS = 500
TOKEN_TOLERANCE_MS = 1_000
MIN_THROTTLE_COOLDOWN_MS = 50  # a throttled model is never asked again at once  # token pacing lets one second's worth of tokens through at once

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n, cost, rid = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local lease, sem_limit, token_tol = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local recovery_ms = tonumber(ARGV[7])
local SEM = KEYS[1]
if sem_limit > 0 then
  redis.call('ZREMRANGEBYSCORE', SEM, '-inf', now)
  if redis.call('ZCARD', SEM) >= sem_limit then
    local oldest = redis.call('ZRANGE', SEM, 0, 0, 'WITHSCORES')
    return {0, 0, 25, now}
  end
end
local best = -1
local pending = -1
local failing = {}
for i = 1, n do
  local k = 1 + (i - 1) * 4
  local S, L, P = KEYS[k + 1], KEYS[k + 2], KEYS[k + 3]
  local a = 7 + (i - 1) * 3
  local cfg_rpm, cfg_tpm, cfg_conc = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local st = redis.call('HMGET', S, 'rate', 'conc', 'tat', 'ttat', 'cd_until', 'dis_until', 'probation', 'lat', 'bo')
  local rate, conc = tonumber(st[1]), tonumber(st[2])
  local probation = st[7] == '1'
  if not rate then
    -- never seen: start at the configured limits, through a single probe
    rate, conc, probation = cfg_rpm, cfg_conc, true
    redis.call('HSET', S, 'rate', rate, 'conc', conc, 'probation', 1, 'sfrom', now)
  end
  local tat, ttat = tonumber(st[3]) or 0, tonumber(st[4]) or 0
  local cd, dis = tonumber(st[5]) or 0, tonumber(st[6]) or 0
  local lat = tonumber(st[8]) or 500
  local wait = -1
  local kind = 1
  if dis > now then
    -- unusable: never a retry time
  elseif dis > 0 then
    -- unusable, its probe interval over: exactly one caller probes it
    if redis.call('SET', P, rid, 'NX', 'PX', lease) then
      redis.call('ZADD', L, now + lease, rid)
      if sem_limit > 0 then redis.call('ZADD', SEM, now + lease, rid) end
      redis.call('HSET', S, 'last_probe', now)
      return {3, i, 0, now}
    end
    local ttl = redis.call('PTTL', P)
    if ttl > 0 and (pending < 0 or ttl < pending) then pending = ttl end
  else
    if cd > now then
      wait = cd - now
      if st[9] == '1' then table.insert(failing, i) end
    else
      redis.call('ZREMRANGEBYSCORE', L, '-inf', now)
      local inflight = redis.call('ZCARD', L)
      if inflight >= math.max(1, math.floor(conc)) then
        local oldest = redis.call('ZRANGE', L, 0, 0, 'WITHSCORES')
        wait = math.max(10, tonumber(oldest[2]) - lease + lat - now)
      elseif tat > now then
        wait = tat - now
      else
        local tpm = cfg_tpm * rate / cfg_rpm
        local tinc = cost * 60000 / tpm
        if ttat - now > token_tol then
          wait = ttat - now - token_tol
        elseif probation then
          if redis.call('SET', P, rid, 'NX', 'PX', lease) then
            kind = 2
          else
            wait = math.max(10, math.min(redis.call('PTTL', P), math.floor(lat / 2)))
          end
        end
        if wait < 0 then
          redis.call('HSET', S, 'tat', math.floor(math.max(tat, now) + 60000 / rate),
                     'ttat', math.floor(math.max(ttat, now) + tinc))
          if kind == 2 then redis.call('HSET', S, 'last_probe', now) end
          redis.call('ZADD', L, now + lease, rid)
          if sem_limit > 0 then redis.call('ZADD', SEM, now + lease, rid) end
          return {kind, i, 0, now}
        end
      end
    end
    if best < 0 or wait < best then best = wait end
  end
end
if #failing > 0 then
  -- Nothing can take the call now and some models are backing off after 5xx/timeouts: one caller
  -- per recovery window (per model) may try one of them early, so an outage's end is seen within
  -- that window on every model, not only once the healthy ones run out (a 5xx never cuts the
  -- learned rate: the model is back at full rate as soon as a recovery call succeeds).
  for _, i in ipairs(failing) do
    local k = 1 + (i - 1) * 4
    if redis.call('SET', KEYS[k + 4], rid, 'NX', 'PX', recovery_ms) then
      redis.call('ZADD', KEYS[k + 2], now + lease, rid)
      if sem_limit > 0 then redis.call('ZADD', SEM, now + lease, rid) end
      -- the early call is paced like any other: the next one waits its interval after it
      local a = 7 + (i - 1) * 3
      local cfg_rpm, cfg_tpm = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
      local p = redis.call('HMGET', KEYS[k + 1], 'rate', 'tat', 'ttat')
      local rate = tonumber(p[1]) or cfg_rpm
      redis.call('HSET', KEYS[k + 1], 'last_probe', now,
                 'tat', math.floor(math.max(tonumber(p[2]) or 0, now) + 60000 / rate),
                 'ttat', math.floor(math.max(tonumber(p[3]) or 0, now) + cost * 60000 / (cfg_tpm * rate / cfg_rpm)))
      return {2, i, 0, now}
    end
    local ttl = redis.call('PTTL', KEYS[k + 4])
    if ttl > 0 and ttl < best then best = ttl end
  end
end
if best >= 0 then
  if best < 1 then best = 1 end
  return {0, 0, best, now}
end
if pending > 0 then
  return {0, 0, pending, now}
end
-- every model is unusable
return {4, 0, 0, now}
"""

_REPORT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local S, L, P, SEM = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local kind, rid = ARGV[1], ARGV[2]
local reserved, actual = tonumber(ARGV[3]), tonumber(ARGV[4])
local cfg_rpm, cfg_tpm, cfg_conc = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local probe, at_ms, latency = ARGV[8] == '1', tonumber(ARGV[9]), tonumber(ARGV[10])
local cap_ms, threshold, breaker_ms = tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13])
local unusable_ms, quota_ms, reason = tonumber(ARGV[14]), tonumber(ARGV[15]), ARGV[16]
local beta_rate, beta_conc, ai = tonumber(ARGV[17]), tonumber(ARGV[18]), tonumber(ARGV[19])
local base_ms, jitter, min_cool, tau = tonumber(ARGV[20]), tonumber(ARGV[21]), tonumber(ARGV[22]), tonumber(ARGV[23])
redis.call('ZREM', L, rid)
redis.call('ZREM', SEM, rid)
local held = redis.call('GET', P) == rid
if held then redis.call('DEL', P) end
if kind == 'release' then return {0, now} end
-- per-minute counters for the admin page's last five minutes
local stats = KEYS[5] .. ':' .. math.floor(now / 60000)
local counter = 'errors'
if kind == 'success' or kind == 'invalid' then counter = 'calls' elseif kind == 'throttle' or kind == 'quota' then counter = 'throttles' end
redis.call('HINCRBY', stats, counter, 1)
redis.call('EXPIRE', stats, 900)
local st = redis.call('HMGET', S, 'rate', 'conc', 'ttat', 'ceil', 'cut_at', 'streak', 'bf', 'lat', 'cd_until', 'bf_last')
local rate, conc = tonumber(st[1]) or cfg_rpm, tonumber(st[2]) or cfg_conc
local ttat, ceil = tonumber(st[3]) or 0, tonumber(st[4]) or cfg_rpm
local cut_at, streak, bf = tonumber(st[5]) or 0, tonumber(st[6]) or 0, tonumber(st[7]) or 0
local lat, cd, bf_last = tonumber(st[8]) or 500, tonumber(st[9]) or 0, tonumber(st[10]) or 0
local dis_now = (tonumber(redis.call('HGET', S, 'dis_until')) or 0) > 0
if actual < reserved and ttat > 0 then
  -- the unused part of the reserved tokens goes back to the token pacing
  local tpm = cfg_tpm * rate / cfg_rpm
  redis.call('HSET', S, 'ttat', math.floor(ttat - (reserved - actual) * 60000 / tpm))
end
if kind == 'success' or kind == 'invalid' then
  -- the model answered: it is healthy (an invalid request is the caller's fault)
  if kind == 'success' then
    lat = math.floor(lat * 0.8 + latency * 0.2)
    -- served-rate estimate: an exponentially decayed count of successes (time constant tau)
    local acc, last = tonumber(redis.call('HGET', S, 'sacc') or '0'), tonumber(redis.call('HGET', S, 'slast') or now)
    redis.call('HSET', S, 'sacc', acc * math.exp(-(now - last) / tau) + 1, 'slast', now)
  end
  -- back quickly to 95% of the rate that last throttled, then creep toward and past it: one more
  -- throttle only after many successes
  local step = ai * ceil
  if rate < 0.95 * ceil then step = step * 10 elseif rate >= ceil then step = step / 4 end
  rate = math.min(cfg_rpm, rate + step)
  if rate > ceil then ceil = rate end
  conc = math.min(cfg_conc, conc + 0.02 + 0.002 * conc)
  redis.call('HSET', S, 'rate', rate, 'conc', conc, 'ceil', ceil, 'lat', lat)
  if at_ms >= bf_last or probe or held then
    -- a call sent after the last failure answered: the failures in a row are over (a success of a
    -- call sent before them, reported late or by another process, says nothing of them)
    redis.call('HSET', S, 'streak', 0, 'bf', 0, 'bo', 0)
  end
  if probe or held then
    redis.call('HSET', S, 'probation', 0, 'dis_until', 0, 'cd_until', 0)
    if bf > 0 or dis_now then redis.call('HSET', S, 'sfrom', now) end  -- back from failures: serving anew
  end
  return {0, now}
elseif kind == 'throttle' then
  if at_ms > cut_at and not probe then
    -- only a call sent after the last cut says the current rate is still too high; a throttled
    -- probe says the model's window has not freed yet: it backs off longer, without a new cut
    local inflight = redis.call('ZCARD', L) + 1
    -- Saturated and throttled: what the model served lately is near its real limit. Cut to it,
    -- by at least 1 - beta and at most 30%.
    local acc, last = tonumber(redis.call('HGET', S, 'sacc') or '0'), tonumber(redis.call('HGET', S, 'slast') or now)
    local served = acc * math.exp(-(now - last) / tau) * 60000 / tau
    if now - (tonumber(redis.call('HGET', S, 'sfrom')) or 0) < tau then
      -- serving for less than the estimate's time constant (just tested, or back from an outage):
      -- what it served says nothing of its limit yet
      served = rate
    end
    ceil = rate
    rate = math.max(cfg_rpm / 200, rate * 0.7, math.min(rate * beta_rate, served))
    conc = math.max(1, math.min(conc, inflight) * beta_conc)
    cut_at = now
  end
  streak = streak + 1
  local duration = math.floor(math.min(cap_ms, math.max(min_cool, 60000 / rate) * (2 ^ (streak - 1))) * (1 + 0.25 * jitter))
  redis.call('HSET', S, 'rate', rate, 'conc', conc, 'ceil', ceil, 'cut_at', cut_at, 'streak', streak,
             'cd_until', math.max(cd, now + duration), 'probation', 1, 'bo', 0)
  return {duration, now}
elseif kind == 'unusable' then
  redis.call('HSET', S, 'dis_until', now + unusable_ms, 'dis_reason', reason, 'probation', 1)
  return {unusable_ms, now}
elseif kind == 'quota' then
  redis.call('HSET', S, 'cd_until', math.max(cd, now + quota_ms), 'probation', 1, 'dis_reason', reason)
  return {quota_ms, now}
else
  bf = bf + 1
  redis.call('HSET', S, 'bf', bf, 'bf_last', now)
  if bf >= threshold or probe or held then
    streak = streak + 1
    local duration = math.floor(math.min(breaker_ms, base_ms * (2 ^ (streak - 1))) * (1 + 0.25 * jitter))
    redis.call('HSET', S, 'cd_until', math.max(cd, now + duration), 'probation', 1, 'streak', streak, 'bo', 1)
    return {duration, now}
  end
  return {0, now}
end
"""


@dataclass
class Decision:
    kind: str  # "call", "probe", "wait" or "unusable" (every model is unusable)
    index: int = -1
    retry_after: float = 0.0  # seconds, for "wait"
    request_id: str = ""
    cost: int = 0
    at_ms: int = 0  # Redis server time of the decision
    reported_at_ms: int = 0  # Redis server time of the outcome report


_KINDS = {0: "wait", 1: "call", 2: "probe", 3: "probe", 4: "unusable"}


class ChainState:
    """Shared model-chain state under one key prefix.

    ``max_concurrency``: model calls in flight across the deployment (0: no limit); it is also each
    model's starting concurrency. ``lease_s``: how long a call's slot is held at most (a crashed
    process's slots free after it). ``unusable_probe_s``: how long an unusable model stays out before
    one caller probes it. ``probe_window_s``: the first backoff after repeated failures.
    """

    def __init__(self, redis: Redis, prefix: str = "ai-prism:chain:", breaker_threshold: int = 5,
                 breaker_timeout_s: float = 60, probe_window_s: float = 1.0, max_concurrency: int = 0,
                 model_concurrency: int | None = None, lease_s: float = 300.0, unusable_probe_s: float = 3600.0,
                 decrease: float = 0.9, concurrency_decrease: float = 0.75, increase: float = 0.002,
                 served_window_s: float = 10.0):
        self.redis = redis
        self.prefix = prefix
        self.breaker_threshold = breaker_threshold
        self.breaker_timeout_ms = int(breaker_timeout_s * 1000)
        self.base_backoff_ms = int(probe_window_s * 1000)
        self.max_concurrency = int(max_concurrency)
        self.model_concurrency = int(model_concurrency or max_concurrency or 64)
        self.lease_ms = int(lease_s * 1000)
        self.unusable_probe_ms = int(unusable_probe_s * 1000)
        self.decrease, self.concurrency_decrease, self.increase = decrease, concurrency_decrease, increase
        self.served_window_ms = int(served_window_s * 1000)
        self._acquire = redis.register_script(_ACQUIRE)
        self._report = redis.register_script(_REPORT)
        self._model_keys: dict[str, list[str]] = {}
        self._acquire_parts: dict[tuple, tuple[list, list]] = {}
        self._ids_pid, self._ids_prefix, self._ids = None, "", itertools.count()
        self.reporter = OutcomeReporter(self._report_many, self.report)

    def _keys(self, spec: ModelSpec) -> list[str]:
        keys = self._model_keys.get(spec.id)
        if keys is None:
            base = f"{self.prefix}{spec.id}"
            keys = self._model_keys[spec.id] = [f"{base}:state", f"{base}:lease", f"{base}:probe", f"{base}:recovery"]
        return keys

    @property
    def semaphore_key(self) -> str:
        return f"{self.prefix}sem"

    def _request_id(self) -> str:
        # Unique across processes: a random prefix per process (new after a fork), then a counter.
        if self._ids_pid != os.getpid():
            self._ids_pid, self._ids_prefix = os.getpid(), uuid.uuid4().hex[:16]
        return f"{self._ids_prefix}{next(self._ids):x}"

    def acquire(self, specs: list[ModelSpec], cost: int) -> Decision:
        """Reserve a call and ``cost`` tokens on the first model, in order, that may take them now."""
        request_id = self._request_id()
        # The keys and the per-model arguments are the same for every call to the same chain order.
        order = tuple((spec.id, spec.rpm, spec.tpm) for spec in specs)
        parts = self._acquire_parts.get(order)
        if parts is None:
            keys, per_model = [self.semaphore_key], []
            for spec in specs:
                keys += self._keys(spec)
                per_model += [spec.rpm, spec.tpm, self.model_concurrency]
            parts = self._acquire_parts[order] = (keys, per_model)
        keys, per_model = parts
        args = [len(specs), cost, request_id, self.lease_ms, self.max_concurrency, TOKEN_TOLERANCE_MS,
                self.base_backoff_ms, *per_model]
        status, index, wait_ms, at_ms = self._acquire(keys=keys, args=args)
        return Decision(_KINDS[status], index - 1, retry_after=wait_ms / 1000, request_id=request_id, cost=cost, at_ms=at_ms)

    def _report_call(self, spec: ModelSpec, decision: Decision, outcome: str, actual_tokens: int | None,
                     latency_ms: int) -> tuple[list, list]:
        state, lease, probe, _ = self._keys(spec)
        if outcome in ("success", "release", "invalid"):
            kind = outcome
        elif outcome == THROTTLE:
            kind = "throttle"
        elif outcome in UNUSABLE_KINDS:
            kind = "unusable"
        elif outcome == QUOTA:
            kind = "quota"
        else:
            kind = "failure"
        actual = decision.cost if actual_tokens is None else int(actual_tokens)
        keys = [state, lease, probe, self.semaphore_key, f"{self.prefix}stats:{spec.id}"]
        args = [kind, decision.request_id, decision.cost, actual, spec.rpm, spec.tpm, self.model_concurrency,
                "1" if decision.kind == "probe" else "0", decision.at_ms, int(latency_ms),
                int(spec.cooldown_s * 1000), self.breaker_threshold, self.breaker_timeout_ms,
                self.unusable_probe_ms, QUOTA_COOLDOWN_MS, outcome, self.decrease, self.concurrency_decrease,
                self.increase, self.base_backoff_ms, random.random(), MIN_THROTTLE_COOLDOWN_MS, self.served_window_ms]
        return keys, args

    def report(self, spec: ModelSpec, decision: Decision, outcome: str, actual_tokens: int | None = None,
               latency_ms: int = 0) -> float:
        """Record what happened; returns the cooldown set, in seconds (0 when none). ``outcome``
        "release" just frees the call's slots (a stream abandoned before its end)."""
        keys, args = self._report_call(spec, decision, outcome, actual_tokens, latency_ms)
        result, decision.reported_at_ms = self._report(keys=keys, args=args)
        return result / 1000

    def report_later(self, spec: ModelSpec, decision: Decision, outcome: str, actual_tokens: int | None = None,
                     latency_ms: int = 0, then=None) -> None:
        """``report`` off the caller's path (for outcomes the caller's next step does not depend on);
        ``then(cooldown_s)`` runs once it is sent. Reads of the state (snapshot, soonest, ...) in this
        process wait for the reports it queued."""
        self.reporter.submit((spec, decision, outcome, actual_tokens, latency_ms), then)

    def _report_many(self, reports: list[tuple]) -> list[float]:
        """Several reports in one round trip (EVALSHA in a pipeline, no script check per batch)."""
        calls = [self._report_call(*report) for report in reports]
        if len(calls) == 1:
            results = [self._report(keys=calls[0][0], args=calls[0][1])]
        else:
            pipe = self.redis.pipeline(transaction=False)
            for keys, args in calls:
                pipe.evalsha(self._report.sha, len(keys), *keys, *args)
            results = pipe.execute(raise_on_error=False)
            for i, result in enumerate(results):
                if isinstance(result, NoScriptError):  # Redis restarted or its scripts were flushed
                    results[i] = self._report(keys=calls[i][0], args=calls[i][1])
                elif isinstance(result, Exception):
                    raise result
        cooldowns = []
        for (_, decision, *_rest), (result, at_ms) in zip(reports, results):
            decision.reported_at_ms = at_ms
            cooldowns.append(result / 1000)
        return cooldowns

    def flush(self) -> None:
        """Wait until the outcomes this process reported off the call's path are in Redis."""
        self.reporter.flush()

    def soonest(self, specs: list[ModelSpec]) -> float:
        """Seconds until the first usable model's cooldown ends (0 when one is free, 1 at least when cooling)."""
        self.flush()
        now_s, now_us = self.redis.time()
        now = now_s * 1000 + now_us // 1000
        pipe = self.redis.pipeline(transaction=False)
        for spec in specs:
            pipe.hmget(self._keys(spec)[0], "cd_until", "dis_until")
        waits = []
        for cd, dis in pipe.execute():
            if int(float(dis or 0)) > now:
                continue
            waits.append(max(0, int(float(cd or 0)) - now) / 1000)
        return min(waits) if waits else 0.0

    def in_flight(self) -> int:
        """Model calls holding a slot of the deployment-wide semaphore now."""
        self.flush()
        now_s, now_us = self.redis.time()
        return self.redis.zcount(self.semaphore_key, now_s * 1000 + now_us // 1000, "+inf")

    def snapshot(self, specs: list[ModelSpec]) -> list[dict]:
        """Per model: learned and configured limits, cooldown, unusable state, last probe, for the admin page."""
        self.flush()
        now_s, now_us = self.redis.time()
        now = now_s * 1000 + now_us // 1000
        pipe = self.redis.pipeline()
        for spec in specs:
            state, lease, probe, _ = self._keys(spec)
            pipe.hgetall(state)
            pipe.zcount(lease, now, "+inf")
            pipe.pttl(probe)
        raw = pipe.execute()
        out = []
        for i, spec in enumerate(specs):
            state, in_flight, probe_ttl = raw[i * 3:(i + 1) * 3]
            state = {k.decode(): v.decode() for k, v in state.items()}
            num = lambda name, default=0: float(state.get(name, default) or default)  # noqa: E731
            rate = num("rate", spec.rpm)
            bf = int(num("bf"))
            cooling = num("cd_until") > now
            last_probe = int(num("last_probe"))
            out.append({
                **spec.to_dict(),
                "configured_rpm": spec.rpm, "configured_tpm": spec.tpm, "configured_concurrency": self.model_concurrency,
                "learned_rpm": round(rate, 2), "learned_tpm": int(spec.tpm * rate / spec.rpm),
                "learned_concurrency": round(num("conc", self.model_concurrency), 2),
                "in_flight": in_flight,
                "cooldown_remaining_s": max(0, num("cd_until") - now) / 1000,
                "escalation_level": int(num("streak")),
                "breaker": "open" if cooling and bf >= self.breaker_threshold else ("closed" if bf == 0 else "counting"),
                "breaker_failures": bf,
                "disabled_remaining_s": max(0, num("dis_until") - now) / 1000,
                "disabled_reason": state.get("dis_reason") if num("dis_until") > now else None,
                "last_probe_at_ms": last_probe or None,
                "probe_slot_busy_s": max(0, probe_ttl) / 1000 if probe_ttl and probe_ttl > 0 else 0,
            })
        return out

    def recent(self, specs: list[ModelSpec], minutes: int = 5) -> dict[str, dict]:
        """Calls, throttles and errors per model over the last ``minutes`` minutes."""
        self.flush()
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
        """Forget what was learned: limits back to the configured ones, unusable models back in play."""
        self.flush()
        keys = [key for spec in specs for key in self._keys(spec)]
        keys += [k for spec in specs for k in self.redis.scan_iter(f"{self.prefix}stats:{spec.id}:*")]
        if keys:
            self.redis.delete(*keys)
