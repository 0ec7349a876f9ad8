"""The content library: awareness messages shipped in `library.toml` (grounded in the
ward plans and the Law on Drug Prevention and Control in force) plus those the ward writes.

Each shipped message says when it was last `reviewed` against its sources, and may say
from and until when it is true (`valid_from`, `valid_until`): a legal change retires it
on the day it takes effect, because the rotation and the campaigns only pick messages in
force on the planning day (storage/awareness.py). The dates of validity are kept in the
database and refreshed from the file even for a message the ward edited; the review date
stays in the file, which `wardbot content review` reads.

Shipped messages are copied into the database at start and refreshed from the file
while the ward has not edited them; an edited or disabled message stays as the ward
left it. Texts may use two placeholders, exactly `{ward}` and `{hotlines}`: no format
spec, conversion, attribute or index, and no other brace. They are filled by plain
substitution, never with str.format, so a text cannot make itself any longer than the
ward's name and numbers make it, and what it becomes is checked against MAX_RENDERED.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from kernel.clock import utcnow
from kernel.i18n import N_, SUPPORTED, Translator
from storage import awareness, wards
from storage.models import AwarenessMessage, Ward
from storage.session import AsyncSession

LIBRARY = Path(__file__).with_name("library.toml")
TOPICS = (
    "harms",
    "signs-children",
    "disguised",
    "report",
    "rehab",
    "slogan",
    "law",
    "family",
    "youth",
    "workers",
    "community",
)
AUDIENCES = ("everyone", "youth", "parents", "workers", "schools")
# Who a residential group's chat and its subscribers all are: residents, parents among
# them. A message addressed to schools, to young people or to workers and employers is
# never sent there (issue 19: "Kính gửi Ban Giám hiệu…" in a TDP's group chat).
GROUP_AUDIENCES = frozenset({"everyone", "parents"})
PLACEHOLDERS = frozenset({"ward", "hotlines"})
MAX_TEXT = 3500  # fits one Telegram message (4,096) and two Zalo ones (2,000) with room
# What a recipient reads, the placeholders filled in, is held to the same size: with the
# framing around it (the writer's preview, a commander's approval notice: under 400
# characters with the officer's label and the group's name; a subscriber's stop line)
# it still fits one Telegram message of 4,096 characters.
MAX_RENDERED = 3500
HOTLINE_HEADING = N_("police emergency")  # the label of 113 in the {hotlines} block
_TOKEN = re.compile(r"\{(ward|hotlines)\}")
_BRACED = re.compile(r"\{[^{}]*\}")
MAX_FIELD = 500  # the source note and the image address (their columns' size)
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class ContentError(ValueError):
    """A message that cannot be used; `str()` says which field and why (in English, for
    the CLI to translate by message id)."""

    def __init__(self, problem: str, value: object = ""):
        super().__init__(problem.format(value=value))
        self.problem = problem
        self.value = value


@dataclass(frozen=True)
class Content:
    slug: str
    topic: str
    audience: str
    text_vi: str
    text_en: str = ""
    campaign: str = ""
    source: str = ""
    image_url: str = ""
    reviewed: date | None = None  # required in the shipped file (read_library)
    valid_from: date | None = None
    valid_until: date | None = None

    def __post_init__(self) -> None:
        if not _SLUG.fullmatch(self.slug):
            raise ContentError(N_("slug {value}: use lowercase letters, digits and -"), self.slug)
        if self.topic not in TOPICS:
            raise ContentError(N_("topic {value} is not one of the known topics"), self.topic)
        if self.audience not in AUDIENCES:
            raise ContentError(
                N_("audience {value} is not one of the known audiences"), self.audience
            )
        if self.campaign and not _SLUG.fullmatch(self.campaign):
            raise ContentError(
                N_("campaign {value}: use lowercase letters, digits and -"), self.campaign
            )
        if not self.text_vi.strip():
            raise ContentError(N_("message {value} has no Vietnamese text"), self.slug)
        for text in (self.text_vi, self.text_en):
            check_text(text)
        if self.image_url and not self.image_url.startswith("https://"):
            raise ContentError(N_("the image must be a public https:// address"))
        if len(self.source) > MAX_FIELD or len(self.image_url) > MAX_FIELD:
            raise ContentError(
                N_("the source and the image address may have at most {value} characters each"),
                MAX_FIELD,
            )
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            raise ContentError(N_("message {value}: valid_from is after valid_until"), self.slug)

    def in_force(self, day: date) -> bool:
        """True on the days between valid_from and valid_until, both included."""
        return in_force(self.valid_from, self.valid_until, day)


def in_force(valid_from: date | None, valid_until: date | None, day: date) -> bool:
    return (valid_from is None or valid_from <= day) and (valid_until is None or day <= valid_until)


def file_date(value: object, where: str) -> date:
    """A date of a content file: a TOML date (2026-12-04) or the same written as a string
    ("2026-12-04"); `where` names the entry and field for the error."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ContentError(N_("{value} must be a date written YYYY-MM-DD"), where)


