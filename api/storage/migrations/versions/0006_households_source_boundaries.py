"""where a building's households come from, and approximate boundaries (issue 15)

buildings.households_source: 'register' (a household register, 楼栋台账), 'given' (a count in the
loaded file) or 'estimated' (from footprint and floors); households_rule: for estimates, the
rule that decided (residential or not, and why). streets/communities.boundary_source:
'official' (loaded from a published boundary) or 'approximate' (derived by a documented method
where none is published); official boundaries replace approximate ones.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SOURCES = ("register", "given", "estimated")
BOUNDARY_SOURCES = ("official", "approximate")


def upgrade() -> None:
    op.add_column("buildings", sa.Column("households_source", sa.String(16), nullable=True))
    op.add_column("buildings", sa.Column("households_rule", sa.Text(), nullable=True))
    op.execute(
        "UPDATE buildings SET households_source = "
        "CASE WHEN households_estimated THEN 'estimated' ELSE 'given' END"
    )
    op.alter_column(
        "buildings", "households_source", nullable=False, server_default=sa.text("'given'")
    )
    op.create_check_constraint(
        op.f("ck_buildings_households_source_known"),
        "buildings",
        f"households_source IN {SOURCES!r}",
    )
    for table in ("streets", "communities"):
        op.add_column(
            table,
            sa.Column(
                "boundary_source",
                sa.String(16),
                nullable=False,
                server_default=sa.text("'official'"),
            ),
        )
        op.create_check_constraint(
            op.f(f"ck_{table}_boundary_source_known"),
            table,
            f"boundary_source IN {BOUNDARY_SOURCES!r}",
        )


def downgrade() -> None:
    for table in ("communities", "streets"):
        op.drop_constraint(op.f(f"ck_{table}_boundary_source_known"), table, type_="check")
        op.drop_column(table, "boundary_source")
    op.drop_constraint(op.f("ck_buildings_households_source_known"), "buildings", type_="check")
    op.drop_column("buildings", "households_rule")
    op.drop_column("buildings", "households_source")
