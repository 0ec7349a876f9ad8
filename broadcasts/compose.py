"""What a recipient reads: the message in their language, with the ward's name and
numbers filled in (plain substitution of `{ward}` and `{hotlines}` only, never
str.format, and never longer than library.MAX_RENDERED), and for a subscriber how to
stop."""

from __future__ import annotations

from broadcasts.deliveries import CHAT, Job
from broadcasts.library import HOTLINE_HEADING, render
from kernel.i18n import Translator
from storage import awareness, wards
from storage import broadcasts as broadcast_rows
from storage.session import AsyncSession

CACHE_SIZE = 1000


class Texts:
    """Rendered texts by broadcast and language, read from the database once per batch
    of jobs rather than once per recipient."""

    def __init__(self, translator: Translator, default_language: str):
        self._translator = translator
        self._default = default_language
        self._cache: dict[tuple[int, str], str] = {}
        self._images: dict[int, str] = {}

    async def prepare(self, session: AsyncSession, jobs: list[Job]) -> None:
        """Make `for_job` ready for every job in this batch."""
        if len(self._cache) > CACHE_SIZE:
            self._cache.clear()  # before adding: the batch's own texts stay
            self._images.clear()
        for job in jobs:
            language = self._language(job)
            key = (job.broadcast_id, language)
            if key not in self._cache:
                self._cache[key] = await self._render(session, job.broadcast_id, language)

    def for_job(self, job: Job) -> str:
        language = self._language(job)
        text = self._cache[(job.broadcast_id, language)]
        if job.target_kind != CHAT:
            _ = self._translator.get(language).gettext
            text += "\n\n" + _("You receive this because you subscribed. To stop: /stop")
        return text

    def image_for(self, job: Job) -> str:
        """The public image the message shows above its text, or ""."""
        return self._images.get(job.broadcast_id, "")

    def _language(self, job: Job) -> str:
        return job.language or self._default

    async def _render(self, session: AsyncSession, broadcast_id: int, language: str) -> str:
        broadcast = await broadcast_rows.get(session, broadcast_id)
        if broadcast is None:
            raise LookupError("a delivery whose broadcast is gone")
        ward = await wards.get_ward(session, broadcast.ward_id)
        if ward is None:  # not while the broadcast row exists (ON DELETE CASCADE)
            raise LookupError("a delivery whose ward is gone")
        message = (
            await awareness.get(session, broadcast.message_id) if broadcast.message_id else None
        )
        self._images[broadcast_id] = message.image_url if message is not None else ""
        if message is not None:
            body = message.text_en if language == "en" and message.text_en else message.text_vi
        else:
            body = broadcast.text or ""
        _ = self._translator.get(language).gettext
        return render(body, ward, _(HOTLINE_HEADING))
