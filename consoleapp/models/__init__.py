"""The console's tables, as typed SQLAlchemy 2 models, one module per area."""

from __future__ import annotations

from .accounts import AuditEvent, Invitation, PasswordReset, Role, User
from .apps import App
from .base import utcnow
from .deliveries import Delivery, DeliveryEvent, DeliveryMinute
from .installations import Installation
from .registration import ACTIVE_STATES, RegistrationRun, RunKind, RunState
from .sessions import UserSession
from .trigger_tests import TriggerTest
from .webhooks import (
    RegisteredWebhook,
    RegistrationState,
    WebhookSet,
    WebhookTrigger,
    WizardStep,
)

__all__ = [
    "ACTIVE_STATES",
    "RegistrationRun",
    "RunKind",
    "RunState",
    "App",
    "AuditEvent",
    "Delivery",
    "DeliveryEvent",
    "DeliveryMinute",
    "Installation",
    "Invitation",
    "PasswordReset",
    "RegisteredWebhook",
    "RegistrationState",
    "Role",
    "TriggerTest",
    "User",
    "UserSession",
    "WebhookSet",
    "WebhookTrigger",
    "WizardStep",
    "utcnow",
]
