"""versions of a document and revision checks

Revision ID: 0005_i19
Revises: 0004_state
Create Date: 2026-12-02 17:50:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005_i19'
down_revision = '0004_state'
branch_labels = None
depends_on = None


def _json():
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('previous_version_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.create_index(batch_op.f('ix_documents_previous_version_id'), ['previous_version_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_documents_previous_version_id_documents'), 'documents',
                                    ['previous_version_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('carry_forward', sa.Boolean(), server_default='0', nullable=False))
    op.create_table(
        'revision_checks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('document_id', sa.Integer(), nullable=False),
        sa.Column('previous_id', sa.Integer(), nullable=False),
        sa.Column('requested_by', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('alignment', _json(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('deferrals', sa.Integer(), nullable=False),
        sa.Column('deferred_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('rq_job_id', sa.String(length=100), nullable=True),
        sa.Column('model_calls', sa.Integer(), nullable=False),
        sa.Column('error_code', sa.String(length=100), nullable=True),
        sa.Column('error_message', sa.Text(), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint("status IN ('queued', 'running', 'deferred', 'completed', 'failed')",
                           name=op.f('ck_revision_checks_status')),
        sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_revision_checks_document_id_documents'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['previous_id'], ['documents.id'], name=op.f('fk_revision_checks_previous_id_documents'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['requested_by'], ['users.id'], name=op.f('fk_revision_checks_requested_by_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_revision_checks')),
        sa.UniqueConstraint('document_id', name=op.f('uq_revision_checks_document_id')),
    )
    op.create_index(op.f('ix_revision_checks_previous_id'), 'revision_checks', ['previous_id'], unique=False)
    op.create_index(op.f('ix_revision_checks_status'), 'revision_checks', ['status'], unique=False)
    op.create_table(
        'revision_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('check_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('group_index', sa.Integer(), nullable=False),
        sa.Column('location', sa.String(length=20), nullable=False),
        sa.Column('v2_section_id', sa.Integer(), nullable=True),
        sa.Column('located_start', sa.Integer(), nullable=True),
        sa.Column('located_end', sa.Integer(), nullable=True),
        sa.Column('new_text', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('removal_addresses', sa.Boolean(), nullable=True),
        sa.Column('new_quote', sa.Text(), nullable=True),
        sa.Column('new_quote_section_id', sa.Integer(), nullable=True),
        sa.Column('new_quote_start', sa.Integer(), nullable=True),
        sa.Column('new_quote_end', sa.Integer(), nullable=True),
        sa.Column('verified', sa.Boolean(), nullable=False),
        sa.Column('judged_by', sa.String(length=200), nullable=True),
        sa.Column('checked_status', sa.String(length=20), nullable=True),
        sa.Column('overridden_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint("status IS NULL OR status IN ('open', 'addressed', 'partly', 'quote_gone')",
                           name=op.f('ck_revision_items_status')),
        sa.CheckConstraint("location IN ('exact', 'moved', 'changed', 'gone', 'unquoted')",
                           name=op.f('ck_revision_items_location')),
        sa.ForeignKeyConstraint(['check_id'], ['revision_checks.id'], name=op.f('fk_revision_items_check_id_revision_checks'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['item_id'], ['feedback_items.id'], name=op.f('fk_revision_items_item_id_feedback_items'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['v2_section_id'], ['sections.id'], name=op.f('fk_revision_items_v2_section_id_sections'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['new_quote_section_id'], ['sections.id'], name=op.f('fk_revision_items_new_quote_section_id_sections'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['overridden_by'], ['users.id'], name=op.f('fk_revision_items_overridden_by_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_revision_items')),
        sa.UniqueConstraint('check_id', 'item_id', name=op.f('uq_revision_items_check_id')),
    )
    op.create_index(op.f('ix_revision_items_check_id'), 'revision_items', ['check_id'], unique=False)
    op.create_index(op.f('ix_revision_items_item_id'), 'revision_items', ['item_id'], unique=False)


def downgrade() -> None:
    op.drop_table('revision_items')
    op.drop_table('revision_checks')
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.drop_column('carry_forward')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_documents_previous_version_id_documents'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_documents_previous_version_id'))
        batch_op.drop_column('version')
        batch_op.drop_column('previous_version_id')
