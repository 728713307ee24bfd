"""district notices: a notice to an area, its fan-out to each responsible person, acks

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLES = (
    """
CREATE TABLE notices (
    id BIGSERIAL NOT NULL,
    title VARCHAR(100) NOT NULL,
    body TEXT NOT NULL,
    level VARCHAR(16) NOT NULL,
    area JSONB NOT NULL,
    grid_codes VARCHAR(15)[] NOT NULL,
    sender VARCHAR(64) NOT NULL,
    sent_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    geom geometry(MULTIPOLYGON,4326),
    CONSTRAINT pk_notices PRIMARY KEY (id),
    CONSTRAINT ck_notices_level_known CHECK (level IN ('routine', 'emergency')),
    CONSTRAINT ck_notices_geom_valid CHECK (geom IS NULL OR ST_IsValid(geom))
)
""",
    """
CREATE TABLE notice_recipients (
    id BIGSERIAL NOT NULL,
    notice_id BIGINT NOT NULL,
    person VARCHAR(80) NOT NULL,
    username VARCHAR(64),
    worker_id INTEGER,
    name VARCHAR(100),
    role VARCHAR(32) NOT NULL,
    area_code VARCHAR(18) NOT NULL,
    grid_code VARCHAR(15),
    households INTEGER NOT NULL,
    delivered_at TIMESTAMP WITH TIME ZONE,
    acknowledged_at TIMESTAMP WITH TIME ZONE,
    households_reached INTEGER,
    CONSTRAINT pk_notice_recipients PRIMARY KEY (id),
    CONSTRAINT fk_notice_recipients_notice_id_notices FOREIGN KEY(notice_id)
        REFERENCES notices (id) ON DELETE CASCADE,
    CONSTRAINT fk_notice_recipients_worker_id_workers FOREIGN KEY(worker_id)
        REFERENCES workers (id) ON DELETE SET NULL,
    CONSTRAINT uq_notice_recipients_notice_id UNIQUE (notice_id, person, area_code),
    CONSTRAINT ck_notice_recipients_households_nonnegative CHECK (households >= 0),
    CONSTRAINT ck_notice_recipients_reached_bounded
        CHECK (households_reached IS NULL OR households_reached BETWEEN 0 AND households)
)
""",
)

OUTBOX = (
    "ALTER TABLE notifications ALTER COLUMN case_id DROP NOT NULL",
    "ALTER TABLE notifications ADD COLUMN notice_id BIGINT",
    "ALTER TABLE notifications ADD CONSTRAINT fk_notifications_notice_id_notices"
    " FOREIGN KEY(notice_id) REFERENCES notices (id) ON DELETE CASCADE",
    "ALTER TABLE notifications ADD CONSTRAINT ck_notifications_one_subject"
    " CHECK ((case_id IS NULL) <> (notice_id IS NULL))",
)


def upgrade() -> None:
    for sql in TABLES:
        op.execute(sql)
    op.execute("CREATE INDEX ix_notices_geom ON notices USING gist (geom)")
    op.execute("CREATE INDEX ix_notice_recipients_person ON notice_recipients (person)")
    for sql in OUTBOX:
        op.execute(sql)


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE notice_id IS NOT NULL")
    op.execute("ALTER TABLE notifications DROP CONSTRAINT ck_notifications_one_subject")
    op.execute("ALTER TABLE notifications DROP COLUMN notice_id")
    op.execute("ALTER TABLE notifications ALTER COLUMN case_id SET NOT NULL")
    op.execute("DROP TABLE notice_recipients")
    op.execute("DROP TABLE notices")
