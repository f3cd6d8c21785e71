"""Kept so ``from consoleapp.services import registration_plan`` goes on working; the plan is
``consoleapp.services.registration.plan``."""

from __future__ import annotations

from .registration.plan import PER_TRIGGER_LIMIT, Change, Plan, PlannedChange, plan

__all__ = ["PER_TRIGGER_LIMIT", "Change", "Plan", "PlannedChange", "plan"]
