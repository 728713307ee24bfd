"""notifications: the outbox of messages to reporters, one per status change of their case

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLE = """
CREATE TABLE notifications (
    id BIGSERIAL NOT NULL,
    case_id BIGINT NOT NULL,
    dedupe_key VARCHAR(100) NOT NULL,
    channel VARCHAR(16) NOT NULL,
    address VARCHAR(64),
    status VARCHAR(32) NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    next_attempt_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    attempts INTEGER DEFAULT 0 NOT NULL,
    last_error TEXT,
    sent_at TIMESTAMP WITH TIME ZONE,
    CONSTRAINT pk_notifications PRIMARY KEY (id),
    CONSTRAINT fk_notifications_case_id_cases FOREIGN KEY(case_id) REFERENCES cases (id),
    CONSTRAINT uq_notifications_dedupe_key UNIQUE (dedupe_key)
)
"""


def upgrade() -> None:
    op.execute(TABLE)
    op.execute(
        "CREATE INDEX ix_notifications_due ON notifications (next_attempt_at) WHERE sent_at IS NULL"
    )


def downgrade() -> None:
    op.execute("DROP TABLE notifications")
