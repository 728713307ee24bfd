"""a change counter for the address base, bumped by statement triggers (issue 4)

An address edited in place leaves row counts and largest ids alone; the geocoding index
compares this counter too, so such an edit rebuilds it without an explicit call.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: Per table, the columns the address base is built from (api/storage/addresses.py).
COLUMNS = {
    "buildings": "building_id, address, name, footprint, location",
    "compounds": "compound_id, address, name, geom",
    "roads": "road_id, name, from_no, to_no, geom",
    "stations": "station_id, address, name, geom",
    "pois": "poi_id, address, name, geom",
    "districts": "name, geom",
}


def upgrade() -> None:
    op.execute("CREATE SEQUENCE address_base_changes")
    op.execute(
        "CREATE FUNCTION wangge_address_base_changed() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN PERFORM nextval('address_base_changes'); RETURN NULL; END $$"
    )
    for table, columns in COLUMNS.items():
        op.execute(
            f"CREATE TRIGGER {table}_address_base_changed "
            f"AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF {columns} ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION wangge_address_base_changed()"
        )


def downgrade() -> None:
    for table in COLUMNS:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_address_base_changed ON {table}")
    op.execute("DROP FUNCTION IF EXISTS wangge_address_base_changed()")
    op.execute("DROP SEQUENCE IF EXISTS address_base_changes")
