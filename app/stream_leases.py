"""The per-user cap on open event streams, across every web process of every instance.

Each open stream holds a lease in Redis: a member of the user's sorted set (scored by when it opened)
and a key of its own that expires unless its web process renews it. Opening a stream drops the
leases of streams whose process stopped renewing them (a crash, a lost instance) and, when the user
is over the cap, takes the oldest leases away; the processes holding those streams hear it on the
control channel (or at their next renewal) and close them with a `reconnect` event.
"""
from __future__ import annotations

import time

USER_KEY = "ai-prism:streams:user:{user_id}"
LEASE_PREFIX = "ai-prism:streams:lease:"
CLOSE_CHANNEL = "ai-prism:events:db{db}:streams:close"  # per database, as document channels are

# KEYS[1] the user's set; ARGV: stream id, opened at, cap, lease seconds, lease key prefix.
_ACQUIRE = """
local prefix = ARGV[5]
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('SET', prefix .. ARGV[1], '1', 'EX', ARGV[4])
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if redis.call('EXISTS', prefix .. member) == 0 then redis.call('ZREM', KEYS[1], member) end
end
local evicted = {}
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if extra > 0 then
  evicted = redis.call('ZRANGE', KEYS[1], 0, extra - 1)
  for _, member in ipairs(evicted) do
    redis.call('ZREM', KEYS[1], member)
    redis.call('DEL', prefix .. member)
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return evicted
"""


class StreamLeases:
    """Leases on the ``redis_events`` pool, never the requests' pool."""

    def __init__(self, redis, cap: int, lease_s: int):
        self.redis, self.cap, self.lease_s = redis, cap, lease_s
        self._acquire = redis.register_script(_ACQUIRE)
        self.close_channel = CLOSE_CHANNEL.format(db=int(redis.connection_pool.connection_kwargs.get("db") or 0))

    def acquire(self, user_id: int, stream_id: str) -> list[str]:
        """Take a lease for a new stream; returns the ids of the streams it pushed over the cap."""
        evicted = self._acquire(keys=[USER_KEY.format(user_id=user_id)],
                                args=[stream_id, f"{time.time():.6f}", self.cap, self.lease_s, LEASE_PREFIX])
        evicted = [m.decode() if isinstance(m, bytes) else m for m in evicted]
        if evicted:
            self.redis.publish(self.close_channel, " ".join(evicted))
        return evicted

    def renew(self, leases: list[tuple[int, str]]) -> list[str]:
        """Extend the leases of streams still open here; returns those whose lease is gone (taken by
        the cap while the close message was missed, or expired), which must close."""
        if not leases:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for user_id, stream_id in leases:
            pipe.set(LEASE_PREFIX + stream_id, "1", ex=self.lease_s, xx=True)
            pipe.expire(USER_KEY.format(user_id=user_id), self.lease_s)
        results = pipe.execute()
        return [stream_id for (_, stream_id), kept in zip(leases, results[::2]) if not kept]

    def release(self, user_id: int, stream_id: str) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.zrem(USER_KEY.format(user_id=user_id), stream_id)
        pipe.delete(LEASE_PREFIX + stream_id)
        pipe.execute()

    def open_count(self, user_id: int) -> int:
        return self.redis.zcard(USER_KEY.format(user_id=user_id))
