"""Scenarios: things that happen on a simulated license and fire LiveChat's webhooks.

Each scenario changes the sandbox's world (a chat starts, a tag is added, an agent is created)
and enqueues the deliveries LiveChat would send for it. ``catalog`` lists them; ``runner`` runs
one; ``chats``, ``configuration`` and ``state`` are what they do; ``context`` is what they run
with.
"""

from __future__ import annotations

from .catalog import BY_NAME, SCENARIOS, Scenario, first_step, grouped
from .context import ScenarioError
from .runner import PARAMETERS, run

__all__ = [
    "BY_NAME",
    "PARAMETERS",
    "SCENARIOS",
    "Scenario",
    "ScenarioError",
    "first_step",
    "grouped",
    "run",
]
