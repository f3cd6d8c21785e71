"""A browser in plain words from its User-Agent header: "Chrome on Linux"."""

from __future__ import annotations

# First match wins: Edge and Opera also say "Chrome", Chrome also says "Safari".
BROWSERS = [
    ("Edg/", "Edge"),
    ("Edge/", "Edge"),
    ("OPR/", "Opera"),
    ("Opera", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("FxiOS/", "Firefox"),
    ("Firefox/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Version/", "Safari"),
    ("curl/", "curl"),
]
SYSTEMS = [
    ("Windows", "Windows"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
]
UNKNOWN = "Unknown browser"


def describe(user_agent: str | None) -> str:
    text = user_agent or ""
    browser = next((name for marker, name in BROWSERS if marker in text), None)
    system = next((name for marker, name in SYSTEMS if marker in text), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser:
        return browser
    if system:
        return f"A browser on {system}"
    return UNKNOWN
