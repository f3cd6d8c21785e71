"""What every model module shares."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Naive UTC, as stored in every timestamp column."""
    return datetime.now(UTC).replace(tzinfo=None)
