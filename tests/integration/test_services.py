"""The suite runs on real servers: the machine's, or embedded ones when asked or when absent."""
import os

import psycopg
import redis as redis_lib


def test_real_postgres_and_redis_answer(services, redis_url):
    with psycopg.connect(services.postgres_admin_url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert redis_lib.Redis.from_url(redis_url).ping()
    if os.environ.get("TEST_SERVICES") == "embedded":
        assert (services.postgres_kind, services.redis_kind) == ("embedded", "embedded")
    print(f"postgres: {services.postgres_kind}, redis: {services.redis_kind}")
