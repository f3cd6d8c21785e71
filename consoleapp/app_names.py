"""App names: the characters a name may hold, and the key that tells lookalikes apart.

Two names are the same name when they look the same: their keys are compared, never the names.
The key is NFKC-normalized and case-folded (fullwidth, mathematical and circled letters, the
no-break and ideographic spaces fold onto the plain ones), drops the invisible characters a
name may still carry (variation selectors, and any in names saved before they were refused),
and collapses runs of spaces, which every page shows as one anyway.
"""

from __future__ import annotations

import unicodedata

NAME_MAX = 80
# NFKC writes one character as up to 18 (U+FDFA), so the key of an 80-character name fits here.
KEY_MAX = NAME_MAX * 18

ZERO_WIDTH_JOINER = "\u200d"
TEXT_DIRECTION_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Invisible characters outside category Cf: Unicode's other default-ignorable code points,
# plus blank letters and symbols used to fake empty or lookalike names.
_OTHER_INVISIBLE = [
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong and jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors
    (0x2060, 0x206F),  # invisible operators and the unassigned code points among them
    (0x2800, 0x2800),  # Braille pattern blank
    (0x3164, 0x3164),  # Hangul filler
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF0, 0xFFF8),  # reserved ignorables
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0000, 0xE0FFF),  # tags and reserved ignorables
]
# Variation selectors pick a glyph for the character before them (❤ or ❤️, 1️⃣, a variant of
# a CJK ideograph): kept after such a character, left out of the key.
_VARIATION_SELECTORS = [(0xFE00, 0xFE0F), (0xE0100, 0xE01EF)]
_TAKES_VARIATION = {"So", "Sk", "Sm", "Nd", "Po"}


def _within(ch: str, ranges: list[tuple[int, int]]) -> bool:
    code = ord(ch)
    return any(low <= code <= high for low, high in ranges)


def is_variation_selector(ch: str) -> bool:
    return _within(ch, _VARIATION_SELECTORS)


def is_invisible(ch: str) -> bool:
    """A character that prints nothing: a format character (Cf) or another ignorable one."""
    return (
        unicodedata.category(ch) == "Cf"
        or _within(ch, _OTHER_INVISIBLE)
        or is_variation_selector(ch)
    )


def is_line_break_or_control(ch: str) -> bool:
    return unicodedata.category(ch) in {"Cc", "Zl", "Zp"}


def _is_symbol(ch: str) -> bool:
    return unicodedata.category(ch) in {"So", "Sk"}


def _allowed_here(name: str, index: int) -> bool:
    """Invisible characters that are part of what an emoji looks like: 👩‍💻, 🏳️‍🌈, ❤️."""
    ch = name[index]
    before = name[index - 1] if index > 0 else ""
    if is_variation_selector(ch):
        return bool(before) and (
            unicodedata.category(before) in _TAKES_VARIATION
            or unicodedata.name(before, "").startswith("CJK ")
        )
    if ch == ZERO_WIDTH_JOINER and 0 < index < len(name) - 1:
        if is_variation_selector(before) and index > 1:
            before = name[index - 2]
        return _is_symbol(before) and _is_symbol(name[index + 1])
    return False


def invisible_characters(name: str) -> list[int]:
    """Indexes of the invisible characters a new name must not hold."""
    return [
        index
        for index, ch in enumerate(name)
        if is_invisible(ch) and not _allowed_here(name, index)
    ]


def describe(ch: str) -> str:
    """Like "U+202E, right-to-left override"."""
    label = unicodedata.name(ch, "").lower()
    code = f"U+{ord(ch):04X}"
    return f"{code}, {label}" if label else code


def _positions(numbers: list[int]) -> str:
    shown = [str(n) for n in numbers]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def problem(name: str) -> str | None:
    """Why a name cannot be used whatever other apps exist, in plain words; None when it can."""
    if any(is_line_break_or_control(ch) for ch in name):
        return "Use plain text: no line breaks or control characters."
    found = invisible_characters(name)
    if not found:
        return None
    first = name[found[0]]
    if len(found) == 1:
        kind = "invisible character"
        if first in TEXT_DIRECTION_CONTROLS:
            kind = "text-direction control"
        return f"Remove the {kind} at position {found[0] + 1} ({describe(first)})."
    return (
        f"Remove the {len(found)} invisible characters at positions "
        f"{_positions([index + 1 for index in found])} (the first is {describe(first)})."
    )


def name_key(name: str) -> str:
    """What a name looks like: equal keys are names a person cannot tell apart."""
    visible = "".join(ch for ch in name if not is_invisible(ch))
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", visible).casefold())
    return " ".join(folded.split())
