"""red points: the append-only ledger of points earned and exchanged, the rewards on offer

Revision ID: 0011
Revises: 0010
"""

from alembic import op  # noqa: F401

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
