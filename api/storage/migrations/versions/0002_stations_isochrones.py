"""stations: catalog fields, isochrones and coverage (issue 5)

Adds the station's public phone and where its point came from (given, or geocoded from its
address), tightens the star rating to 3–5 (the 1+6+X rating scale), and the `isochrones` table:
one 5/10/15-minute walking circle per station, minute value and speed.

Revision ID: 0002
Revises: 0001
"""

import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("stations", sa.Column("phone", sa.String(length=32), nullable=True))
    op.add_column(
        "stations",
        sa.Column(
            "location_source",
            sa.String(length=16),
            server_default=sa.text("'given'"),
            nullable=False,
        ),
    )
    op.create_check_constraint(
        op.f("ck_stations_location_source_known"),
        "stations",
        "location_source IN ('given', 'geocoded')",
    )
    op.drop_constraint(op.f("ck_stations_stars_range"), "stations", type_="check")
    op.create_check_constraint(
        op.f("ck_stations_stars_range"), "stations", "stars IS NULL OR stars BETWEEN 3 AND 5"
    )
    op.create_table(
        "isochrones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Float(), nullable=False),
        sa.Column("speed_kmh", sa.Float(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column(
            "computed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.CheckConstraint(
            "geom IS NULL OR ST_IsValid(geom)", name=op.f("ck_isochrones_geom_valid")
        ),
        sa.CheckConstraint("minutes > 0", name=op.f("ck_isochrones_minutes_positive")),
        sa.CheckConstraint("speed_kmh > 0", name=op.f("ck_isochrones_speed_positive")),
        sa.CheckConstraint(
            "method IN ('network', 'buffer')", name=op.f("ck_isochrones_method_known")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_isochrones_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_isochrones")),
        sa.UniqueConstraint(
            "station_id", "minutes", "speed_kmh", name=op.f("uq_isochrones_station_id")
        ),
    )
    op.create_index("ix_isochrones_geom", "isochrones", ["geom"], postgresql_using="gist")


def downgrade() -> None:
    op.drop_index("ix_isochrones_geom", table_name="isochrones", postgresql_using="gist")
    op.drop_table("isochrones")
    op.drop_constraint(op.f("ck_stations_stars_range"), "stations", type_="check")
    op.create_check_constraint(
        op.f("ck_stations_stars_range"), "stations", "stars IS NULL OR stars BETWEEN 1 AND 5"
    )
    op.drop_constraint(op.f("ck_stations_location_source_known"), "stations", type_="check")
    op.drop_column("stations", "location_source")
    op.drop_column("stations", "phone")
