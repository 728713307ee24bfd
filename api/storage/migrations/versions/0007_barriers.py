"""barriers: water and rail lines grids should not cross (issue 15)

Lines from OSM (waterway=river/canal/stream, outlines of water areas, railway=rail/light_rail
above ground), kept apart from `roads` so that the walking network and geocoding never see
them. DB-mode grid generation reads them with the major roads as barriers.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLE = """
CREATE TABLE barriers (
    id SERIAL NOT NULL,
    barrier_id VARCHAR(64) NOT NULL,
    name VARCHAR(200),
    class VARCHAR(32) NOT NULL,
    geom geometry(MULTILINESTRING, 4326) NOT NULL,
    CONSTRAINT pk_barriers PRIMARY KEY (id),
    CONSTRAINT uq_barriers_barrier_id UNIQUE (barrier_id),
    CONSTRAINT ck_barriers_geom_valid CHECK (geom IS NULL OR ST_IsValid(geom))
)
"""


def upgrade() -> None:
    op.execute(TABLE)
    op.execute("CREATE INDEX ix_barriers_geom ON barriers USING gist (geom)")


def downgrade() -> None:
    op.execute("DROP TABLE barriers")
