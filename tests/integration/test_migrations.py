"""One Alembic head; migrations build the schema the models describe, on PostgreSQL and SQLite."""
import os
import uuid

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from app.cli import alembic_config, upgrade_database
from app.extensions import build_engine
from app.models import Base


def _diff(url: str) -> list:
    engine = build_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def test_single_head():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


def test_postgres_schema_matches_models(database_url):
    assert _diff(database_url) == []


def test_sqlite_upgrade_and_schema_matches_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade_database(url)
    assert _diff(url) == []


def test_postgres_downgrade_to_base_and_back(services):
    # A name of its own, so suites running side by side never drop each other's database.
    name = f"aiprism_migration_roundtrip_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(services.postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = services.database_url(name)
    try:
        from alembic import command

        upgrade_database(url)
        command.downgrade(alembic_config(url), "base")
        upgrade_database(url)
        assert _diff(url) == []
    finally:
        with psycopg.connect(services.postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
