"""red points: the append-only ledger of points earned and exchanged, the rewards on offer

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

KINDS = "'order', 'activity', 'case_report', 'exchange', 'adjustment'"

TABLES = (
    f"""
CREATE TABLE points_entries (
    id BIGSERIAL NOT NULL,
    account VARCHAR(64) NOT NULL,
    points INTEGER NOT NULL,
    kind VARCHAR(16) NOT NULL,
    source VARCHAR(64) NOT NULL,
    community_code VARCHAR(12),
    grid_code VARCHAR(18),
    note TEXT,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    created_by VARCHAR(64),
    CONSTRAINT pk_points_entries PRIMARY KEY (id),
    CONSTRAINT uq_points_entries_kind_source_account UNIQUE (kind, source, account),
    CONSTRAINT ck_points_entries_kind_known CHECK (kind IN ({KINDS})),
    CONSTRAINT ck_points_entries_points_nonzero CHECK (points <> 0)
)
""",
    """
CREATE TABLE point_rewards (
    id SERIAL NOT NULL,
    community_code VARCHAR(12) NOT NULL,
    name VARCHAR(100) NOT NULL,
    cost INTEGER NOT NULL,
    stock INTEGER NOT NULL,
    active BOOLEAN DEFAULT true NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_point_rewards PRIMARY KEY (id),
    CONSTRAINT ck_point_rewards_cost_positive CHECK (cost > 0),
    CONSTRAINT ck_point_rewards_stock_nonnegative CHECK (stock >= 0)
)
""",
    """
CREATE TABLE point_exchanges (
    id SERIAL NOT NULL,
    account VARCHAR(64) NOT NULL,
    reward_id INTEGER NOT NULL,
    community_code VARCHAR(12) NOT NULL,
    cost INTEGER NOT NULL,
    status VARCHAR(16) NOT NULL,
    requested_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    decided_at TIMESTAMP WITH TIME ZONE,
    decided_by VARCHAR(64),
    note TEXT,
    CONSTRAINT pk_point_exchanges PRIMARY KEY (id),
    CONSTRAINT fk_point_exchanges_reward_id_point_rewards FOREIGN KEY(reward_id)
        REFERENCES point_rewards (id),
    CONSTRAINT ck_point_exchanges_status_known
        CHECK (status IN ('requested', 'confirmed', 'refused'))
)
""",
    """
CREATE TABLE point_activities (
    id SERIAL NOT NULL,
    community_code VARCHAR(12) NOT NULL,
    name VARCHAR(100) NOT NULL,
    held_on DATE NOT NULL,
    recorded_by VARCHAR(64),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_point_activities PRIMARY KEY (id)
)
""",
    "CREATE INDEX ix_points_entries_account ON points_entries (account, created_at)",
    "CREATE INDEX ix_points_entries_community_code ON points_entries (community_code)",
    "CREATE INDEX ix_point_exchanges_community_code_status "
    "ON point_exchanges (community_code, status)",
    # wangge_append_only() comes from 0001 (case_events and audit_log use it too)
    "CREATE TRIGGER points_entries_append_only BEFORE UPDATE OR DELETE ON points_entries "
    "FOR EACH ROW EXECUTE FUNCTION wangge_append_only()",
)


def upgrade() -> None:
    for statement in TABLES:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE point_activities")
    op.execute("DROP TABLE point_exchanges")
    op.execute("DROP TABLE point_rewards")
    op.execute("DROP TABLE points_entries")
