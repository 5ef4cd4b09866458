"""Fair dispatch of analyses: one user's thousands of jobs never make another user's one wait.

An analysis job is created in Redis at once (its RQ job hash, under its deterministic id), but its id
goes to a list of its user's own, not to RQ's `analysis` queue. A ring of user ids says whose turn is
next. `feed` moves job ids from the users' lists into RQ's queue one user at a time, round-robin, and
only as many as there are job processes idle to take them, so RQ's queue stays about empty and a job
that arrives is never behind more than a turn of the ring. A user who had nothing waiting enters the
ring at its head: a light user's single analysis is the next one fed.

Both steps are Lua scripts, atomic across every web worker, job process and instance. `feed` runs
when jobs are submitted, in every job process before it takes its next job, in the worker's
scheduler process every second and on each `flask scheduler` tick; running it more often than needed
is harmless (it moves nothing when no job process is idle).

State: Redis holds only copies. The database rows are the truth: after a Redis flush the reconciler
finds the analyses whose jobs vanished and submits them again through here.
"""
from __future__ import annotations

from redis import Redis
from rq import Queue
from rq.job import Job
from rq.worker_registration import WORKERS_BY_QUEUE_KEY

PREFIX = "ai-prism:fair:analysis:"
RING_KEY = PREFIX + "ring"  # user ids with jobs waiting, each once, in turn order
USER_KEY = PREFIX + "user:"  # + user id: that user's waiting job ids, oldest first
LATER_KEY = PREFIX + "later"  # deferred jobs: "{user}|{job id}" scored by when they are due
NO_USER = "none"  # analyses whose requester was deleted share one turn
# RQ's own key names, read from RQ so an upgrade keeps them in step.
RQ_JOB_PREFIX = Job.redis_job_namespace_prefix  # + job id: the job's hash
RQ_QUEUE_PREFIX = Queue.redis_queue_namespace_prefix  # + queue name: the list workers take jobs from
RQ_WORKERS_OF_QUEUE = WORKERS_BY_QUEUE_KEY  # % queue name: keys of the RQ workers listening on it
RQ_QUEUES = Queue.redis_queues_keys
BATCH = 500  # jobs per submit script: each script blocks Redis briefly, the pipeline sends them together
MAX_MOVES = 1000  # jobs one feed may move (bounds the script's time)

# KEYS: ring, the user's list, the deferred set. ARGV: user id, job key prefix, due time ('' for now),
# then per job: id, n, n field/value items. A job whose hash already exists is left alone: the same id
# is never queued twice. A job with a due time waits in the deferred set until `feed` finds it due.
_SUBMIT = """
local added = 0
local i = 4
while i <= #ARGV do
  local id, n = ARGV[i], tonumber(ARGV[i + 1])
  local key = ARGV[2] .. id
  if redis.call('EXISTS', key) == 0 then
    redis.call('HSET', key, unpack(ARGV, i + 2, i + 1 + n))
    if ARGV[3] == '' then
      redis.call('RPUSH', KEYS[2], id)
    else
      redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1] .. '|' .. id)
    end
    added = added + 1
  end
  i = i + 2 + n
end
if added > 0 and ARGV[3] == '' and not redis.call('LPOS', KEYS[1], ARGV[1]) then
  redis.call('LPUSH', KEYS[1], ARGV[1])
end
return added
"""

# KEYS: ring, RQ queue, RQ workers of that queue, RQ's set of queues, the deferred set.
# ARGV: user list prefix, job key prefix, idle job processes to add to those Redis shows, most to move.
# First, deferred jobs that are due go back to the front of their user's list (the user rejoins the
# ring at its end). Then one job per user moves in ring order while job processes are idle; ids whose
# job is no longer queued (cancelled, deleted) are skipped; a user whose list is empty leaves the ring.
_FEED = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))) do
  local bar = string.find(member, '|', 1, true)
  local user = string.sub(member, 1, bar - 1)
  redis.call('LPUSH', ARGV[1] .. user, string.sub(member, bar + 1))
  if not redis.call('LPOS', KEYS[1], user) then redis.call('RPUSH', KEYS[1], user) end
  redis.call('ZREM', KEYS[5], member)
