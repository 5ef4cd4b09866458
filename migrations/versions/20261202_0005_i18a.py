"""document summaries written by the model, the learning loop's team and switch, what it changed

Data: documents.risk_score (the old count-based formula) is cleared; the summary job writes it again.

Revision ID: 0005_i18a
Revises: 0004_state
Create Date: 2026-12-02 18:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005_i18a'
down_revision = '0005_i18b'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'document_summaries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('document_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('risk_score', sa.Float(), nullable=True),
        sa.Column('reasons', JSON, nullable=False),
        sa.Column('key_risks', JSON, nullable=False),
        sa.Column('recommendations', JSON, nullable=False),
        sa.Column('compliance_concerns', JSON, nullable=False),
        sa.Column('verdict', sa.String(length=20), nullable=True),
        sa.Column('model_id', sa.String(length=200), nullable=True),
        sa.Column('provider', sa.String(length=30), nullable=True),
        sa.Column('error_code', sa.String(length=100), nullable=True),
        sa.Column('error_message', sa.Text(), nullable=True),
        sa.Column('runs', sa.Integer(), nullable=False),
        sa.Column('generated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("state IN ('pending', 'running', 'deferred', 'completed', 'failed', 'not_scored')",
                           name=op.f('ck_document_summaries_state')),
        sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_document_summaries_document_id_documents'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_document_summaries')),
        sa.UniqueConstraint('document_id', name=op.f('uq_document_summaries_document_id')),
    )
    op.create_table(
        'app_settings',
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('value', JSON, nullable=False),
        sa.Column('updated_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_app_settings_updated_by_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_app_settings')),
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_group', sa.String(length=100), nullable=True))
    with op.batch_alter_table('analyses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('learning', JSON, nullable=True))
    # The old score was a formula over item counts shown as if a model had judged the document: it
    # goes; each document is scored again by its next summary (after a decision or an analysis).
    op.execute("UPDATE documents SET risk_score = NULL")


def downgrade() -> None:
    with op.batch_alter_table('analyses', schema=None) as batch_op:
        batch_op.drop_column('learning')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('review_group')
    op.drop_table('app_settings')
    op.drop_table('document_summaries')
