"""live chat: visitors' requests for a person, their messages (encrypted), staff availability

Revision ID: 0008
Revises: 0007
Create Date: 2027-01-10 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'live_chats',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('clinic', sa.String(length=64), nullable=False),
        sa.Column('sender_id', sa.String(length=128), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('question', sa.Text(), nullable=True),
        sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('staff_id', sa.Integer(), nullable=True),
        sa.Column('staff_email', sa.String(length=254), nullable=True),
        sa.Column('staff_name', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['staff_id'], ['staff_accounts.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('live_chats', schema=None) as batch_op:
        batch_op.create_index('ix_live_chats_clinic', ['clinic'], unique=False)
        batch_op.create_index('ix_live_chats_sender_id', ['sender_id'], unique=False)
        batch_op.create_index('ix_live_chats_status', ['status'], unique=False)
    op.create_table(
        'live_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('chat_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('who', sa.String(length=8), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('text', sa.Text(), nullable=True),
        sa.Column('triage', sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(['chat_id'], ['live_chats.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('live_messages', schema=None) as batch_op:
        batch_op.create_index('ix_live_messages_chat_id', ['chat_id'], unique=False)
    op.create_table(
        'live_presence',
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('clinic', sa.String(length=64), nullable=False),
        sa.Column('since', sa.DateTime(timezone=True), nullable=False),
        sa.Column('active_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['staff_accounts.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('account_id'),
    )
    with op.batch_alter_table('live_presence', schema=None) as batch_op:
        batch_op.create_index('ix_live_presence_clinic', ['clinic'], unique=False)


def downgrade() -> None:
    op.drop_table('live_presence')
    op.drop_table('live_messages')
    op.drop_table('live_chats')
