"""chunk budget and the per-user cap: chunks_total, an index on (requested_by, status)

Revision ID: 0004_fair
Revises: 0004_auth
Create Date: 2026-12-02 14:50:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0004_fair'
down_revision = '0004_auth'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('analyses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chunks_total', sa.Integer(), nullable=True))
        batch_op.create_index('ix_analyses_requested_by_status', ['requested_by', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('analyses', schema=None) as batch_op:
        batch_op.drop_index('ix_analyses_requested_by_status')
        batch_op.drop_column('chunks_total')
