"""auth: token scopes and expiry, account events, no analyst role

Revision ID: 0004_auth
Revises: 0003
Create Date: 2026-12-02 14:40:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004_auth'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'account_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor_email', sa.String(length=320), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('user_email', sa.String(length=320), nullable=False),
        sa.Column('action', sa.String(length=30), nullable=False),
        sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("action IN ('create', 'disable', 'enable', 'reset_password')", name=op.f('ck_account_events_action')),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_account_events_actor_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_account_events_user_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_account_events')),
    )
    with op.batch_alter_table('account_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_events_user_id'), ['user_id'], unique=False)

    # The analyst role never meant anything: analysts could do what reviewers do, so they become reviewers.
    op.execute("UPDATE users SET role = 'reviewer' WHERE role = 'analyst'")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_role'), type_='check')
        batch_op.create_check_constraint('role', "role IN ('reviewer', 'admin')")

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.String(length=10), server_default='full', nullable=False))
        batch_op.create_check_constraint('scope', "scope IN ('full', 'read')")
    # Tokens made before tokens expired now expire 90 days from this migration (the default life).
    api_tokens = sa.table('api_tokens', sa.column('expires_at', sa.DateTime(timezone=True)))
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute("UPDATE api_tokens SET expires_at = now() + interval '90 days' WHERE expires_at IS NULL")
    else:
        op.execute(api_tokens.update().where(api_tokens.c.expires_at.is_(None))
                   .values(expires_at=sa.text("datetime('now', '+90 days')")))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_role'), type_='check')
        batch_op.create_check_constraint('role', "role IN ('reviewer', 'analyst', 'admin')")
    with op.batch_alter_table('account_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_events_user_id'))
    op.drop_table('account_events')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_api_tokens_scope'), type_='check')
        batch_op.drop_column('scope')
