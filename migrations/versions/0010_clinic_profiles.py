"""clinic profiles in the database (as JSON, validated by bot/core/clinics.py) and one settings version

Revision ID: 0010
Revises: 0009
Create Date: 2027-01-20 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'clinics',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('profile', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=254), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    # One row: every process compares its number with this one per turn and reloads the profiles when it moved.
    # 0 means no profile was ever saved here: the processes read the clinics file.
    version = op.create_table(
        'settings_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.bulk_insert(version, [{'id': 1, 'version': 0}])


def downgrade() -> None:
    op.drop_table('settings_version')
    op.drop_table('clinics')
