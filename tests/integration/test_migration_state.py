"""Migration 0004_state on existing data, PostgreSQL and SQLite: each section's current analysis is
its newest, undecided items the old "newest analysis" rule hid stay hidden (superseded), and decided
items it hid show again; an applied edit in the audit marks its item edited."""
import os
import uuid

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command

from app.cli import alembic_config
from app.extensions import build_engine

ROWS = """
INSERT INTO users (id, email, display_name, password_hash, role, is_active_account, auth_version)
  VALUES (1, 'a@example.com', 'A', 'x', 'reviewer', true, 1);
INSERT INTO documents (id, user_id, title, original_filename, file_format, content_type, size_bytes, sha256, storage_key, status)
  VALUES (1, 1, 'Case', 'case.docx', 'docx', 'x', 1, 'x', 'k', 'completed');
INSERT INTO sections (id, document_id, position, title, level, text, detection) VALUES
  (1, 1, 0, 'Merged', 1, 'One.\nTwo.', 'heading'), (2, 1, 1, 'Never analysed', 1, 'Three.', 'heading');
INSERT INTO analyses (id, document_id, section_id, status, progress, attempts, degraded) VALUES
  (1, 1, 1, 'completed', 1, 1, false), (2, 1, 1, 'completed', 1, 1, false);
INSERT INTO feedback_items (id, document_id, section_id, analysis_id, source, type, category, risk_level, description,
                            questions, hawkeye_refs, verified, status, version) VALUES
  (1, 1, 1, 1, 'ai', 'important', 'c', 'Low', 'hidden and pending', '[]', '[]', false, 'pending', 1),
  (2, 1, 1, 1, 'ai', 'important', 'c', 'Low', 'hidden but accepted', '[]', '[]', false, 'accepted', 2),
  (3, 1, 1, 1, 'ai', 'important', 'c', 'Low', 'hidden but edited', '[]', '[]', false, 'pending', 2),
  (4, 1, 1, 2, 'ai', 'important', 'c', 'Low', 'live and pending', '[]', '[]', false, 'pending', 1),
  (5, 1, 2, NULL, 'custom', 'important', 'c', 'Low', 'custom', '[]', '[]', false, 'accepted', 1);
INSERT INTO review_events (id, document_id, feedback_item_id, user_id, action, before, after, created_at) VALUES
  (1, 1, 3, 1, 'edit', NULL, '{"outcome": "applied"}', CURRENT_TIMESTAMP),
  (2, 1, 1, 1, 'edit', NULL, '{"outcome": "conflict"}', CURRENT_TIMESTAMP);
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    services = request.getfixturevalue("services")
    name = f"aiprism_state_migration_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(services.postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield services.database_url(name)
    with psycopg.connect(services.postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_existing_rows_get_current_analyses_and_hidden_decided_items_back(url):
    config = alembic_config(url)
    command.upgrade(config, "0003")
    engine = build_engine(url)
    try:
        with engine.begin() as conn:
            for statement in filter(str.strip, ROWS.split(";")):
                conn.execute(sa.text(statement))
        command.upgrade(config, "0004_state")
        with engine.connect() as conn:
            current = dict(conn.execute(sa.text("SELECT id, current_analysis_id FROM sections")).all())
            items = {row.id: row for row in conn.execute(sa.text("SELECT id, superseded, edited, quote_missing FROM feedback_items"))}
        assert current == {1: 2, 2: None}
        assert {i for i, row in items.items() if row.superseded} == {1}
        assert {i for i, row in items.items() if row.edited} == {3}
        assert not any(row.quote_missing for row in items.values())
        command.downgrade(config, "0003")
    finally:
        engine.dispose()
