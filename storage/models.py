"""Tables. Nothing here holds a reporter's identifier or a tip's text in plaintext:
such values live only in `Sealed` columns (see storage/crypto.py) or as keyed
pseudonyms (storage/pseudonyms.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from kernel.categories import PledgeKind as PledgeKind  # where it is defined, below storage
from kernel.clock import utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every engine (SQLite keeps no zone of its own)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):  # type: ignore[no-untyped-def]
        return None if value is None else value.replace(tzinfo=UTC)


class HourUTC(UTCDateTime):
    """A time kept only to the hour, beside a tip, its events and the audit log: an exact
    time there could be matched with the platform's own time of a reporter's message.
    Values are floored on the way in, in writes and in comparisons alike (a query on
    hours compares hours), so no caller can keep more by mistake."""

    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # type: ignore[no-untyped-def]
        return super().process_bind_param(None if value is None else floor_hour(value), dialect)


class MinuteUTC(UTCDateTime):
    """A time kept to the minute: an officer's action, which the deadlines are judged by."""

    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # type: ignore[no-untyped-def]
        return super().process_bind_param(None if value is None else floor_minute(value), dialect)


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def floor_minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def this_hour() -> datetime:
    return floor_hour(utcnow())


def utcday() -> date:
    return datetime.now(UTC).date()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Ward(Base):
    __tablename__ = "wards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    search_key: Mapped[str] = mapped_column(String(120), index=True)
    city: Mapped[str] = mapped_column(String(120), default="")
    # Public numbers residents may call: [[label, number], ...], in the order shown.
    hotlines: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    groups: Mapped[list[ResidentialGroup]] = relationship(back_populates="ward")


