"""review state: each section's current analysis, superseded / edited / quote-missing items

Revision ID: 0004_state
Revises: 0004_exports
Create Date: 2026-12-02 14:50:00

Data: a section's current analysis becomes today's newest one; an undecided AI item outside the
current analyses (the ones the old "newest analysis" rule hid) is marked superseded; a decided item
is never superseded, so the accepted work the old rule hid after section edits shows again.
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0004_state'
down_revision = '0004_exports'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('current_analysis_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_sections_current_analysis_id'), ['current_analysis_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_sections_current_analysis_id_analyses'), 'analyses',
                                    ['current_analysis_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('feedback_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edited', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('superseded', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('quote_missing', sa.Boolean(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_feedback_items_superseded'), ['superseded'], unique=False)

    conn = op.get_bind()
    conn.execute(sa.text(
        "UPDATE sections SET current_analysis_id = "
        "(SELECT max(a.id) FROM analyses a WHERE a.section_id = sections.id)"))
    edited = set()
    for item_id, after in conn.execute(sa.text(
            "SELECT feedback_item_id, after FROM review_events WHERE action = 'edit' AND feedback_item_id IS NOT NULL")):
        if isinstance(after, str):
            after = json.loads(after)
        if (after or {}).get('outcome') == 'applied':
            edited.add(item_id)
    for item_id in sorted(edited):
        conn.execute(sa.text("UPDATE feedback_items SET edited = :yes WHERE id = :id"), {"yes": True, "id": item_id})
    conn.execute(sa.text(
        "UPDATE feedback_items SET superseded = :yes "
        "WHERE source <> 'custom' AND status = 'pending' AND edited = :no AND (analysis_id IS NULL OR analysis_id NOT IN "
        "(SELECT current_analysis_id FROM sections WHERE current_analysis_id IS NOT NULL))"),
        {"yes": True, "no": False})


def downgrade() -> None:
    with op.batch_alter_table('feedback_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_items_superseded'))
        batch_op.drop_column('quote_missing')
        batch_op.drop_column('superseded')
        batch_op.drop_column('edited')

    with op.batch_alter_table('sections', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_sections_current_analysis_id_analyses'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_sections_current_analysis_id'))
        batch_op.drop_column('current_analysis_id')
