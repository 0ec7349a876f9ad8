"""Logs at DEBUG carry nothing a resident sent and nothing that names them: not the tip,
not the chat ids or names, not the tip code or the receipt secret, not a pseudonym.
Libraries (aiosqlite above all, which logs every SQL call with its parameters at DEBUG)
are kept quiet by `quiet_content_loggers`, whatever level the root logger has."""

from __future__ import annotations

import logging
import secrets

from bot.app import open_app
from storage.models import OfficerRole
from storage.pseudonyms import Purpose
from tests.helpers import Chat, add_phu_lien, enrol, leaks, needles, send_report


async def test_a_whole_conversation_at_debug_logs_no_content_or_identity(settings, caplog) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger and the capturing handler
    logging.getLogger().setLevel(logging.DEBUG)
    assert logging.getLogger().getEffectiveLevel() == logging.DEBUG

    tag = secrets.token_hex(4)
    reporter_id = str(7_000_000_000 + secrets.randbelow(10**9))
    subscriber_id = secrets.token_hex(10)  # Zalo ids look like this
    officer_name = f"officer-{tag}"
    tip_text = f"Nhà số 12 ngõ 5 có người bán ma túy đá {tag}"
    accounts = [("telegram", reporter_id), ("zalo", subscriber_id), ("console", officer_name)]

    app = await open_app(settings)  # at DEBUG: the migrations and the keyring too
    try:
        ward = await add_phu_lien(app)
        officer = await enrol(app, ward, OfficerRole.OFFICER, officer_name, "Trinh sát Minh")
        reporter = Chat(app, reporter_id, channel="telegram")
        code, secret = await send_report(reporter, tip_text, contact=True)

        await officer.send(f"/tip {code}")  # the officer reads it
        assert tip_text in officer.text

        subscriber = Chat(app, subscriber_id, channel="zalo")
        await subscriber.send("/subscribe")
        await subscriber.send("Nam Hải")
        assert "Nam Hải" in subscriber.text

        await reporter.send(f"/status {code} {secret}")  # a status check with the receipt
        assert f"Tin {code}" in reporter.text

        values = needles(
            tip_text=tip_text,
            reporter_id=reporter_id,
            subscriber_id=subscriber_id,
            officer_name=officer_name,
            tip_code=code,
            receipt_secret=secret,
            receipt_secret_compact=secret.replace("-", ""),
        )
        for purpose in Purpose:
            for channel, account in accounts:
                pseudonym = app.services.pseudonyms.of(purpose, channel, account)
                values.update(needles(**{f"pseudonym_{purpose}_{channel}": pseudonym}))
    finally:
        await app.close()

    assert caplog.records, "nothing was captured: the test would prove nothing"
    assert leaks(caplog.text.encode(), values) == []
    assert leaks("\n".join(map(repr, caplog.record_tuples)).encode(), values) == []
