"""Alembic environment: runs on PostgreSQL and SQLite, online only.

The URL comes from a connection handed in by the app (``flask db upgrade`` and tests), or else from
the same settings the app reads (DATABASE_URL, or the embedded SQLite file).
"""
from logging.config import fileConfig

from alembic import context

from app.config import INSTANCE_DIR, load_settings
from app.extensions import build_engine
from app.models import Base
from app.models.base import UTCDateTime

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _render_item(type_, obj, autogen_context):
    """Write our column types as plain SQLAlchemy types so migrations never import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch mode rebuilds a SQLite table by copying it and dropping the old one; with foreign keys
        # enforced, dropping e.g. `sections` would cascade-delete every analysis, item and audit row.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        _configure_and_run(connection)
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


def _configure_and_run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=_render_item,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=False,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or load_settings()["DATABASE_URL"]
    if url.startswith("sqlite"):
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    engine = build_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run against a database.")
run_migrations_online()
