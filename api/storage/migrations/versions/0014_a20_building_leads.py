"""building leads answer for their buildings: the buildings of a volunteer or worker lead, and
a note on a notice recipient (a lead with no building known)

Revision ID: 0014_a20
Revises: 0014 (0014_o20_order_notifications; the lead may reorder the two 0014s)
"""

from alembic import op

revision = "0014_a20"
down_revision = "0014"
branch_labels = None
depends_on = None

UPGRADE = (
    "ALTER TABLE volunteers ADD COLUMN building_ids VARCHAR(64)[] DEFAULT '{}' NOT NULL",
    "ALTER TABLE workers ADD COLUMN building_ids VARCHAR(64)[] DEFAULT '{}' NOT NULL",
    "ALTER TABLE notice_recipients ADD COLUMN note TEXT",
)


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    op.execute("ALTER TABLE notice_recipients DROP COLUMN note")
    op.execute("ALTER TABLE workers DROP COLUMN building_ids")
    op.execute("ALTER TABLE volunteers DROP COLUMN building_ids")
