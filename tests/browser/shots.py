"""Screenshots of every page the browser tests visit, for people to look at."""

from __future__ import annotations

from pathlib import Path

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def both_widths(page, name: str) -> None:
    """Screenshots at 1280 and 375 px wide; the page is left at 1280."""
    screenshot(page, name)
    page.set_viewport_size({"width": 375, "height": 800})
    screenshot(page, f"{name}-375px")
    page.set_viewport_size({"width": 1280, "height": 900})
