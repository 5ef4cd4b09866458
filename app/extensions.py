"""Extensions, created unbound here and bound to an app in ``create_app`` with ``init_app``."""
from __future__ import annotations

import redis
from flask import Flask, current_app
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, scoped_session


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever spelling ops gave (postgres://, postgresql://)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def build_engine(url: str, **overrides) -> Engine:
    """An engine with the pool and timeouts we want on PostgreSQL and SQLite alike."""
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 15}, **overrides
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.close()

        return engine
    options = {
        "pool_pre_ping": True,
        "pool_size": 10,
        "max_overflow": 20,
        "pool_recycle": 1800,
        "pool_timeout": 5,
        "connect_args": {"connect_timeout": 3, "application_name": "ai-prism"},
    }
    options.update(overrides)
    return create_engine(url, **options)


class Database:
    """The SQLAlchemy engine and a request/job-scoped session, bound per app."""

    def __init__(self) -> None:
        # Thread-local scope; under gevent's monkey patching that is one session per greenlet. The
        # factory binds to the current app's engine, so several apps (tests) can live side by side.
        self.session: scoped_session[Session] = scoped_session(self._new_session)

    @staticmethod
    def _new_session() -> Session:
        return Session(bind=current_app.extensions["database"], expire_on_commit=False)

    def init_app(self, app: Flask) -> None:
        config = app.config
        pool = {} if config["DATABASE_URL"].startswith("sqlite") else {
            "pool_size": config.get("DB_POOL_SIZE", 10), "max_overflow": config.get("DB_MAX_OVERFLOW", 20),
            "pool_timeout": config.get("DB_POOL_TIMEOUT", 5.0), "pool_recycle": config.get("DB_POOL_RECYCLE", 1800),
        }
        app.extensions["database"] = build_engine(config["DATABASE_URL"], **pool)

        @app.teardown_appcontext
        def _remove_session(_exc):
            self.session.remove()

    @property
    def engine(self) -> Engine:
        return current_app.extensions["database"]


class RedisClients:
    """The app's Redis connections, in pools that cannot starve each other:

    - ``redis``: requests (sessions, queues, rate limits, shared model-chain state). Bounded at
      REDIS_MAX_CONNECTIONS per process; a request waits at most REDIS_POOL_TIMEOUT for a free one,
      then answers 503. Event streams never take a connection from it.
    - ``redis_probe``: the readiness checks, small and with short timeouts.
    - ``redis_events``: stream leases (the per-user cap), bounded at REDIS_EVENTS_MAX_CONNECTIONS.
      The event listener has one more connection of its own (``app.event_hub``).
    """

    def init_app(self, app: Flask) -> None:
        url, config = app.config["REDIS_URL"], app.config
        app.extensions["redis"] = redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(
            url, max_connections=config["REDIS_MAX_CONNECTIONS"], timeout=config["REDIS_POOL_TIMEOUT"],
            socket_connect_timeout=2, socket_timeout=10, health_check_interval=30,
        ))
        app.extensions["redis_probe"] = redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(
            url, max_connections=8, timeout=1, socket_connect_timeout=1, socket_timeout=1,
        ))
        app.extensions["redis_events"] = redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(
            url, max_connections=config["REDIS_EVENTS_MAX_CONNECTIONS"], timeout=2,
            socket_connect_timeout=2, socket_timeout=5, health_check_interval=30,
        ))

    @property
    def client(self) -> redis.Redis:
        return current_app.extensions["redis"]


db = Database()
redis_clients = RedisClients()
login_manager = LoginManager()
csrf = CSRFProtect()
