"""exports as first-class jobs: attempts, the RQ job carrying the export, when it started

Revision ID: 0004_exports
Revises: 0004_fair
Create Date: 2026-12-02 15:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_exports'
down_revision = '0004_fair'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('rq_job_id', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('started_at', sa.DateTime(timezone=True), nullable=True))
    # Exports made before this revision were enqueued under their deterministic id.
    op.execute("UPDATE exports SET rq_job_id = 'export-' || id WHERE rq_job_id IS NULL")


def downgrade() -> None:
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.drop_column('started_at')
        batch_op.drop_column('rq_job_id')
        batch_op.drop_column('attempts')
