"""household visits and the grid workers' monthly assessment

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLE = """
CREATE TABLE household_visits (
    id BIGSERIAL NOT NULL,
    worker_id INTEGER NOT NULL,
    username VARCHAR(64) NOT NULL,
    building_id VARCHAR(64) NOT NULL,
    grid_code VARCHAR(15),
    community_code VARCHAR(12),
    visited_at TIMESTAMP WITH TIME ZONE NOT NULL,
    recorded_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    accuracy_m DOUBLE PRECISION,
    distance_m DOUBLE PRECISION NOT NULL,
    status VARCHAR(16) NOT NULL,
    flag_reason VARCHAR(32),
    households_seen INTEGER NOT NULL,
    note TEXT,
    CONSTRAINT pk_household_visits PRIMARY KEY (id),
    CONSTRAINT fk_household_visits_worker_id_workers FOREIGN KEY(worker_id)
        REFERENCES workers (id) ON DELETE CASCADE,
    CONSTRAINT ck_household_visits_status_known CHECK (status IN ('accepted', 'flagged')),
    CONSTRAINT ck_household_visits_flag_explained
        CHECK ((status = 'flagged') = (flag_reason IS NOT NULL)),
    CONSTRAINT ck_household_visits_households_nonnegative CHECK (households_seen >= 0),
    CONSTRAINT ck_household_visits_distance_nonnegative CHECK (distance_m >= 0)
)
"""


def upgrade() -> None:
    op.execute(TABLE)
    op.execute(
        "CREATE INDEX ix_household_visits_worker_id_visited_at"
        " ON household_visits (worker_id, visited_at)"
    )
    op.execute(
        "CREATE INDEX ix_household_visits_grid_code_visited_at"
        " ON household_visits (grid_code, visited_at)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE household_visits")
