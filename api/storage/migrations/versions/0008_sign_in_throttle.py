"""sign_in_failures: failed sign-ins per account name, for a lockout shared by every process

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLE = """
CREATE TABLE sign_in_failures (
    username VARCHAR(64) NOT NULL,
    failures INTEGER NOT NULL,
    last_failure TIMESTAMP WITH TIME ZONE NOT NULL,
    locked_until TIMESTAMP WITH TIME ZONE,
    CONSTRAINT pk_sign_in_failures PRIMARY KEY (username)
)
"""


def upgrade() -> None:
    op.execute(TABLE)


def downgrade() -> None:
    op.execute("DROP TABLE sign_in_failures")