class ResidentialGroup(Base):
    """A tổ dân phố (TDP): the unit of broadcast coverage and of drug-free status."""

    __tablename__ = "residential_groups"
    __table_args__ = (
        UniqueConstraint("ward_id", "search_key", name="uq_residential_groups_ward_key"),
        UniqueConstraint("ward_id", "code", name="uq_residential_groups_ward_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    code: Mapped[str | None] = mapped_column(String(40))
    search_key: Mapped[str] = mapped_column(String(120))
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    alias_keys: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ward: Mapped[Ward] = relationship(back_populates="groups")


class OfficerRole(StrEnum):
    OFFICER = "officer"
    COMMANDER = "commander"
    # A city's staff: the wards' figures side by side (/thanhpho), never a tip.
    CITY = "city"


# Who works tips: the others are told nothing of them and reach no tip command.
POLICE_ROLES = (OfficerRole.OFFICER, OfficerRole.COMMANDER)


class OfficerStatus(StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    REVOKED = "revoked"


class Officer(Base):
    """A ward police officer. The chat account is kept only as a pseudonym, and the way
    to reach it (for notifications) only sealed under the officer's data key."""

    __tablename__ = "officers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16), default=OfficerStatus.INVITED)
    account: Mapped[str | None] = mapped_column(String(64), unique=True)
    invite_hash: Mapped[bytes | None] = mapped_column(LargeBinary(64), unique=True)
    invite_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    sealed_route: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TipStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    INVESTIGATING = "investigating"
    CLOSED = "closed"


class Tip(Base):
    """A resident's report. Its content and the route back to the reporter are sealed
    under the tip's own data key; clearing `wrapped_key` destroys them."""

    __tablename__ = "tips"
    __table_args__ = (
        Index("ix_tips_queue", "ward_id", "status", "priority", "created_at"),
        # The police queue: a ward's open tips by priority then age, paged by keys.
        Index("ix_tips_open_queue", "ward_id", "is_open", "priority", "created_at", "id"),
        Index("ix_tips_ack_due", "is_open", "ack_due_at"),
        Index("ix_tips_close_due", "is_open", "close_due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("residential_groups.id", ondelete="SET NULL"), index=True
    )
    code: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[bytes | None] = mapped_column(LargeBinary(64))
    category: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer, default=2)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=TipStatus.NEW)
    language: Mapped[str] = mapped_column(String(8), default="vi")
    # The keyword pass's suggestion (1 = most urgent); police set `priority` themselves.
    priority_hint: Mapped[int] = mapped_column(Integer, default=2)
    # Only the hour: the exact time of sending is sealed in the content (`submitted_at`).
    created_at: Mapped[datetime] = mapped_column(HourUTC, default=this_hour)
    updated_at: Mapped[datetime] = mapped_column(HourUTC, default=this_hour)
    # Officers' actions, to the minute: what judging the deadlines needs.
    closed_at: Mapped[datetime | None] = mapped_column(MinuteUTC, index=True)
    outcome: Mapped[str | None] = mapped_column(String(24))
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    assigned_officer_id: Mapped[int | None] = mapped_column(
        ForeignKey("officers.id", ondelete="SET NULL")
    )
    acknowledged_at: Mapped[datetime | None] = mapped_column(MinuteUTC)
    ack_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the commander was told the deadline passed (so it is told once).
    ack_escalated_at: Mapped[datetime | None] = mapped_column(MinuteUTC)
    close_escalated_at: Mapped[datetime | None] = mapped_column(MinuteUTC)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tips.id", ondelete="SET NULL"))
    # kernel/tip_sources.py: the bot, or what an officer recorded (hotline, tip box…).
    source: Mapped[str] = mapped_column(String(16), default="bot", server_default="bot")
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    sealed_content: Mapped[bytes | None] = mapped_column(LargeBinary)
    sealed_route: Mapped[bytes | None] = mapped_column(LargeBinary)

    events: Mapped[list[TipEvent]] = relationship(
        back_populates="tip", order_by="TipEvent.id", cascade="all, delete-orphan"
    )


class TipEvent(Base):
    """A step in a tip's life: a status change, a note, a question or an answer. Its
    text, if any, is sealed under the tip's data key with the event's id bound in."""

    __tablename__ = "tip_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tips.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    actor_officer_id: Mapped[int | None] = mapped_column(
        ForeignKey("officers.id", ondelete="SET NULL")
    )
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(HourUTC, default=this_hour)
    sealed_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    # An answer points at the question it answers.
    reply_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("tip_events.id", ondelete="SET NULL")
    )

    tip: Mapped[Tip] = relationship(back_populates="events")


class TipAttachment(Base):
    """A photo or PDF of a tip, stripped of metadata, sealed under the tip's data key."""

    __tablename__ = "tip_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tip_id: Mapped[int] = mapped_column(ForeignKey("tips.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    mime_type: Mapped[str] = mapped_column(String(64))
    sealed_data: Mapped[bytes | None] = mapped_column(LargeBinary)