def _optional_date(entry: dict[str, object], field: str, slug: str) -> date | None:
    value = entry.get(field)
    return None if value is None else file_date(value, f"{slug}: {field}")


def check_text(text: str) -> None:
    """The text alone: its length, and placeholders written exactly `{ward}` or
    `{hotlines}` with no other brace anywhere."""
    if len(text) > MAX_TEXT:
        raise ContentError(N_("the text is longer than {value} characters"), MAX_TEXT)
    rest = _TOKEN.sub("", text)
    if "{" not in rest and "}" not in rest:
        return
    braced = next((m for m in _BRACED.finditer(text) if not _TOKEN.fullmatch(m.group(0))), None)
    if braced is not None:
        shown = braced.group(0)
        if len(shown) > 40:
            shown = shown[:38] + "…}"
        raise ContentError(N_("unknown placeholder {value}; use {{ward}} or {{hotlines}}"), shown)
    raise ContentError(
        N_("the text has a stray {{ or }}; placeholders are {{ward}} and {{hotlines}}")
    )


def check_rendered(text: str, ward: Ward, hotline_headings: Iterable[str]) -> None:
    """The text once filled in for `ward`, with each language's 113 label: within
    MAX_RENDERED. Call check_text first."""
    longest = max((rendered_length(text, ward, h) for h in hotline_headings), default=0)
    if longest > MAX_RENDERED:
        raise ContentError(
            N_(
                "with the ward's name and hotline numbers filled in, the text would be "
                "longer than {value} characters"
            ),
            MAX_RENDERED,
        )


def headings(translator: Translator) -> tuple[str, ...]:
    """The 113 label in every language a recipient may read."""
    return tuple(translator.get(language).gettext(HOTLINE_HEADING) for language in SUPPORTED)


@functools.cache
def _shipped_headings() -> tuple[str, ...]:
    return headings(Translator())


