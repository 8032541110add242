"""health data encrypted at rest: text columns for ciphertext, keyed hashes to search by, existing rows encrypted

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 05:30:00
"""
from alembic import op
import sqlalchemy as sa

from bot.store.crypto import reencrypt


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# Columns that were narrower than a ciphertext, or JSON, now text; (table, column, PostgreSQL's cast).
WIDENED = [
    ('leads', 'name', None), ('leads', 'phone', None), ('leads', 'email', None), ('leads', 'preferred_time', None),
    ('leads', 'screening', 'screening::text'), ('leads', 'transcript', 'transcript::text'),
]


def upgrade() -> None:
    for table, column, cast in WIDENED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            options = {'postgresql_using': cast} if cast else {}
            batch_op.alter_column(column, type_=sa.Text(), **options)
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search', sa.Text(), nullable=True))
    reencrypt(op.get_bind())  # every existing lead, note and notification, under the current key


def downgrade() -> None:
    raise RuntimeError("health data stays encrypted: restore a backup taken before 0005 to go back")
