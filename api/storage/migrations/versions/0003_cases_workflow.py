"""cases: categories, dispatch and the closed-loop workflow (issue 6)

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

CASE_COLUMNS = [
    ("intake", sa.String(length=16)),
    ("reporter_name", sa.String(length=100)),
    ("reporter_phone", sa.String(length=32)),
    ("source_lon", sa.Float()),
    ("source_lat", sa.Float()),
    ("source_crs", sa.String(length=8)),
    ("building_id", sa.String(length=64)),
    ("handling_level", sa.String(length=16)),
    ("department", sa.String(length=100)),
    ("priority", sa.String(length=8)),
    ("queue", sa.String(length=16)),
    ("routing", sa.String(length=16)),
    ("route_distance_m", sa.Float()),
    ("duplicate_of", sa.BigInteger()),
    ("rating", sa.SmallInteger()),
    ("receipt", sa.String(length=32)),
    ("idempotency_key", sa.String(length=128)),
    ("request_hash", sa.String(length=64)),
    ("resolved_at", sa.DateTime(timezone=True)),
    ("closed_at", sa.DateTime(timezone=True)),
]
CASE_INDEXES = {
    "ix_cases_status_reported_at": ["status", "reported_at"],
    "ix_cases_assignee_id_status": ["assignee_id", "status"],
    "ix_cases_category_reported_at": ["category", "reported_at"],
}


def upgrade() -> None:
    for name, kind in CASE_COLUMNS:
        op.add_column("cases", sa.Column(name, kind, nullable=True))
    op.add_column(
        "cases",
        sa.Column("supervised", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column(
        "cases",
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_foreign_key(
        op.f("fk_cases_duplicate_of_cases"), "cases", "cases", ["duplicate_of"], ["id"]
    )
    op.create_unique_constraint(op.f("uq_cases_receipt"), "cases", ["receipt"])
    op.create_unique_constraint(op.f("uq_cases_idempotency_key"), "cases", ["idempotency_key"])
    op.create_check_constraint(
        op.f("ck_cases_rating_range"), "cases", "rating IS NULL OR rating BETWEEN 1 AND 5"
    )
    op.create_check_constraint(op.f("ck_cases_version_positive"), "cases", "version >= 1")
    for name, columns in CASE_INDEXES.items():
        op.create_index(name, "cases", columns)

    op.add_column(
        "case_events",
        sa.Column(
            "kind", sa.String(length=16), server_default=sa.text("'transition'"), nullable=False
        ),
    )
    op.add_column("case_events", sa.Column("action", sa.String(length=32), nullable=True))
    op.add_column(
        "case_events",
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )

    op.create_table(
        "case_attachments",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=True),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("size >= 0", name=op.f("ck_case_attachments_size_nonnegative")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_attachments_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_attachments")),
    )
    op.create_index(
        op.f("ix_case_attachments_case_id"), "case_attachments", ["case_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_case_attachments_case_id"), table_name="case_attachments")
    op.drop_table("case_attachments")
    for name in ("data", "action", "kind"):
        op.drop_column("case_events", name)
    for name in CASE_INDEXES:
        op.drop_index(name, table_name="cases")
    op.drop_constraint(op.f("ck_cases_version_positive"), "cases", type_="check")
    op.drop_constraint(op.f("ck_cases_rating_range"), "cases", type_="check")
    op.drop_constraint(op.f("uq_cases_idempotency_key"), "cases", type_="unique")
    op.drop_constraint(op.f("uq_cases_receipt"), "cases", type_="unique")
    op.drop_constraint(op.f("fk_cases_duplicate_of_cases"), "cases", type_="foreignkey")
    for name in ("updated_at", "supervised", *(n for n, _ in reversed(CASE_COLUMNS))):
        op.drop_column("cases", name)