def read_library(path: Path = LIBRARY) -> list[Content]:
    """The shipped messages, each checked: every one names its `source` and the date it
    was last `reviewed`; `valid_from`/`valid_until`, when given, are dates in order."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    found = [_entry(entry) for entry in raw.get("message", [])]
    slugs = [c.slug for c in found]
    if len(set(slugs)) != len(slugs):
        raise ContentError(N_("the library has two messages with the same slug"))
    return found


def _entry(entry: dict[str, Any]) -> Content:
    slug = str(entry.get("slug", ""))
    if "reviewed" not in entry:
        raise ContentError(N_("message {value}: reviewed (YYYY-MM-DD) is required"), slug)
    return Content(
        slug=slug,
        topic=entry["topic"],
        audience=entry["audience"],
        text_vi=entry["vi"].strip(),
        text_en=entry.get("en", "").strip(),
        campaign=entry.get("campaign", ""),
        source=entry.get("source", ""),
        image_url=entry.get("image", ""),
        reviewed=file_date(entry["reviewed"], f"{slug}: reviewed"),
        valid_from=_optional_date(entry, "valid_from", slug),
        valid_until=_optional_date(entry, "valid_until", slug),
    )


async def sync_shipped(session: AsyncSession, shipped: Sequence[Content]) -> int:
    """Add shipped messages the database lacks and refresh unedited ones; returns how
    many rows changed."""
    existing = {m.slug: m for m in await awareness.all_messages(session)}
    changed = 0
    for content in shipped:
        row = existing.get(content.slug)
        if row is None:
            row = AwarenessMessage(
                slug=content.slug, shipped=True, active=True, created_at=utcnow()
            )
            awareness.add(session, row)
        elif not row.shipped:
            continue
        elif row.edited or _same(row, content):
            # A legal change retires a message on time, edited by the ward or not.
            if (row.valid_from, row.valid_until) != (content.valid_from, content.valid_until):
                row.valid_from, row.valid_until = content.valid_from, content.valid_until
                changed += 1
            continue
        _copy(row, content)
        changed += 1
    await awareness.flush(session)
    return changed


def _same(row: AwarenessMessage, content: Content) -> bool:
    return (
        row.topic,
        row.audience,
        row.campaign,
        row.source,
        row.text_vi,
        row.text_en,
        row.image_url,
        row.valid_from,
        row.valid_until,
    ) == (
        content.topic,
        content.audience,
        content.campaign,
        content.source,
        content.text_vi,
        content.text_en,
        content.image_url,
        content.valid_from,
        content.valid_until,
    )


def _copy(row: AwarenessMessage, content: Content) -> None:
    row.topic, row.audience, row.campaign = content.topic, content.audience, content.campaign
    row.source, row.image_url = content.source, content.image_url
    row.text_vi, row.text_en = content.text_vi, content.text_en
    row.valid_from, row.valid_until = content.valid_from, content.valid_until
    row.updated_at = utcnow()


async def check_for_wards(session: AsyncSession, content: Content) -> None:
    """A message the ward writes (`wardbot content add/edit`) fits once filled in for
    every ward there is, in every language's heading."""
    for ward in await wards.every_ward(session):
        for text in (content.text_vi, content.text_en):
            check_rendered(text, ward, _shipped_headings())


async def add(session: AsyncSession, content: Content) -> AwarenessMessage:
    if await find(session, content.slug) is not None:
        raise ContentError(N_("a message called {value} exists already"), content.slug)
    await check_for_wards(session, content)
    row = AwarenessMessage(slug=content.slug, shipped=False, active=True, created_at=utcnow())
    _copy(row, content)
    awareness.add(session, row)
    await awareness.flush(session)
    return row


async def edit(session: AsyncSession, row: AwarenessMessage, **changes: str) -> None:
    """Change fields of a message; the result is checked as a whole before it is kept."""
    current = Content(
        row.slug,
        row.topic,
        row.audience,
        row.text_vi,
        row.text_en,
        row.campaign,
        row.source,
        row.image_url,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
    )
    updated = Content(**{**current.__dict__, **{k: v for k, v in changes.items() if v is not None}})
    await check_for_wards(session, updated)
    _copy(row, updated)
    row.edited = True
    await awareness.flush(session)


async def find(session: AsyncSession, slug: str) -> AwarenessMessage | None:
    return await awareness.find(session, slug)


async def list_messages(
    session: AsyncSession, *, campaign: str | None = None, active_only: bool = False
) -> Sequence[AwarenessMessage]:
    return await awareness.listed(session, campaign=campaign, active_only=active_only)


def _values(ward: Ward, hotline_heading: str) -> dict[str, str]:
    lines = [f"• 113 ({hotline_heading})"]
    lines += [f"• {label}: {number}" for label, number in ward.hotlines or []]
    return {"ward": ward.name, "hotlines": "\n".join(lines)}


def rendered_length(text: str, ward: Ward, hotline_heading: str) -> int:
    """How long render() would make `text` before any shortening, worked out without
    building it."""
    values = _values(ward, hotline_heading)
    return len(text) + sum(len(values[m.group(1)]) - len(m.group(0)) for m in _TOKEN.finditer(text))


def render(text: str, ward: Ward, hotline_heading: str) -> str:
    """Fill the placeholders with the ward's name and numbers (113 always first), by
    plain substitution in one pass: nothing else in the text is interpreted, and what
    the ward's name contains is never filled again.

    Texts are checked with check_rendered when written; should one still come out longer
    than MAX_RENDERED (a ward's numbers grew since, a row older than the check), it is
    shortened rather than refused, so the sender can never stall on it."""
    values = _values(ward, hotline_heading)
    filled = _TOKEN.sub(lambda m: values[m.group(1)], text)
    if len(filled) > MAX_RENDERED:
        filled = filled[: MAX_RENDERED - 1].rstrip() + "…"
    return filled
