"""The Inbox's chart of the last hour, laid out on the server for an inline SVG.

One strip per trigger, a bar per minute: verified deliveries rise above the strip's middle
line, rejected ones hang below it, so the two differ by place as well as by colour. Every
strip shares one scale. The numbers behind the bars are also given as words (each strip's
title and description) and as a table, for those who do not see the picture.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..services.inbox import Traffic

# The strip's drawing units: 10 across per minute of an hour, and this much room for bars on
# each side of the middle line. The page stretches the strip to its width.
SLOT = 10
BAR = 8
HALF = 28
# A single delivery still shows as a bar, however tall the tallest one.
LOWEST = 2
TICK_MINUTES = 15


@dataclass(frozen=True)
class Bar:
    kind: str  # "verified" or "rejected"
    x: int
    y: float
    height: float
    label: str


@dataclass(frozen=True)
class Strip:
    action: str
    title: str
    verified: int
    rejected: int
    bars: list[Bar]
    description: str


@dataclass(frozen=True)
class Row:
    """One line of the table under the chart: a trigger's deliveries in one minute."""

    minute: str
    title: str
    verified: int
    rejected: int


@dataclass(frozen=True)
class Chart:
    span: str
    strips: list[Strip]
    ticks: list[str]
    gridlines: list[int]
    tallest: int
    verified: int
    rejected: int
    rows: list[Row]
    width: int
    height: int
    middle: int
    bar_width: int = BAR

    @property
    def empty(self) -> bool:
        return not self.strips


def _clock(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def _deliveries(count: int) -> str:
    return f"{count:,} deliver{'y' if count == 1 else 'ies'}"


def _height(count: int, tallest: int) -> float:
    """In tenths at most; a whole number prints without its ".0"."""
    height = max(LOWEST, round(HALF * count / tallest, 1))
    return int(height) if height == int(height) else height


def last_hour(traffic: Traffic, titles: Mapping[str, str]) -> Chart:
    """The chart of ``traffic``; ``titles`` names triggers in plain words, in the order the
    strips should come (triggers it does not name follow, by their code)."""
    minutes = traffic.minutes
    first = traffic.first_minute
    per_action: dict[str, dict[int, tuple[int, int]]] = {}
    for count in traffic.counts:
        slot = int((count.minute - first).total_seconds() // 60)
        if 0 <= slot < minutes and (count.verified or count.rejected):
            per_action.setdefault(count.action, {})[slot] = (count.verified, count.rejected)
    tallest = max(
        (max(pair) for slots in per_action.values() for pair in slots.values()), default=0
    )
    known = [action for action in titles if action in per_action]
    ordered = known + sorted(action for action in per_action if action not in titles)

    strips: list[Strip] = []
    rows: list[tuple[int, Row]] = []
    for action in ordered:
        title = titles.get(action, action)
        slots = per_action[action]
        bars: list[Bar] = []
        for slot, (verified, rejected) in sorted(slots.items()):
            at = _clock(first + timedelta(minutes=slot))
            x = slot * SLOT + (SLOT - BAR) // 2
            rows.append((slot, Row(at, title, verified, rejected)))
            if verified:
                height = _height(verified, tallest)
                label = f"{at} UTC: {verified:,} verified"
                bars.append(Bar("verified", x, round(HALF - height, 1), height, label))
            if rejected:
                label = f"{at} UTC: {rejected:,} rejected"
                bars.append(Bar("rejected", x, HALF, _height(rejected, tallest), label))
        verified_total = sum(verified for verified, _ in slots.values())
        rejected_total = sum(rejected for _, rejected in slots.values())
        busiest, (top_verified, top_rejected) = max(
            slots.items(), key=lambda item: (sum(item[1]), -item[0])
        )
        description = (
            f"{verified_total:,} verified and {rejected_total:,} rejected in the last hour; "
            f"the busiest minute, {_clock(first + timedelta(minutes=busiest))} UTC, had "
            f"{_deliveries(top_verified + top_rejected)}."
        )
        strips.append(Strip(action, title, verified_total, rejected_total, bars, description))

    # Newest minute first (by time, not by its HH:MM, which starts again at midnight); the
    # triggers of one minute in the strips' order.
    rows.sort(key=lambda item: -item[0])
    last = first + timedelta(minutes=minutes - 1)
    # The strip's right edge is the end of this minute: now.
    ticks = [_clock(first + timedelta(minutes=m)) for m in range(0, minutes, TICK_MINUTES)]
    return Chart(
        span=f"{_clock(first)}–{_clock(last)} UTC",
        strips=strips,
        ticks=[*ticks, "now"],
        gridlines=[m * SLOT for m in range(TICK_MINUTES, minutes, TICK_MINUTES)],
        tallest=tallest,
        verified=sum(strip.verified for strip in strips),
        rejected=sum(strip.rejected for strip in strips),
        rows=[row for _, row in rows],
        width=minutes * SLOT,
        height=2 * HALF,
        middle=HALF,
    )
