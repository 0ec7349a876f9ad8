"""Where a tip came from. The plans count every tip the ward receives, not only those
sent through the bot (seed 001: "100% tin báo, tố giác tội phạm về ma túy được tiếp
nhận, xử lý kịp thời"), so an officer records the others, each with its source."""

from __future__ import annotations

from enum import StrEnum

from kernel.i18n import N_


class TipSource(StrEnum):
    BOT = "bot"
    HOTLINE = "hotline"
    TIP_BOX = "tip_box"
    IN_PERSON = "in_person"
    VNEID = "vneid"
    AGENCY = "agency"


# In the order an officer is offered them (the bot's own tips are never entered by hand).
SOURCE_LABELS: dict[TipSource, str] = {
    TipSource.HOTLINE: N_("Hotline (by phone)"),
    TipSource.TIP_BOX: N_("Tip box"),
    TipSource.IN_PERSON: N_("In person"),
    TipSource.VNEID: N_("VNeID"),
    TipSource.AGENCY: N_("Another agency"),
    TipSource.BOT: N_("Through the bot"),
}
RECORDED_BY_OFFICERS: tuple[TipSource, ...] = tuple(s for s in SOURCE_LABELS if s != TipSource.BOT)
