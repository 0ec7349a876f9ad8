"""Awareness texts may use bare `{ward}` and `{hotlines}` only, filled by plain
substitution and never longer than one message (issue 15, item 12): in officers' ad-hoc
drafts, in `wardbot content add/edit`, and in what residents receive."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.jobs import broadcast_tick
from broadcasts import library
from broadcasts.calendar import period_of
from broadcasts.library import MAX_RENDERED, MAX_TEXT, Content, ContentError
from kernel.clock import utcnow
from kernel.routes import Route
from storage import subscribers
from storage.models import (
    Broadcast,
    BroadcastKind,
    BroadcastStatus,
    Officer,
    OfficerRole,
    ResidentialGroup,
    Ward,
)
from tests.helpers import add_phu_lien, cli_ok, cli_refused, enrol, group_id, outbox_for

ATTACK = "{ward:>3000000}{hotlines:^3000000}"  # 33 characters; 6,000,107 with str.format
TELEGRAM = 4096
CANNOT = "This text cannot be sent: {problem}. Please write it again."
UNKNOWN_PLACEHOLDER = "unknown placeholder {value}; use {{ward}} or {{hotlines}}"
TOO_LONG_FILLED = (
    "with the ward's name and hotline numbers filled in, the text would be longer than "
    "{value} characters"
)


def vi(app: App, message: str) -> str:
    return app.services.translator.get("vi").gettext(message)


def refusal(app: App, problem: str, value: object = "") -> str:
    return vi(app, CANNOT).format(problem=vi(app, problem).format(value=value))


def a_ward(name: str = "Phù Liễn", hotlines: int = 1, width: int = 12) -> Ward:
    numbers = [[f"Công an {i}", f"0225 {i:0{width}d}"] for i in range(hotlines)]
    return Ward(name=name, code="phu-lien", hotlines=numbers)


# ---- the check and the rendering ---------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        ATTACK,
        "{ward:>3000000}",
        "{hotlines:^99}",
        "{ward!r}",
        "{ward!s:>50}",
        "{ward.name}",
        "{ward.__class__}",
        "{ward[0]}",
        "{hotlines[0]}",
        "{0}",
        "{}",
        "{ward }",
        "{ Ward}",
        "{WARD}",
        "Bà con {ward} lưu ý {ngay}",
    ],
)
def test_only_bare_placeholders_pass(text: str) -> None:
    with pytest.raises(ContentError) as refused:
        library.check_text(text)
    assert refused.value.problem == UNKNOWN_PLACEHOLDER
    assert str(refused.value.value).startswith("{") and len(str(refused.value.value)) <= 40
    with pytest.raises(ContentError):
        Content("a-message", "harms", "everyone", text)


@pytest.mark.parametrize("text", ["{", "}", "{ward", "hotlines}", "{{ward}}", "{{", "a } b {"])
def test_a_stray_brace_is_refused(text: str) -> None:
    with pytest.raises(ContentError, match="stray"):
        library.check_text(text)


@pytest.mark.parametrize(
    "text",
    ["Bà con {ward} lưu ý.\n{hotlines}", "{ward}{ward}{hotlines}", "Không có chỗ điền.", ""],
)
def test_bare_placeholders_and_plain_text_pass(text: str) -> None:
    library.check_text(text)


def test_rendering_is_plain_substitution_of_the_two_tokens_only() -> None:
    ward = a_ward(name="Phường {hotlines} {0}")
    text = "Bà con {ward} lưu ý:\n{hotlines}"
    filled = library.render(text, ward, "cảnh sát")
    assert filled == "Bà con Phường {hotlines} {0} lưu ý:\n• 113 (cảnh sát)\n• Công an 0: 0225 " + (
        "0" * 12
    )  # the ward's name is not filled again
    assert library.rendered_length(text, ward, "cảnh sát") == len(filled)
    # A row kept before the check: nothing in it is interpreted, so it stays its size.
    assert library.render(ATTACK, ward, "cảnh sát") == ATTACK


def test_rendering_never_exceeds_the_limit() -> None:
    ward = a_ward(hotlines=40, width=40)
    text = "{hotlines}\n" * 50
    assert library.rendered_length(text, ward, "x") > 20 * MAX_RENDERED
    filled = library.render(text, ward, "x")
    assert MAX_RENDERED - 10 < len(filled) <= MAX_RENDERED and filled.endswith("…")
    with pytest.raises(ContentError) as refused:
        library.check_rendered(text, ward, ["x", "yy"])
    assert refused.value.problem == TOO_LONG_FILLED and refused.value.value == MAX_RENDERED
    # The limit, with the framing of a preview or a commander's notice, fits Telegram.
    assert MAX_RENDERED <= MAX_TEXT and MAX_RENDERED + 400 < TELEGRAM


def test_every_shipped_message_renders_within_the_limit() -> None:
    ward = a_ward(hotlines=3)
    for content in library.read_library():
        for text in (content.text_vi, content.text_en):
            library.check_text(text)
            library.check_rendered(text, ward, ["Cảnh sát khẩn cấp", "police emergency"])


# ---- an officer's ad-hoc draft -------------------------------------------------------------


async def _broadcasts(app: App) -> int:
    async with app.services.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Broadcast)) or 0)


async def _set_hotlines(app: App, ward_id: int, numbers: list[list[str]]) -> None:
    async with app.services.db.transaction() as session:
        ward = await session.get(Ward, ward_id)
        assert ward is not None
        ward.hotlines = numbers


async def test_a_format_spec_draft_is_refused_in_the_officers_language(app) -> None:
    ward_id = await add_phu_lien(app)
    officer = await enrol(app, ward_id, OfficerRole.OFFICER, "officer-1", "Trinh sát Minh")
    await enrol(app, ward_id, OfficerRole.COMMANDER, "commander-1", "Trưởng CA Hùng")
    await officer.send("/broadcast")
    await officer.send(ATTACK)
    assert officer.text == refusal(app, UNKNOWN_PLACEHOLDER, "{ward:>3000000}")
    assert len(officer.text) < 300
    await officer.send(action="bc:scope:all")  # no draft was kept: back to writing
    assert "{ward}" in officer.text and len(officer.text) < 1000
    await officer.send(action="bc:submit")
    assert officer.text == vi(app, "There is no draft to send. Start with /broadcast.")
    assert await _broadcasts(app) == 0
    assert "Trinh sát Minh" not in await outbox_for(app, "commander-1")

    await officer.send(action="lang:en")  # the same officer, in English
    await officer.send("/broadcast")
    await officer.send("Meeting tonight {ward!r}")
    assert officer.text == (
        "This text cannot be sent: unknown placeholder {ward!r}; use {ward} or {hotlines}. "
        "Please write it again."
    )


async def test_a_draft_too_long_once_filled_in_is_refused(app) -> None:
    ward_id = await add_phu_lien(app)
    officer = await enrol(app, ward_id, OfficerRole.OFFICER, "officer-1", "Trinh sát Minh")
    await enrol(app, ward_id, OfficerRole.COMMANDER, "commander-1", "Trưởng CA Hùng")
    numbers = [[f"Công an tổ dân phố số {i:02d}", f"0225 3{i:06d}"] for i in range(30)]
    await _set_hotlines(app, ward_id, numbers)  # about 1,250 characters of numbers

    await officer.send("/broadcast")
    await officer.send("Họp tổ:\n{hotlines}\n{hotlines}\n{hotlines}")
    assert officer.text == refusal(app, TOO_LONG_FILLED, MAX_RENDERED)
    await officer.send("Họp tổ:\n{hotlines}\n{hotlines}")  # asked again; this one fits
    await officer.send(action="bc:scope:all")
    preview = officer.text
    assert "0225 3000029" in preview and len(preview) <= TELEGRAM
    await officer.send(action="bc:submit")
    assert await _broadcasts(app) == 1
    notice = await outbox_for(app, "commander-1")
    assert "0225 3000029" in notice
    sent = notice[notice.index("📣") :]
    assert len(sent.split("/reject")[0]) <= TELEGRAM

    # The ward's numbers grow between the preview and the submission: checked again.
    await officer.send("/broadcast")
    await officer.send("Họp tổ:\n{hotlines}\n{hotlines}")
    await officer.send(action="bc:scope:all")
    await _set_hotlines(app, ward_id, numbers + numbers)
    await officer.send(action="bc:submit")
    assert officer.text == refusal(app, TOO_LONG_FILLED, MAX_RENDERED)
    assert await _broadcasts(app) == 1


async def test_a_draft_kept_before_the_check_cannot_be_approved(app) -> None:
    ward_id = await add_phu_lien(app)
    await enrol(app, ward_id, OfficerRole.OFFICER, "officer-1", "Trinh sát Minh")
    commander = await enrol(app, ward_id, OfficerRole.COMMANDER, "commander-1", "Trưởng CA Hùng")
    now = utcnow()
    async with app.services.db.transaction() as session:
        writer = await session.scalar(select(Officer).where(Officer.label == "Trinh sát Minh"))
        assert writer is not None
        old = Broadcast(
            ward_id=ward_id,
            group_id=None,
            kind=BroadcastKind.ADHOC,
            period=period_of(now, app.services.settings.zone),
            text=ATTACK,
            to_groups=True,
            to_subscribers=True,
            status=BroadcastStatus.PENDING_APPROVAL,
            scheduled_at=now,
            created_by=writer.id,
            created_at=now,
        )
        session.add(old)
        await session.flush()
        old_id = old.id
    await commander.send(f"/approve {old_id}")
    assert commander.text == vi(
        app,
        "Broadcast #{id} cannot be approved: its text does not pass today's checks. "
        "Please reject it and ask for a new draft.",
    ).format(id=old_id)
    await commander.send(f"/reject {old_id}")
    async with app.services.db.transaction() as session:
        kept = await session.get(Broadcast, old_id)
        assert kept is not None and kept.status == BroadcastStatus.REJECTED


# ---- what residents receive ------------------------------------------------------------------


async def _scheduled(app: App, ward_id: int, text: str) -> None:
    """A broadcast due now, as rows written before the check (or since) could be."""
    now = utcnow()
    due = Broadcast(
        ward_id=ward_id,
        group_id=None,
        kind=BroadcastKind.ADHOC,
        period=period_of(now, app.services.settings.zone),
        text=text,
        to_groups=True,
        to_subscribers=True,
        status=BroadcastStatus.SCHEDULED,
        scheduled_at=now,
        created_at=now,
    )
    async with app.services.db.transaction() as session:
        session.add(due)


async def _subscribe(app: App, person: str) -> None:
    services = app.services
    to_9 = await group_id(app, "Tổ 9")
    async with services.db.transaction() as session:
        group = await session.get(ResidentialGroup, to_9)
        assert group is not None
        await subscribers.subscribe(
            session, services.vault, services.pseudonyms, Route("console", person), group, "vi"
        )


async def _deliver(app: App) -> None:
    """The broadcast tick, with quiet hours off so the test does not depend on the hour."""
    settings = replace(app.services.settings, quiet_start="00:00", quiet_end="00:00")
    await broadcast_tick(replace(app.services, settings=settings))


async def test_residents_get_a_legacy_text_as_written_never_expanded(app) -> None:
    ward_id = await add_phu_lien(app)
    await _subscribe(app, "cu-dan-1")
    await _scheduled(app, ward_id, "Bà con {ward} lưu ý " + ATTACK)
    await _deliver(app)
    box = await outbox_for(app, "cu-dan-1")
    assert "Bà con Phù Liễn lưu ý " + ATTACK in box
    assert len(box) < 1000


async def test_residents_never_get_more_than_the_limit(app) -> None:
    ward_id = await add_phu_lien(app)
    await _subscribe(app, "cu-dan-1")
    await _scheduled(app, ward_id, "Họp tổ:\n{hotlines}\n{hotlines}\n{hotlines}")
    numbers = [[f"Công an tổ dân phố số {i:02d}", f"0225 3{i:06d}"] for i in range(60)]
    await _set_hotlines(app, ward_id, numbers)  # grew after the text was approved
    await _deliver(app)
    box = await outbox_for(app, "cu-dan-1")
    assert "Họp tổ:\n• 113" in box and "…" in box
    assert len(box) < MAX_RENDERED + 300  # the text shortened, then the stop line


# ---- `wardbot content add/edit` ---------------------------------------------------------------


async def test_library_add_and_edit_check_every_ward(app) -> None:
    ward_id = await add_phu_lien(app)
    numbers = [[f"Công an tổ dân phố số {i:02d}", f"0225 3{i:06d}"] for i in range(30)]
    await _set_hotlines(app, ward_id, numbers)
    long_once_filled = Content("hop-to", "community", "everyone", "{hotlines}\n" * 3)
    fits = Content("hop-to", "community", "everyone", "Họp tổ:\n{hotlines}")
    async with app.services.db.transaction() as session:
        with pytest.raises(ContentError) as refused:
            await library.add(session, long_once_filled)
        assert refused.value.problem == TOO_LONG_FILLED
        assert await library.find(session, "hop-to") is None
        row = await library.add(session, fits)
        with pytest.raises(ContentError) as refused:
            await library.edit(session, row, text_en="{hotlines}\n" * 3)
        assert refused.value.problem == TOO_LONG_FILLED
        with pytest.raises(ContentError) as refused:
            await library.edit(session, row, text_vi=ATTACK)
        assert refused.value.problem == UNKNOWN_PLACEHOLDER
        assert row.text_vi == "Họp tổ:\n{hotlines}" and row.text_en == ""


def test_the_cli_refuses_a_format_spec_politely(cli_env, tmp_path: Path) -> None:
    cli_ok(cli_env, "content", "list")  # the first run makes the keyring, and says so
    bad = tmp_path / "bad.txt"
    bad.write_text("Bà con " + ATTACK, encoding="utf-8")
    stderr = cli_refused(
        cli_env,
        "content",
        "add",
        "hop-to",
        "--topic",
        "community",
        "--audience",
        "everyone",
        "--vi",
        str(bad),
    )
    assert "{ward:>3000000}" in stderr and "{hotlines}" in stderr and len(stderr) < 300
