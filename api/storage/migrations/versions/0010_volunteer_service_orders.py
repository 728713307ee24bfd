"""volunteers and service orders: the volunteer role, volunteers, orders and their events

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# the roles as 0004 made them (pinned here: the models' list moves on)
OLD_ROLES = (
    "'public', 'resident', 'grid_worker', 'grid_leader', 'community_admin', 'street_admin', "
    "'department', 'planner', 'admin'"
)
NEW_ROLES = OLD_ROLES + ", 'volunteer'"
STATUSES = "'open', 'taken', 'done', 'confirmed', 'rated', 'expired', 'cancelled'"

TABLES = (
    """
CREATE TABLE volunteers (
    id SERIAL NOT NULL,
    user_id INTEGER NOT NULL,
    username VARCHAR(64) NOT NULL,
    grid_code VARCHAR(15) NOT NULL,
    community_code VARCHAR(12) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    skills VARCHAR(16)[] DEFAULT '{}' NOT NULL,
    active BOOLEAN DEFAULT true NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_volunteers PRIMARY KEY (id),
    CONSTRAINT fk_volunteers_user_id_users FOREIGN KEY(user_id) REFERENCES users (id)
        ON DELETE CASCADE,
    CONSTRAINT uq_volunteers_user_id UNIQUE (user_id),
    CONSTRAINT uq_volunteers_username UNIQUE (username),
    CONSTRAINT ck_volunteers_kind_known
        CHECK (kind IN ('party_member', 'building_lead', 'volunteer'))
)
""",
    f"""
CREATE TABLE service_orders (
    id BIGSERIAL NOT NULL,
    service VARCHAR(32) NOT NULL,
    station_id INTEGER NOT NULL,
    address TEXT,
    note TEXT,
    grid_code VARCHAR(15) NOT NULL,
    community_code VARCHAR(12) NOT NULL,
    resident VARCHAR(64),
    resident_phone VARCHAR(32),
    status VARCHAR(16) DEFAULT 'open' NOT NULL,
    posted_to VARCHAR(16) DEFAULT 'grid' NOT NULL,
    taken_by VARCHAR(64),
    stars SMALLINT,
    comment TEXT,
    receipt VARCHAR(32) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    repost_at TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    taken_at TIMESTAMP WITH TIME ZONE,
    done_at TIMESTAMP WITH TIME ZONE,
    closed_at TIMESTAMP WITH TIME ZONE,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    geom geometry(POINT,4326) NOT NULL,
    CONSTRAINT pk_service_orders PRIMARY KEY (id),
    CONSTRAINT fk_service_orders_station_id_stations FOREIGN KEY(station_id)
        REFERENCES stations (id),
    CONSTRAINT uq_service_orders_receipt UNIQUE (receipt),
    CONSTRAINT ck_service_orders_status_known CHECK (status IN ({STATUSES})),
    CONSTRAINT ck_service_orders_posted_to_known CHECK (posted_to IN ('grid', 'community')),
    CONSTRAINT ck_service_orders_stars_range CHECK (stars IS NULL OR stars BETWEEN 1 AND 5),
    CONSTRAINT ck_service_orders_who_ordered
        CHECK (resident IS NOT NULL OR resident_phone IS NOT NULL),
    CONSTRAINT ck_service_orders_geom_valid CHECK (geom IS NULL OR ST_IsValid(geom))
)
""",
    """
CREATE TABLE service_order_events (
    id BIGSERIAL NOT NULL,
    order_id BIGINT NOT NULL,
    at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    actor VARCHAR(64),
    from_status VARCHAR(16),
    to_status VARCHAR(16) NOT NULL,
    action VARCHAR(32) NOT NULL,
    data JSONB,
    CONSTRAINT pk_service_order_events PRIMARY KEY (id),
    CONSTRAINT fk_service_order_events_order_id_service_orders FOREIGN KEY(order_id)
        REFERENCES service_orders (id) ON DELETE CASCADE
)
""",
)
INDEXES = (
    "CREATE INDEX ix_volunteers_grid_code ON volunteers (grid_code)",
    "CREATE INDEX ix_volunteers_community_code ON volunteers (community_code)",
    "CREATE INDEX ix_service_orders_geom ON service_orders USING gist (geom)",
    "CREATE INDEX ix_service_orders_grid_code_status ON service_orders (grid_code, status)",
    "CREATE INDEX ix_service_orders_community_code_status"
    " ON service_orders (community_code, status)",
    "CREATE INDEX ix_service_orders_taken_by ON service_orders (taken_by)",
    "CREATE INDEX ix_service_orders_station_id_status ON service_orders (station_id, status)",
    "CREATE INDEX ix_service_order_events_order_id ON service_order_events (order_id)",
)


def _roles(listed: str) -> None:
    op.execute("ALTER TABLE users DROP CONSTRAINT ck_users_role_known")
    op.execute(f"ALTER TABLE users ADD CONSTRAINT ck_users_role_known CHECK (role IN ({listed}))")


def upgrade() -> None:
    _roles(NEW_ROLES)
    for statement in (*TABLES, *INDEXES):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE service_order_events")
    op.execute("DROP TABLE service_orders")
    op.execute("DROP TABLE volunteers")
    op.execute("DELETE FROM users WHERE role = 'volunteer'")
    _roles(OLD_ROLES)