end
local idle = tonumber(ARGV[3])
for _, worker in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if redis.call('HGET', worker, 'state') == 'idle' then idle = idle + 1 end
end
local want = math.min(idle - redis.call('LLEN', KEYS[2]), tonumber(ARGV[4]))
local moved, skipped = 0, 0
while moved < want and skipped < 10000 do
  local user = redis.call('LPOP', KEYS[1])
  if not user then break end
  local list = ARGV[1] .. user
  while skipped < 10000 do
    local id = redis.call('LPOP', list)
    if not id then break end
    if redis.call('HGET', ARGV[2] .. id, 'status') == 'queued' then
      redis.call('RPUSH', KEYS[2], id)
      moved = moved + 1
      break
    end
    skipped = skipped + 1
  end
  if redis.call('LLEN', list) > 0 then redis.call('RPUSH', KEYS[1], user) end
end
if moved > 0 then redis.call('SADD', KEYS[4], KEYS[2]) end
return {moved, skipped}
"""

# KEYS: ring, the deferred set. ARGV: user list prefix. Jobs waiting in the users' lists or deferred.
_BACKLOG = """
local total = redis.call('ZCARD', KEYS[2])
for _, user in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  total = total + redis.call('LLEN', ARGV[1] .. user)
end
return total
"""


def _scripts(connection: Redis):
    """The scripts bound to ``connection`` (redis-py loads each once, then runs it by its sha)."""
    return tuple(connection.register_script(s) for s in (_SUBMIT, _FEED, _BACKLOG))


def _owner(user_id: int | None) -> str:
    return NO_USER if user_id is None else str(int(user_id))


def submit(connection: Redis, user_id: int | None, jobs, queue_name: str = "analysis",
           due_at: float | None = None) -> None:
    """Create ``jobs`` (RQ Job objects, not yet saved) and put them in ``user_id``'s turn, then feed
    idle job processes: all in one pipeline. Jobs whose id already exists are skipped. With ``due_at``
    (a Unix time) they wait in the deferred set until then, and then take their user's next turn."""
    submit_script, feed_script, _ = _scripts(connection)
    owner = _owner(user_id)
    with connection.pipeline(transaction=False) as pipe:
        for start in range(0, len(jobs), BATCH):
            args: list = [owner, RQ_JOB_PREFIX, "" if due_at is None else repr(float(due_at))]
            for job in jobs[start:start + BATCH]:
                fields = [item for pair in job.to_dict().items() for item in pair]
                args += [job.id, len(fields), *fields]
            submit_script(keys=[RING_KEY, USER_KEY + owner, LATER_KEY], args=args, client=pipe)
        _feed_on(feed_script, pipe, queue_name, 0)
        pipe.execute()


def _feed_on(feed_script, client, queue_name: str, extra_idle: int):
    return feed_script(
        keys=[RING_KEY, RQ_QUEUE_PREFIX + queue_name, RQ_WORKERS_OF_QUEUE % queue_name, RQ_QUEUES, LATER_KEY],
        args=[USER_KEY, RQ_JOB_PREFIX, extra_idle, MAX_MOVES], client=client)


def feed(connection: Redis, extra_idle: int = 0, queue_name: str = "analysis") -> int:
    """Move waiting jobs into RQ's queue, one user at a time, for the job processes that are idle
    (plus ``extra_idle``: a job process about to take its next job counts itself). Returns how many
    were moved."""
    moved, _ = _feed_on(_scripts(connection)[1], connection, queue_name, extra_idle)
    return int(moved)


def backlog(connection: Redis) -> int:
    """Jobs waiting for their turn or deferred (not yet in RQ's queue)."""
    return int(_scripts(connection)[2](keys=[RING_KEY, LATER_KEY], args=[USER_KEY]))


def deferred_count(connection: Redis) -> int:
    return int(connection.zcard(LATER_KEY))


def waiting_by_user(connection: Redis) -> dict[str, int]:
    """Jobs waiting per user id, in turn order (for the admin page and tests)."""
    users = [u.decode() if isinstance(u, bytes) else u for u in connection.lrange(RING_KEY, 0, -1)]
    with connection.pipeline(transaction=False) as pipe:
        for user in users:
            pipe.llen(USER_KEY + user)
        counts = pipe.execute()
    return dict(zip(users, counts))
