"""The database schema: SQLAlchemy 2 models with GeoAlchemy2 geometry columns.

All geometry is stored in EPSG:4326 with a GiST index and a CHECK that it is valid. Codes follow
GB/T 2260 (district 6 digits, street 9, community 12); grid codes are 15 digits, micro-grids 18.
Grids are versioned: a regeneration closes the current rows (``valid_to``) and adds new ones,
so older versions stay as history. Case events are append-only (a trigger refuses UPDATE/DELETE).
"""

from __future__ import annotations

from datetime import date, datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SRID = 4326

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def geom(kind: str, *, nullable: bool = False) -> Mapped:
    # spatial_index=False: the GiST indexes are declared in the migration, by name
    return mapped_column(Geometry(kind, srid=SRID, spatial_index=False), nullable=nullable)


def valid_geom(column: str = "geom") -> CheckConstraint:
    return CheckConstraint(f"{column} IS NULL OR ST_IsValid({column})", name=f"{column}_valid")


def now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class District(Base):
    """区/县, with its 6-digit GB/T 2260 code."""

    __tablename__ = "districts"
    __table_args__ = (valid_geom(),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    geom = geom("MULTIPOLYGON", nullable=True)


class Street(Base):
    """街道/镇 street office, 9-digit code."""

    __tablename__ = "streets"
    __table_args__ = (
        valid_geom(),
        CheckConstraint(
            "boundary_source IN ('official', 'approximate')", name="boundary_source_known"
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(9), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"))
    geom = geom("MULTIPOLYGON", nullable=True)
    boundary_source: Mapped[str] = mapped_column(String(16), server_default=text("'official'"))


class Community(Base):
    """社区/村, 12-digit code."""

    __tablename__ = "communities"
    __table_args__ = (
        valid_geom(),
        CheckConstraint(
            "boundary_source IN ('official', 'approximate')", name="boundary_source_known"
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    street_id: Mapped[int | None] = mapped_column(ForeignKey("streets.id"))
    geom = geom("MULTIPOLYGON", nullable=True)
    # 'official' (a published boundary) or 'approximate' (derived where none is published)
    boundary_source: Mapped[str] = mapped_column(String(16), server_default=text("'official'"))


class Compound(Base):
    """小区 residential compound."""

    __tablename__ = "compounds"
    __table_args__ = (valid_geom(),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    compound_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(Text)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    geom = geom("MULTIPOLYGON", nullable=True)


class Building(Base):
    """楼栋: footprint (or only a point), households and whether they were estimated."""

    __tablename__ = "buildings"
    __table_args__ = (
        valid_geom("footprint"),
        CheckConstraint("households >= 0", name="households_nonnegative"),
        CheckConstraint("units IS NULL OR units >= 0", name="units_nonnegative"),
        CheckConstraint("floors IS NULL OR floors >= 0", name="floors_nonnegative"),
        CheckConstraint(
            "households_source IN ('register', 'given', 'estimated')",
            name="households_source_known",
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    building_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    building_type: Mapped[str | None] = mapped_column(String(64))
    households: Mapped[int] = mapped_column(Integer)
    households_estimated: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # 'register' (楼栋台账), 'given' (a count in the loaded file) or 'estimated'; for estimates
    # the rule that decided (residential or not, and why)
    households_source: Mapped[str] = mapped_column(String(16), server_default=text("'given'"))
    households_rule: Mapped[str | None] = mapped_column(Text)
    units: Mapped[int | None] = mapped_column(Integer)
    floors: Mapped[int | None] = mapped_column(Integer)
    address: Mapped[str | None] = mapped_column(Text)
    compound_id: Mapped[int | None] = mapped_column(ForeignKey("compounds.id"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    footprint = geom("MULTIPOLYGON", nullable=True)
    location = geom("POINT")


class Road(Base):
    """A street or path segment; `class_` holds the OSM highway value."""

    __tablename__ = "roads"
    __table_args__ = (valid_geom(),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    road_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    class_: Mapped[str | None] = mapped_column("class", String(32))
    from_no: Mapped[int | None] = mapped_column(Integer)
    to_no: Mapped[int | None] = mapped_column(Integer)
    geom = geom("MULTILINESTRING")


class Barrier(Base):
    """A water or rail line grids should not cross; `class_` is the waterway/railway value or
    'water' (an outline). Kept apart from roads: walking and geocoding never use it."""

    __tablename__ = "barriers"
    __table_args__ = (valid_geom(),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    barrier_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    class_: Mapped[str] = mapped_column("class", String(32))
    geom = geom("MULTILINESTRING")


class Poi(Base):
    """A point of interest from OpenStreetMap (amenity, shop, office)."""

    __tablename__ = "pois"
    __table_args__ = (valid_geom(),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    poi_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(Text)
    geom = geom("POINT")


class Grid(Base):
    """网格 (level 'grid') or 微网格 (level 'micro'), one row per version."""

    __tablename__ = "grids"
    __table_args__ = (
        valid_geom(),
        CheckConstraint("level IN ('grid', 'micro')", name="level_known"),
        CheckConstraint("households >= 0", name="households_nonnegative"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="validity_ordered"),
        CheckConstraint("code ~ '^[0-9]{15}([0-9]{3})?$'", name="code_digits"),
        Index(
            "uq_grids_code_current", "code", unique=True, postgresql_where=text("valid_to IS NULL")
        ),
        Index("uq_grids_code_version", "code", "version", unique=True),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(18))
    level: Mapped[str] = mapped_column(String(8))
    parent_code: Mapped[str | None] = mapped_column(String(18))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    households: Mapped[int] = mapped_column(Integer)
    members: Mapped[list | None] = mapped_column(JSONB)
    locked: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    valid_from: Mapped[datetime] = now()
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    geom = geom("POLYGON")


class Worker(Base):
    """A grid leader (网格长), full-time or part-time grid worker (网格员)."""

    __tablename__ = "workers"
    __table_args__ = (
        CheckConstraint("role IN ('grid_leader', 'full_time', 'part_time')", name="role_known"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    worker_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    on_duty: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # a part-time building lead's buildings (0014): a notice counts their households
    building_ids: Mapped[list[str]] = mapped_column(ARRAY(String(64)), server_default=text("'{}'"))


class WorkerGrid(Base):
    """Which grids (by stable code) a worker serves."""

    __tablename__ = "worker_grids"
    worker_id: Mapped[int] = mapped_column(
        ForeignKey("workers.id", ondelete="CASCADE"), primary_key=True
    )
    grid_code: Mapped[str] = mapped_column(String(18), primary_key=True)


class Station(Base):
    """A service station: 党群服务中心, 邻里中心, 养老服务站 …"""

    __tablename__ = "stations"
    __table_args__ = (
        valid_geom(),
        CheckConstraint("stars IS NULL OR stars BETWEEN 3 AND 5", name="stars_range"),
        CheckConstraint("location_source IN ('given', 'geocoded')", name="location_source_known"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str | None] = mapped_column(String(64))
    functions: Mapped[list[str] | None] = mapped_column(ARRAY(String(32)))
    stars: Mapped[int | None] = mapped_column(SmallInteger)
    opening_hours: Mapped[str | None] = mapped_column(String(200))
    services: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(Text)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    location_source: Mapped[str] = mapped_column(String(16), server_default=text("'given'"))
    geom = geom("POINT")


class Isochrone(Base):
    """A station's walking circle (5/10/15 minutes) at one speed; 'buffer' when off the network."""

    __tablename__ = "isochrones"
    __table_args__ = (
        valid_geom(),
        CheckConstraint("minutes > 0", name="minutes_positive"),
        CheckConstraint("speed_kmh > 0", name="speed_positive"),
        CheckConstraint("method IN ('network', 'buffer')", name="method_known"),
        UniqueConstraint("station_id", "minutes", "speed_kmh"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    minutes: Mapped[float] = mapped_column(Float)
    speed_kmh: Mapped[float] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(16))
    computed_at: Mapped[datetime] = now()
    geom = geom("MULTIPOLYGON")


class Case(Base):
    """事件: a reported problem and where it is in the closed loop."""

    __tablename__ = "cases"
    __table_args__ = (
        valid_geom(),
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_range"),
        CheckConstraint("version >= 1", name="version_positive"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    category: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32), server_default=text("'reported'"))
    grid_code: Mapped[str | None] = mapped_column(String(18))
    micro_grid_code: Mapped[str | None] = mapped_column(String(18))
    community_code: Mapped[str | None] = mapped_column(String(12))
    street_code: Mapped[str | None] = mapped_column(String(9))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("workers.id"))
    reported_at: Mapped[datetime] = now()
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    geom = geom("POINT", nullable=True)
    # 0003 (issue 6): intake, routing and the closed loop
    intake: Mapped[str | None] = mapped_column(String(16))
    reporter_name: Mapped[str | None] = mapped_column(String(100))  # personal data
    reporter_phone: Mapped[str | None] = mapped_column(String(32))  # personal data
    # the account that reported the case, when signed in (migration 0004): residents see theirs
    reported_by: Mapped[str | None] = mapped_column(String(64))
    source_lon: Mapped[float | None] = mapped_column(Float)
    source_lat: Mapped[float | None] = mapped_column(Float)
    source_crs: Mapped[str | None] = mapped_column(String(8))
    building_id: Mapped[str | None] = mapped_column(String(64))
    handling_level: Mapped[str | None] = mapped_column(String(16))
    department: Mapped[str | None] = mapped_column(String(100))
    priority: Mapped[str | None] = mapped_column(String(8))
    queue: Mapped[str | None] = mapped_column(String(16))
    routing: Mapped[str | None] = mapped_column(String(16))
    route_distance_m: Mapped[float | None] = mapped_column(Float)
    supervised: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    receipt: Mapped[str | None] = mapped_column(String(32), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    request_hash: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = now()
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CaseEvent(Base):
    """One step of a case's history; rows are never updated or deleted."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = now()
    actor: Mapped[str | None] = mapped_column(String(100))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    # 0003: transition, create, reroute, supervise, attachment; the action and its details
    kind: Mapped[str] = mapped_column(String(16), server_default=text("'transition'"))
    action: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict | None] = mapped_column(JSONB)


class CaseAttachment(Base):
    """A photo of a case, stored in the database (size and type checked at upload)."""

    __tablename__ = "case_attachments"
    __table_args__ = (CheckConstraint("size >= 0", name="size_nonnegative"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    filename: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = now()


ROLES = (
    "public",
    "resident",
    "grid_worker",
    "grid_leader",
    "community_admin",
    "street_admin",
    "department",
    "planner",
    "admin",
    "volunteer",
)


class User(Base):
    """An account: a role, an argon2 password hash and the area or department it covers."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")", name="role_known"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("workers.id", ondelete="SET NULL"))
    community_code: Mapped[str | None] = mapped_column(String(12))
    street_code: Mapped[str | None] = mapped_column(String(9))
    department: Mapped[str | None] = mapped_column(String(100))
    disabled: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = now()


class ApiToken(Base):
    """A long-lived token for another system, acting as its user; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = now()
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SignInFailure(Base):
    """Failed sign-ins per account name, for the lockout that holds across processes."""

    __tablename__ = "sign_in_failures"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Notification(Base):
    """The outbox (0009): one message to a reporter per status change of their case; a sender
    job sends it and sets sent_at in the same transaction, so it is never sent twice."""

    __tablename__ = "notifications"
    # a message about a case, (0012) a district notice to one responsible person, or (0014) a
    # service order nobody took (to its community's admins) or that expired (to the resident)
    __table_args__ = (
        CheckConstraint(
            "num_nonnulls(case_id, notice_id, service_order_id) = 1", name="one_subject"
        ),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))
    service_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_orders.id", ondelete="CASCADE")
    )
    username: Mapped[str | None] = mapped_column(String(64))  # the recipient account, if any
    dedupe_key: Mapped[str] = mapped_column(String(100), unique=True)  # case + version
    channel: Mapped[str] = mapped_column(String(16))  # sms, status_page
    address: Mapped[str | None] = mapped_column(String(64))  # personal data: the phone
    status: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = now()
    next_attempt_at: Mapped[datetime] = now()
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """Who changed what: one row per change, never updated or deleted (trigger)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = now()
    actor: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[dict | None] = mapped_column(JSONB)


# tables whose geometry columns get a GiST index (named ix_<table>_<column>)
SPATIAL_COLUMNS = {
    "districts": ["geom"],
    "streets": ["geom"],
    "communities": ["geom"],
    "compounds": ["geom"],
    "buildings": ["footprint", "location"],
    "roads": ["geom"],
    "pois": ["geom"],
    "grids": ["geom"],
    "stations": ["geom"],
    "isochrones": ["geom"],
    "cases": ["geom"],
    "barriers": ["geom"],
}

for _table, _columns in SPATIAL_COLUMNS.items():
    for _column in _columns:
        Index(
            f"ix_{_table}_{_column}",
            Base.metadata.tables[_table].c[_column],
            postgresql_using="gist",
        )
Index("ix_buildings_community_id", Building.community_id)
Index("ix_cases_grid_code_status", Case.grid_code, Case.status)
Index("ix_cases_status_reported_at", Case.status, Case.reported_at)
Index("ix_cases_assignee_id_status", Case.assignee_id, Case.status)
Index("ix_cases_category_reported_at", Case.category, Case.reported_at)
Index("ix_audit_log_at", AuditEntry.at)
Index("ix_audit_log_actor_at", AuditEntry.actor, AuditEntry.at)
Index("ix_audit_log_object", AuditEntry.object_type, AuditEntry.object_id)
Index("ix_cases_reported_by", Case.reported_by)
Index(
    "ix_notifications_due",
    Notification.next_attempt_at,
    postgresql_where=Notification.sent_at.is_(None),
)

# --- volunteers and service orders (migration 0010): models below this line ---


VOLUNTEER_KINDS = ("party_member", "building_lead", "volunteer")
ORDER_STATUSES = ("open", "taken", "done", "confirmed", "rated", "expired", "cancelled")


class Volunteer(Base):
    """A volunteer account's grid, kind (党员 双报到, 楼栋长, 志愿者) and skills (助老, 维修 …)."""

    __tablename__ = "volunteers"
    __table_args__ = (
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{k}'" for k in VOLUNTEER_KINDS) + ")", name="kind_known"
        ),
        Index("ix_volunteers_grid_code", "grid_code"),
        Index("ix_volunteers_community_code", "community_code"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    grid_code: Mapped[str] = mapped_column(String(15))
    community_code: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(16))
    skills: Mapped[list[str]] = mapped_column(ARRAY(String(16)), server_default=text("'{}'"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # a building lead's buildings (0014): a notice counts their households, not the grid's
    building_ids: Mapped[list[str]] = mapped_column(ARRAY(String(64)), server_default=text("'{}'"))
    created_at: Mapped[datetime] = now()


class ServiceOrder(Base):
    """A resident's order of a station's service at a place (居民点单): posted to its grid's
    volunteers with the skill, re-posted to the community when nobody takes it in time."""

    __tablename__ = "service_orders"
    __table_args__ = (
        valid_geom(),
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in ORDER_STATUSES) + ")", name="status_known"
        ),
        CheckConstraint("posted_to IN ('grid', 'community')", name="posted_to_known"),
        CheckConstraint("stars IS NULL OR stars BETWEEN 1 AND 5", name="stars_range"),
        CheckConstraint("resident IS NOT NULL OR resident_phone IS NOT NULL", name="who_ordered"),
        Index("ix_service_orders_grid_code_status", "grid_code", "status"),
        Index("ix_service_orders_community_code_status", "community_code", "status"),
        Index("ix_service_orders_taken_by", "taken_by"),
        Index("ix_service_orders_station_id_status", "station_id", "status"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    service: Mapped[str] = mapped_column(String(32))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    address: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    grid_code: Mapped[str] = mapped_column(String(15))
    community_code: Mapped[str] = mapped_column(String(12))
    resident: Mapped[str | None] = mapped_column(String(64))
    resident_phone: Mapped[str | None] = mapped_column(String(32))  # personal data
    status: Mapped[str] = mapped_column(String(16), server_default=text("'open'"))
    posted_to: Mapped[str] = mapped_column(String(16), server_default=text("'grid'"))
    taken_by: Mapped[str | None] = mapped_column(String(64))
    stars: Mapped[int | None] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    receipt: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = now()
    repost_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = now()
    geom = geom("POINT")


class ServiceOrderEvent(Base):
    """One status change of an order, with who made it: the resident's timeline."""

    __tablename__ = "service_order_events"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("service_orders.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = now()
    actor: Mapped[str | None] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict | None] = mapped_column(JSONB)


Index(
    "ix_service_orders_geom",
    ServiceOrder.__table__.c.geom,
    postgresql_using="gist",
)

# --- red points (migration 0011): models below this line ---


POINT_KINDS = ("order", "activity", "case_report", "exchange", "adjustment")


class PointsEntry(Base):
    """One line of the red-points ledger (0011): never updated or deleted (trigger); a kind,
    source and account come once, so nothing is counted twice."""

    __tablename__ = "points_entries"
    __table_args__ = (
        UniqueConstraint("kind", "source", "account", name="uq_points_entries_kind_source_account"),
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{k}'" for k in POINT_KINDS) + ")", name="kind_known"
        ),
        CheckConstraint("points <> 0", name="points_nonzero"),
        Index("ix_points_entries_account", "account", "created_at"),
        Index("ix_points_entries_community_code", "community_code"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    points: Mapped[int] = mapped_column(Integer)  # signed: an exchange is negative
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64))  # e.g. "order:12", "activity:3"
    community_code: Mapped[str | None] = mapped_column(String(12))
    grid_code: Mapped[str | None] = mapped_column(String(18))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = now()
    created_by: Mapped[str | None] = mapped_column(String(64))


class PointReward(Base):
    """A reward a community offers for points, with its stock."""

    __tablename__ = "point_rewards"
    __table_args__ = (
        CheckConstraint("cost > 0", name="cost_positive"),
        CheckConstraint("stock >= 0", name="stock_nonnegative"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_code: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(100))
    cost: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = now()


class PointExchange(Base):
    """A request to exchange points for a reward: requested, then confirmed or refused by the
    reward's community; the points leave the ledger on confirmation."""

    __tablename__ = "point_exchanges"
    __table_args__ = (
        CheckConstraint("status IN ('requested', 'confirmed', 'refused')", name="status_known"),
        Index("ix_point_exchanges_community_code_status", "community_code", "status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    reward_id: Mapped[int] = mapped_column(ForeignKey("point_rewards.id"))
    community_code: Mapped[str] = mapped_column(String(12))
    cost: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime] = now()
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)


class PointActivity(Base):
    """An activity a community held; its participants' points are the ledger entries whose
    source is "activity:<id>"."""

    __tablename__ = "point_activities"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_code: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(100))
    held_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = now()


# --- district notices (migration 0012): models below this line ---

NOTICE_LEVELS = ("routine", "emergency")


class Notice(Base):
    """A district notice (0012): text, level and the area, kept as the grid-level codes it
    resolved to plus the polygon when one was drawn; sent once, never edited."""

    __tablename__ = "notices"
    __table_args__ = (
        valid_geom(),
        CheckConstraint("level IN ('routine', 'emergency')", name="level_known"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))
    area: Mapped[dict] = mapped_column(JSONB)  # what the sender picked
    grid_codes: Mapped[list[str]] = mapped_column(ARRAY(String(15)))
    sender: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = now()
    geom = geom("MULTIPOLYGON", nullable=True)


class NoticeRecipient(Base):
    """One responsible person for one area of a notice: a community (admins), a grid (leaders,
    workers) or a micro-grid (building leads); `person` is 'w:<workers.id>' or 'u:<username>'."""

    __tablename__ = "notice_recipients"
    __table_args__ = (
        UniqueConstraint("notice_id", "person", "area_code"),
        CheckConstraint("households >= 0", name="households_nonnegative"),
        CheckConstraint(
            "households_reached IS NULL OR households_reached BETWEEN 0 AND households",
            name="reached_bounded",
        ),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))
    person: Mapped[str] = mapped_column(String(80), index=True)
    username: Mapped[str | None] = mapped_column(String(64))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("workers.id", ondelete="SET NULL"))
    name: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(32))
    area_code: Mapped[str] = mapped_column(String(18))
    grid_code: Mapped[str | None] = mapped_column(String(15))
    households: Mapped[int] = mapped_column(Integer)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    households_reached: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)  # e.g. a lead with no building known (0014)


Index("ix_notices_geom", Notice.geom, postgresql_using="gist")

# --- household visits and assessment (migration 0013): models below this line ---


class HouseholdVisit(Base):
    """走访 (0013): a grid worker's visit at a building, the phone's location checked against
    the footprint; 'flagged' visits (too far, poor accuracy) are kept but not counted."""

    __tablename__ = "household_visits"
    __table_args__ = (
        CheckConstraint("status IN ('accepted', 'flagged')", name="status_known"),
        CheckConstraint("(status = 'flagged') = (flag_reason IS NOT NULL)", name="flag_explained"),
        CheckConstraint("households_seen >= 0", name="households_nonnegative"),
        CheckConstraint("distance_m >= 0", name="distance_nonnegative"),
        Index("ix_household_visits_worker_id_visited_at", "worker_id", "visited_at"),
        Index("ix_household_visits_grid_code_visited_at", "grid_code", "visited_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(64))
    building_id: Mapped[str] = mapped_column(String(64))
    grid_code: Mapped[str | None] = mapped_column(String(15))
    community_code: Mapped[str | None] = mapped_column(String(12))
    visited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = now()
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    distance_m: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    flag_reason: Mapped[str | None] = mapped_column(String(32))
    households_seen: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
