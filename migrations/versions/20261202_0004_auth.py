"""auth: token scopes and expiry

Revision ID: 0004_auth
Revises: 0003
Create Date: 2026-12-02 14:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0004_auth'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
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
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_api_tokens_scope'), type_='check')
        batch_op.drop_column('scope')
