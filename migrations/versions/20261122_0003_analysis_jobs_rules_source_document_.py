"""analysis jobs, rules source, document summary

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 02:43:38.122040
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('analyses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deferrals', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('rq_job_id', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('chunks', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('items_dropped', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('summary', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))

    # The offline rules reviewer's items carry source 'rules'.
    with op.batch_alter_table('feedback_items', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_feedback_items_source'), type_='check')
        batch_op.create_check_constraint('source', "source IN ('ai', 'rules', 'custom')")


def downgrade() -> None:
    with op.batch_alter_table('feedback_items', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_feedback_items_source'), type_='check')
        batch_op.create_check_constraint('source', "source IN ('ai', 'custom')")

    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_column('summary')

    with op.batch_alter_table('analyses', schema=None) as batch_op:
        batch_op.drop_column('items_dropped')
        batch_op.drop_column('chunks')
        batch_op.drop_column('rq_job_id')
        batch_op.drop_column('deferrals')

