"""A trigger's filters in one plain line: "Only messages from customers".

static/js/triggers.js builds the same line in the browser as filters change, from the words
each choice carries (``data-effect``); keep the two in step.
"""

from __future__ import annotations

from typing import Any

from ..livechat import catalog
from .forms.wizard import AUTHOR_CHOICES, DATA_CHOICES, SOURCE_CHOICES

IDS_SHOWN = 3


def _effects(choices: list) -> dict[str, str]:
    return {choice.value: choice.render_kw.get("data-effect", "") for choice in choices}


AUTHOR = _effects(AUTHOR_CHOICES)
SOURCE = _effects(SOURCE_CHOICES)
DATA = _effects(DATA_CHOICES)


def id_list(ids: list[str]) -> str:
    """The first few IDs, and how many more: "a@x, b@x, c@x and 4 more"."""
    shown = ", ".join(ids[:IDS_SHOWN])
    return f"{shown} and {len(ids) - IDS_SHOWN} more" if len(ids) > IDS_SHOWN else shown


def _presence(presence: dict[str, Any]) -> list[str]:
    user_ids = presence.get("user_ids") or {}
    bots = bool(presence.get("my_bots"))
    pieces = []
    if "values" in user_ids:
        # LiveChat fires when any listed user, or any of the app's bots, is in the chat.
        extra = " or this app's bots" if bots else ""
        pieces.append(f"in chats with {id_list(user_ids['values'])}{extra}")
    elif bots:
        pieces.append("in chats with this app's bots")
    if "exclude_values" in user_ids:
        pieces.append(f"in chats without {id_list(user_ids['exclude_values'])}")
    return pieces


def effect(action: str, filters: dict[str, Any], additional_data: list[str]) -> str:
    """What a trigger with these filters sends, in one line."""
    filters = filters or {}
    pieces = []
    if filters.get("author_type"):
        pieces.append(AUTHOR.get(filters["author_type"], ""))
    pieces += _presence(filters.get("chat_presence") or {})
    if filters.get("only_my_chats"):
        pieces.append("in chats this app started")
    agents = filters.get("agent_ids") or {}
    if "values" in agents:
        pieces.append(f"for {id_list(agents['values'])}")
    if "exclude_values" in agents:
        pieces.append(f"for agents other than {id_list(agents['exclude_values'])}")
    # In the order the page lists them, as the browser's copy of this line has them.
    sources = [s for s in SOURCE if s in (filters.get("source_type") or [])]
    if sources:
        pieces.append("done by " + " or ".join(SOURCE[s] for s in sources))
    noun = catalog.noun(action)
    text = f"Only {noun} {', '.join(p for p in pieces if p)}" if pieces else f"All {noun}"
    data = [DATA[d] for d in DATA if d in (additional_data or [])]
    if data:
        text += "; also sends " + " and ".join(data)
    return text