class Drop(Base):
    """A tip, or a reporter's message about a tip, on its way to the tips table: written
    sealed in the sender's conversation commit, committed into the tips by the mixer
    (bot/mixer.py) in shuffled batches at random times, then deleted. What it is, and
    for which tip, is inside the seal; `code_key` is a keyed value of a new tip's code,
    so a receipt can be found while its tip waits, and random for the other kinds."""

    __tablename__ = "drops"
    __table_args__ = (Index("ix_drops_due", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_key: Mapped[str] = mapped_column(String(64), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    sealed_payload: Mapped[bytes | None] = mapped_column(LargeBinary)


class DraftFile(Base):
    """A file sent during the report wizard, kept (sealed under the conversation's key)
    so a restart does not lose it; moved under the tip's key on submission."""

    __tablename__ = "draft_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    mime_type: Mapped[str] = mapped_column(String(64))
    sealed_data: Mapped[bytes] = mapped_column(LargeBinary)


class OutboxMessage(Base):
    """A message to a chat other than the one being answered (a police question to a
    reporter, a notice to an officer). The route and text are sealed; `recipient` is
    random, or the person's pseudonym where a channel collects by person (storage/
    outbox.py). Deleted once delivered."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "channel", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(64), index=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_route: Mapped[bytes | None] = mapped_column(LargeBinary)
    sealed_reply: Mapped[bytes | None] = mapped_column(LargeBinary)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RateCounter(Base):
    """Counts per pseudonym and hour. Only the hour is kept, never the exact time, so a
    counter cannot be matched to the tip it counted."""

    __tablename__ = "rate_counters"
    __table_args__ = (
        UniqueConstraint("subject", "kind", "hour", name="uq_rate_counters_subject_kind_hour"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24))
    hour: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    # No new try before this (to the minute): waits grow with failures, but stay short,
    # so failures by others can slow a reporter down and never lock them out.
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Append-only and hash-chained: each entry's MAC covers the previous one's, so an
    edited, deleted or inserted row breaks the chain from there on. It records that a
    plaintext was viewed or a tip changed, never the plaintext itself."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ward_id: Mapped[int | None] = mapped_column(Integer, index=True)
    tip_id: Mapped[int | None] = mapped_column(Integer, index=True)
    officer_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(HourUTC, default=this_hour)
    prev_mac: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))


class StoreMeta(Base):
    """Facts about the store itself, by name: the fingerprint of the keyring the data was
    made under (storage/keys.py), so a missing or different keyring is refused at start,
    and which cut of the audit log the commanders were told of (storage/audit.py)."""

    __tablename__ = "store_meta"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class Digest(Base):
    """One morning digest per ward and day: the row makes the tick idempotent."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("ward_id", "day", name="uq_digests_ward_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Conversation(Base):
    """Where one chat account is in a conversation, and its draft. Keyed by a pseudonym;
    step, draft and language are sealed together, so nothing about the chat is readable."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(64), unique=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_state: Mapped[bytes | None] = mapped_column(LargeBinary)
    version: Mapped[int] = mapped_column(Integer, default=0)
    # Only the day: an exact time could be matched against a tip's creation time.
    touched_on: Mapped[date] = mapped_column(Date, default=utcday)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class GroupChat(Base):
    """A residential group's chat (Telegram or Zalo) registered as a broadcast target.

    Group chats are public places, not reporters, but the way to reach one is still
    sealed: a stolen database should not hand out a list of the ward's chats. `chat_key`
    is a keyed pseudonym so an update from the chat finds its row."""

    __tablename__ = "group_chats"
    __table_args__ = (UniqueConstraint("chat_key", name="uq_group_chats_chat_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("residential_groups.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    chat_key: Mapped[str] = mapped_column(String(64))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_route: Mapped[bytes | None] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    registered_by: Mapped[int | None] = mapped_column(
        ForeignKey("officers.id", ondelete="SET NULL")
    )
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    inactive_since: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TipPoints(Base):
    """A residential group's tip box ("hòm thư tố giác") and posted board of hotline
    numbers, and since when (seed 001, mục III.1). No row: neither is known."""

    __tablename__ = "tip_points"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("residential_groups.id", ondelete="CASCADE"), primary_key=True
    )
    box_since: Mapped[date | None] = mapped_column(Date)
    board_since: Mapped[date | None] = mapped_column(Date)


class BoxOpening(Base):
    """One opening of a group's tip box: when, by whom (as written: often a TDP leader
    with the area officer), and how many tips were in it, none included. The tips found
    are recorded as tips of source "tip_box"."""

    __tablename__ = "box_openings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("residential_groups.id", ondelete="CASCADE"), index=True
    )
    opened_on: Mapped[date] = mapped_column(Date)
    opened_by: Mapped[str] = mapped_column(String(120))
    tips_found: Mapped[int] = mapped_column(Integer)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("officers.id", ondelete="SET NULL"))


class AreaAssignment(Base):
    """The area officer (cảnh sát khu vực) of a residential group and their deputy: a new
    tip of the group goes to them first ("rõ người, rõ việc", seed 003)."""

    __tablename__ = "area_officers"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("residential_groups.id", ondelete="CASCADE"), primary_key=True
    )
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id", ondelete="SET NULL"))
    deputy_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id", ondelete="SET NULL"))


class ReportRemarks(Base):
    """What the commander writes into a period's report: difficulties, obstacles and
    proposals ("khó khăn, vướng mắc, đề xuất"), before the PDF is made. The ward's own
    words about its work, not about a tip or a person."""

    __tablename__ = "report_remarks"
    __table_args__ = (UniqueConstraint("ward_id", "period", name="uq_report_remarks_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(10))  # 2026-11, 2026-Q3, 2026-H1, 2026
    text: Mapped[str] = mapped_column(Text)
    written_by: Mapped[int | None] = mapped_column(ForeignKey("officers.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AwarenessMessage(Base):
    """One awareness message of the content library (shipped in broadcasts/library.toml
    or written by the ward). Public information: nothing here is secret."""

    __tablename__ = "awareness_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    topic: Mapped[str] = mapped_column(String(24))
    audience: Mapped[str] = mapped_column(String(16))
    # "" for the monthly rotation, or the campaign whose set it belongs to.
    campaign: Mapped[str] = mapped_column(String(24), default="")
    source: Mapped[str] = mapped_column(String(500), default="")
    text_vi: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str] = mapped_column(String(500), default="")
    # The days it is true on (both included; None: open). A message outside them on the
    # planning day is never picked: a legal change retires it on time.
    valid_from: Mapped[date | None] = mapped_column(Date, nullable=True, default=None)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True, default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Shipped messages are refreshed from the library file until the ward edits them.
    shipped: Mapped[bool] = mapped_column(Boolean, default=False)
    edited: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Subscriber(Base):
    """A resident who asked for awareness messages. Keyed by a subscriber pseudonym (its
    own key, so it cannot be linked to a reporter's); the route is sealed and erased
    on /stop, so a stopped subscriber cannot be reached even by mistake."""

    __tablename__ = "subscribers"
    __table_args__ = (Index("ix_subscribers_group_active", "group_id", "active", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(64), unique=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("residential_groups.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8), default="vi")
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    sealed_route: Mapped[bytes | None] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Days only: an exact time could be matched against other records.
    subscribed_on: Mapped[date] = mapped_column(Date, default=utcday)
    stopped_on: Mapped[date | None] = mapped_column(Date)


class Campaign(Base):
    """A yearly date (26/6, 19/8) or a month with a message each week (June)."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("wards.id", ondelete="CASCADE"))
    month: Mapped[int] = mapped_column(Integer)
    day: Mapped[int | None] = mapped_column(Integer)  # None: every week of the month
    at_time: Mapped[str] = mapped_column(String(5), default="08:00")
    # Messages of this set (AwarenessMessage.campaign); "" picks from the rotation.
    content: Mapped[str] = mapped_column(String(24), default="")
    subscribers: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    origin: Mapped[str] = mapped_column(String(16), default="admin")  # config or admin
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BroadcastKind(StrEnum):
    MONTHLY = "monthly"
    CAMPAIGN = "campaign"
    ADHOC = "adhoc"


class BroadcastStatus(StrEnum):
    PENDING_APPROVAL = "pending"  # an officer's draft, waiting for a commander
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class Broadcast(Base):
    """One message to a ward (every TDP) or to one TDP, at a time. `plan_key` makes the
    planner idempotent: a tick run twice, or after a restart, plans nothing twice."""

    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_status_due", "status", "scheduled_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("residential_groups.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    plan_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    period: Mapped[str] = mapped_column(String(7))  # the month it counts for: 2026-11
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("awareness_messages.id", ondelete="SET NULL")
    )
    # An ad-hoc broadcast's own text (public information written by an officer).
    text: Mapped[str | None] = mapped_column(Text)
    to_groups: Mapped[bool] = mapped_column(Boolean, default=True)
    to_subscribers: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default=BroadcastStatus.SCHEDULED)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("officers.id", ondelete="SET NULL"))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("officers.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Recipients are added in batches from these cursors (last ids done), never all at once.
    chats_after: Mapped[int] = mapped_column(Integer, default=0)
    subscribers_after: Mapped[int] = mapped_column(Integer, default=0)
    expanded: Mapped[bool] = mapped_column(Boolean, default=False)
    reported: Mapped[bool] = mapped_column(Boolean, default=False)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # leased to a sender until `next_attempt_at`
    SENT = "sent"
    BLOCKED = "blocked"  # the bot was blocked or removed: the recipient is inactive now
    FAILED = "failed"  # retries ran out, or the platform refused the message
    CANCELLED = "cancelled"  # the subscriber stopped, or the chat stopped being a target


class Delivery(Base):
    """One broadcast to one recipient: a registered group chat or a subscriber, named
    by row id only."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "target_kind", "target_id", name="uq_deliveries_target"),
        Index("ix_deliveries_due", "channel", "status", "next_attempt_at"),
        Index("ix_deliveries_broadcast_status", "broadcast_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    target_kind: Mapped[str] = mapped_column(String(12))  # chat or subscriber
    target_id: Mapped[int] = mapped_column(Integer)
    group_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CoverageEntry(Base):
    """The coverage ledger: per TDP and month, what reached it where (group chats or
    subscribers, per channel). Counts only; updated as deliveries finish."""

    __tablename__ = "coverage"
    __table_args__ = (
        UniqueConstraint(
            "group_id",
            "period",
            "broadcast_id",
            "channel",
            "target_kind",
            name="uq_coverage_entry",
        ),
        Index("ix_coverage_ward_period", "ward_id", "period"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("residential_groups.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    target_kind: Mapped[str] = mapped_column(String(12))
    delivered: Mapped[int] = mapped_column(Integer, default=0)
    blocked: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    first_delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CoverageAlert(Base):
    """A commander was warned that a TDP cannot be reached this month (once per month)."""

    __tablename__ = "coverage_alerts"
    __table_args__ = (UniqueConstraint("group_id", "period", name="uq_coverage_alerts_group"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("residential_groups.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(7))
    reason: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Pledge(Base):
    """A pledge of the campaign. A household's row names no one: only a pledge pseudonym
    (its own key, so it links to neither a subscriber nor a reporter) to keep one pledge
    per household chat and let it be withdrawn. Organisations are public: their name is
    kept. Days only, never times."""

    __tablename__ = "pledges"
    __table_args__ = (Index("ix_pledges_ward_kind", "ward_id", "kind", "active"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("residential_groups.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    account: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    signed_on: Mapped[date] = mapped_column(Date, default=utcday)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("officers.id", ondelete="SET NULL"))


class QuizAnswer(Base):
    """One resident's answer to one week's quiz question: a pseudonym of its own key, the
    TDP when known (participation is counted per TDP), right or wrong, and the day."""

    __tablename__ = "quiz_answers"
    __table_args__ = (
        UniqueConstraint("account", "week", name="uq_quiz_answers_account_week"),
        Index("ix_quiz_answers_ward_day", "ward_id", "answered_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("residential_groups.id", ondelete="SET NULL")
    )
    week: Mapped[str] = mapped_column(String(8))  # ISO week: 2026-W47
    question: Mapped[str] = mapped_column(String(40))
    correct: Mapped[bool] = mapped_column(Boolean)
    answered_on: Mapped[date] = mapped_column(Date, default=utcday)


class DrugFreeRecord(Base):
    """A TDP's drug-free status for a year, as decided on a date. Rows are only added:
    the latest for a year is the status, and the history stays for the report."""

    __tablename__ = "drug_free_records"
    __table_args__ = (Index("ix_drug_free_records_group_year", "group_id", "year", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("wards.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("residential_groups.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))
    decided_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("officers.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
