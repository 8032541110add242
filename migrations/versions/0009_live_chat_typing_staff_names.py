"""live chat: typing indicators both ways, and staff display names

Revision ID: 0009
Revises: 0008
Create Date: 2027-01-20 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('display_name', sa.String(length=64), nullable=True))
    with op.batch_alter_table('live_chats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visitor_typing_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('staff_typing_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('live_chats', schema=None) as batch_op:
        batch_op.drop_column('staff_typing_at')
        batch_op.drop_column('visitor_typing_at')
    with op.batch_alter_table('staff_accounts', schema=None) as batch_op:
        batch_op.drop_column('display_name')
