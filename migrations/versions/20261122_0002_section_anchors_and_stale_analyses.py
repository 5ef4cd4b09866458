"""section anchors and stale analyses

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:06:40.954818
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('analyses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stale', sa.Boolean(), server_default='0', nullable=False))

    with op.batch_alter_table('sections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anchors', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), server_default='[]', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('sections', schema=None) as batch_op:
        batch_op.drop_column('anchors')

    with op.batch_alter_table('analyses', schema=None) as batch_op:
        batch_op.drop_column('stale')

