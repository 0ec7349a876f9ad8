"""Nothing a conversation holds outlives its time, and wrong secrets from others slow a
reporter down a little but never lock them out of their own tip."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from bot.jobs import retention_tick
from handlers.flows import UnlockedTip
from kernel.clock import utcnow
from storage import conversations, rate_limits
from storage.crypto import RecordRef, WrappedKey
from storage.models import Conversation, DraftFile, RateCounter, utcday
from storage.pseudonyms import Purpose
from tests.helpers import Chat, add_phu_lien, leaks, needles, raw_database_bytes, send_report


def _vi(app, message: str) -> str:
    return app.services.translator.get("vi").gettext(message)


async def _sealed_state(app, account: str) -> dict:
    """The conversation's state as stored, opened with the keys but without the loading
    path (which drops what has expired by itself)."""
    async with app.services.db.transaction() as session:
        row = await session.scalar(select(Conversation).where(Conversation.account == account))
        assert row is not None
        cipher = app.services.vault.cipher(
            WrappedKey(row.wrapped_key), RecordRef("conversations", row.id)
        )
        return cipher.open_json("state", row.sealed_state)


async def test_a_conversation_forgets_the_tip_it_unlocked_even_if_never_used_again(app) -> None:
    await add_phu_lien(app)
    reporter = Chat(app, "an")
    code, secret = await send_report(reporter, "có người bán hàng")
    await reporter.send(f"/status {code} {secret}")
    assert code in reporter.text
    account = app.services.pseudonyms.of(Purpose.CONVERSATION, "console", "an")
    assert UnlockedTip.KEY in (await _sealed_state(app, account))["data"]
    await retention_tick(app.services)  # still within its time: kept
    assert UnlockedTip.KEY in (await _sealed_state(app, account))["data"]
    async with app.services.db.transaction() as session:  # its 25 minutes pass
        stored = await conversations.load(session, app.services.vault, account)
        stored.state.expires[UnlockedTip.KEY] = (utcnow() - timedelta(seconds=1)).isoformat()
        await conversations.save(session, app.services.vault, stored)
    # A raw save keeps what expired; the periodic sweep, not a new message, removes it.
    assert UnlockedTip.KEY in (await _sealed_state(app, account))["data"]
    await retention_tick(app.services)
    state = await _sealed_state(app, account)
    assert UnlockedTip.KEY not in state["data"] and not state["expires"]


async def test_conversations_unused_for_a_month_go_with_their_drafts_and_files(app) -> None:
    await add_phu_lien(app)
    idle, active = Chat(app, "binh"), Chat(app, "cuong")
    for chat in (idle, active):
        await chat.send("/start")
        await chat.send(action="report:start")
        await chat.send(action="report:cat:dealing")
    idle_account = app.services.pseudonyms.of(Purpose.CONVERSATION, "console", "binh")
    async with app.services.db.transaction() as session:
        stored = await conversations.load(session, app.services.vault, idle_account)
        await conversations.add_draft_file(
            session,
            app.services.vault,
            stored,
            conversations.DraftFileData("image", "image/jpeg", b"\xff\xd8\xffdraft"),
        )
        await session.execute(  # a month and a day without a message
            update(Conversation)
            .where(Conversation.account == idle_account)
            .values(touched_on=utcday() - timedelta(days=31))
        )
    await retention_tick(app.services)
    async with app.services.db.transaction() as session:
        accounts = set(await session.scalars(select(Conversation.account)))
        files = (await session.scalars(select(DraftFile))).all()
    assert idle_account not in accounts and len(accounts) == 1
    assert files == []
    await idle.send("/start")  # the resident simply starts afresh
    assert idle.options()


async def test_wrong_secrets_from_many_accounts_only_slow_the_reporter_down(app) -> None:
    await add_phu_lien(app)
    reporter = Chat(app, "dung")
    code, secret = await send_report(reporter, "điểm tụ tập sử dụng ma túy")
    for n in range(21):  # an attacker rotating accounts
        guesser = Chat(app, f"guess-{n}")
        await guesser.send(f"/status {code} AAAA-BBBB-CCCC-{n:04d}")
    await reporter.send(f"/status {code} {secret}")
    # Slowed down, and the secret is not even checked meanwhile (no oracle).
    assert _vi(app, "Tip {code}").format(code=code) not in reporter.text
    waits = _vi(
        app, "Too many wrong tries. Please wait about {minutes} minutes, then try again."
    ).split("{minutes}")[0]
    assert waits in reporter.text or _vi(app, "Please wait a minute, then try again.") in (
        reporter.text
    )
    subject = app.services.pseudonyms.of(Purpose.RECEIPT_CODE, "code", code)
    async with app.services.db.transaction() as session:
        wait = await rate_limits.wait_left(session, subject, "receipt-fail", utcnow())
        assert timedelta(0) < wait <= timedelta(minutes=5)
        # The wait passes (moved back in the table, as the clock would).
        await session.execute(
            update(RateCounter)
            .where(RateCounter.subject == subject)
            .values(not_before=utcnow() - timedelta(seconds=1))
        )
    await reporter.send(f"/status {code} {secret}")
    assert _vi(app, "Tip {code}").format(code=code) in reporter.text
    # Probed codes are kept only keyed, never in clear.
    raw = await raw_database_bytes(app.services.settings.database_url)
    assert leaks(raw, needles(tip_code=f"code:{code}")) == []
