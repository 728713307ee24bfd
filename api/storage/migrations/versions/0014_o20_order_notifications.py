"""the outbox carries service-order messages: an order re-posted (to its community's admins)
or expired (to the resident); the recipient account where there is no phone

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

UP = (
    "ALTER TABLE notifications ADD COLUMN service_order_id BIGINT",
    "ALTER TABLE notifications ADD COLUMN username VARCHAR(64)",
    "ALTER TABLE notifications ADD CONSTRAINT fk_notifications_service_order_id_service_orders"
    " FOREIGN KEY(service_order_id) REFERENCES service_orders (id) ON DELETE CASCADE",
    "ALTER TABLE notifications DROP CONSTRAINT ck_notifications_one_subject",
    "ALTER TABLE notifications ADD CONSTRAINT ck_notifications_one_subject"
    " CHECK (num_nonnulls(case_id, notice_id, service_order_id) = 1)",
)


def upgrade() -> None:
    for sql in UP:
        op.execute(sql)


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE service_order_id IS NOT NULL")
    op.execute("ALTER TABLE notifications DROP CONSTRAINT ck_notifications_one_subject")
    op.execute(
        "ALTER TABLE notifications ADD CONSTRAINT ck_notifications_one_subject"
        " CHECK ((case_id IS NULL) <> (notice_id IS NULL))"
    )
    op.execute("ALTER TABLE notifications DROP COLUMN username")
    op.execute("ALTER TABLE notifications DROP COLUMN service_order_id")
