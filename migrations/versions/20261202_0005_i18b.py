"""custom item deletion keeps its audit; a reviewer's own confidence threshold

Revision ID: 0005_i18b
Revises: 0004_state
Create Date: 2026-12-02 17:50:00

review_events.feedback_item_id becomes ON DELETE SET NULL (was CASCADE): deleting a reviewer's own
custom item keeps every event about it, the `delete` event included (its `before` holds the item).
users.min_confidence: the threshold a reviewer chose for themselves (never below MIN_CONFIDENCE).
"""
import sqlalchemy as sa
from alembic import op

revision = '0005_i18b'
down_revision = '0005_i19'
branch_labels = None
depends_on = None

FK = 'fk_review_events_feedback_item_id_feedback_items'


def upgrade() -> None:
    with op.batch_alter_table('review_events', schema=None) as batch_op:
        batch_op.drop_constraint(FK, type_='foreignkey')
        batch_op.create_foreign_key(FK, 'feedback_items', ['feedback_item_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('min_confidence', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('min_confidence')
    with op.batch_alter_table('review_events', schema=None) as batch_op:
        batch_op.drop_constraint(FK, type_='foreignkey')
        batch_op.create_foreign_key(FK, 'feedback_items', ['feedback_item_id'], ['id'], ondelete='CASCADE')
