"""The session type callers outside storage/ annotate with.

Only storage/ speaks SQL (issue 17): the rest of the bot holds the session a
transaction opened and hands it to storage functions, and names its type from here
rather than importing SQLAlchemy itself.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

__all__ = ["AsyncSession"]
