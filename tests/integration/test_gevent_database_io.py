"""The database driver does not block a gevent worker: while one request waits on a slow query
(pg_sleep in PostgreSQL), another request on the same worker, with its own query, is answered at once.

One gunicorn master with ONE gevent worker (gunicorn.conf.py as deployed), real PostgreSQL. psycopg 3
sees gevent's monkey-patching when it is imported and then waits for the server through the patched
``select``, which yields to other greenlets; its C wait function (``wait_c``) would block the worker's
only OS thread. The second test forces that function (PSYCOPG_WAIT_FUNC, psycopg's own switch) and
shows the quick requests then wait for the slow one: the measurement can tell the two apart."""
from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.support.processes import Gunicorn, process_env

pytestmark = pytest.mark.slow
SLOW_S = 3.0


def measure(database_url, redis_url, tmp_path, **extra_env) -> tuple[list[float], float, dict]:
    """(quick request times, when the quick ones were all done, the slow request) on one gevent worker."""
    env = process_env(database_url, redis_url, str(tmp_path / "storage"), DB_POOL_SIZE="4", DB_MAX_OVERFLOW="0", **extra_env)
    web = Gunicorn(env, workers=1, log_path=tmp_path / "gunicorn.log", app_spec="tests.support.slow_query_app:application")
    try:
        web.wait_ready()
        assert len(web.worker_pids()) == 1
        # Warm the worker: the first database request opens the pool's first connection.
        assert requests.get(f"{web.url}/test/query", timeout=10).json() == {"slept": 0.0}
        slow: dict = {}

        def slow_request():
            started = time.monotonic()
            slow["response"] = requests.get(f"{web.url}/test/query", params={"sleep": SLOW_S}, timeout=30)
            slow["finished"] = time.monotonic()
            slow["seconds"] = slow["finished"] - started

        thread = threading.Thread(target=slow_request)
        thread.start()
        time.sleep(0.5)  # the slow query is in PostgreSQL now
        quick_times = []
        for _ in range(5):
            started = time.monotonic()
            response = requests.get(f"{web.url}/test/query", timeout=30)
            quick_times.append(time.monotonic() - started)
            assert response.status_code == 200
        quick_done = time.monotonic()
        thread.join(timeout=30)
        assert slow["response"].status_code == 200 and slow["seconds"] >= SLOW_S
        return quick_times, quick_done, slow
    finally:
        web.stop()


def test_slow_query_does_not_delay_another_request_on_the_same_gevent_worker(database_url, redis_url, tmp_path):
    quick_times, quick_done, slow = measure(database_url, redis_url, tmp_path)
    # Every quick request was answered while the slow one was still waiting on PostgreSQL.
    assert quick_done < slow["finished"], (quick_times, slow)
    assert max(quick_times) < 1.0, quick_times


def test_a_blocking_wait_would_be_seen(database_url, redis_url, tmp_path):
    quick_times, quick_done, slow = measure(database_url, redis_url, tmp_path, PSYCOPG_WAIT_FUNC="wait_c")
    # The first quick request could only start once the slow query had returned.
    assert quick_times[0] >= SLOW_S - 1.0, quick_times
    assert quick_done >= slow["finished"] - 0.2, (quick_times, slow)
