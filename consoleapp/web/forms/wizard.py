"""Forms of the Chat Webhooks wizard: one per step, and one per trigger for its filters."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Form,
    FormField,
    PasswordField,
    RadioField,
    SelectChoice,
    StringField,
)
from wtforms.validators import StopValidation, ValidationError

from ...livechat import catalog
from ...outbound import target_urls
from ...services.webhook_sets import ChosenTrigger
from .fields import MultiCheckboxField
from .validators import no_control_characters, strip

SECRET_MIN = 16
SECRET_MAX = 200
USER_IDS_MAX = 50
USER_ID_MAX_LENGTH = 100


class WebhookUrlForm(FlaskForm):
    url = StringField(
        "Webhook URL",
        description="The address LiveChat sends each event to, like "
        "https://tools.example.com/livechat/webhook.",
        filters=[strip],
    )
    use_inbox = BooleanField("Use the console's test inbox")

    def __init__(self, *args: Any, inbox_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inbox_url = inbox_url

    def validate_url(self, field: StringField) -> None:
        if self.use_inbox.data:
            field.data = self.inbox_url
        if not field.data:
            raise StopValidation("Enter the webhook URL, or use the console's test inbox.")
        try:
            target_urls.check(field.data, current_app.config["ALLOW_PRIVATE_TARGETS"])
        except target_urls.TargetUrlError as exc:
            raise StopValidation(str(exc)) from exc


class OwnSecretForm(FlaskForm):
    secret_key = PasswordField(
        "Your own secret key",
        description=f"{SECRET_MIN} to {SECRET_MAX} characters. LiveChat sends it with every "
        "event so your endpoint can tell the event is real.",
        filters=[strip],
        validators=[no_control_characters],
    )

    def validate_secret_key(self, field: PasswordField) -> None:
        if not field.data:
            raise ValidationError("Paste the secret key, or generate one instead.")
        if not SECRET_MIN <= len(field.data) <= SECRET_MAX:
            raise ValidationError(f"Use {SECRET_MIN} to {SECRET_MAX} characters.")
        if any(ch.isspace() for ch in field.data):
            raise ValidationError("Use a key without spaces.")


# -- triggers ------------------------------------------------------------------------------


# Each choice carries the words it adds to the trigger's one-line summary (``data-effect``),
# so the page can update the summary as filters change; web/trigger_words.py says it in full.
def _choice(value: str, label: str, effect: str = "", role: str = "") -> SelectChoice:
    render_kw = {"data-effect": effect} if effect else {}
    if role:
        render_kw["data-role"] = role
    return SelectChoice(value, label, render_kw=render_kw)


AUTHOR_CHOICES = [
    _choice("", "Anyone", role="author"),
    _choice("customer", "Customers only", "from customers", "author"),
    _choice("agent", "Agents only", "from agents", "author"),
]
PRESENCE_CHOICES = [
    _choice("", "Any chat", role="presence-mode"),
    _choice("values", "With one of these people", "in chats with", "presence-mode"),
    _choice("exclude_values", "Without any of these people", "in chats without", "presence-mode"),
]
AGENT_CHOICES = [
    _choice("", "Any agent", role="agent-mode"),
    _choice("values", "Only these agents", "for", "agent-mode"),
    _choice("exclude_values", "Every agent but these", "for agents other than", "agent-mode"),
]
SOURCE_CHOICES = [
    _choice("other_clients", "People or other apps", "people or other apps", "source"),
    _choice("my_client", "This app (through the API)", "this app", "source"),
    _choice(
        "system", "LiveChat on its own (like closing idle chats)", "LiveChat on its own", "source"
    ),
]
DATA_CHOICES = [
    _choice("chat_properties", "The chat's properties", "the chat's properties", "data"),
    _choice("chat_presence_user_ids", "Who is in the chat", "who is in the chat", "data"),
]
SOURCE_ORDER = ["my_client", "other_clients", "system"]  # LiveChat's order, kept when saving
_ID_SEPARATORS = re.compile(r"[\s,]+")


def ids_of(raw: str | None) -> list[str]:
    return [item for item in _ID_SEPARATORS.split(raw or "") if item]


class _IdsChoice:
    """A mode (include / exclude) plus a list of IDs, so exactly one of LiveChat's
    ``values`` / ``exclude_values`` is ever sent."""

    def __init__(self, what: str, mode_field: str, any_label: str) -> None:
        self.what = what
        self.mode_field = mode_field
        self.any_label = any_label

    def __call__(self, form: Form, field: StringField) -> None:
        mode = form[self.mode_field].data
        ids = ids_of(field.data)
        if mode and not ids:
            raise ValidationError(
                f"List at least one {self.what} ID, or choose “{self.any_label}”."
            )
        if ids and not mode:
            raise ValidationError(f"Choose whether to include or leave out these {self.what}s.")
        if len(ids) > USER_IDS_MAX:
            raise ValidationError(f"List at most {USER_IDS_MAX} IDs.")
        if any(len(item) > USER_ID_MAX_LENGTH for item in ids):
            raise ValidationError(f"An ID has at most {USER_ID_MAX_LENGTH} characters.")


def _trigger_form_class(trigger: catalog.Trigger) -> type[Form]:
    """A form with exactly the filters and additional data LiveChat allows for ``trigger``."""
    fields: dict[str, Any] = {"chosen": BooleanField(trigger.title)}
    if "author_type" in trigger.filters:
        fields["author_type"] = RadioField("Messages from", choices=AUTHOR_CHOICES, default="")
    if "chat_presence" in trigger.filters:
        fields["presence_mode"] = RadioField(
            "People in the chat", choices=PRESENCE_CHOICES, default=""
        )
        fields["presence_ids"] = StringField(
            "Their agent emails or customer IDs",
            description="Separate them with commas or spaces.",
            validators=[no_control_characters, _IdsChoice("user", "presence_mode", "Any chat")],
            render_kw={"data-role": "presence-ids"},
        )
        fields["my_bots"] = BooleanField(
            "Or with one of this app's bots",
            render_kw={"data-role": "my-bots", "data-effect": "this app's bots"},
        )
    if "only_my_chats" in trigger.filters:
        fields["only_my_chats"] = BooleanField(
            "Only chats started through this app",
            render_kw={"data-role": "only-mine", "data-effect": "in chats this app started"},
        )
    if "agent_ids" in trigger.filters:
        fields["agent_mode"] = RadioField("Agents", choices=AGENT_CHOICES, default="")
        fields["agent_ids"] = StringField(
            "Their emails",
            description="Separate them with commas or spaces.",
            validators=[no_control_characters, _IdsChoice("agent", "agent_mode", "Any agent")],
            render_kw={"data-role": "agent-ids"},
        )
    if "source_type" in trigger.filters:
        fields["source_type"] = MultiCheckboxField(
            "Only when done by",
            description="None ticked: all.",
            choices=SOURCE_CHOICES,
            validate_choice=True,
        )
    if trigger.additional_data:
        fields["additional_data"] = MultiCheckboxField(
            "Also send",
            choices=[c for c in DATA_CHOICES if c.value in trigger.additional_data],
            validate_choice=True,
        )
    return type(f"{trigger.action}_form", (Form,), fields)


def filters_from(subform: Form) -> dict[str, Any]:
    """LiveChat's ``filters`` object from a trigger's subform (livechat-api.md §2.2)."""
    data = subform.data
    filters: dict[str, Any] = {}
    if data.get("author_type"):
        filters["author_type"] = data["author_type"]
    presence: dict[str, Any] = {}
    if data.get("presence_mode"):
        presence["user_ids"] = {data["presence_mode"]: ids_of(data.get("presence_ids"))}
    if data.get("my_bots"):
        presence["my_bots"] = True
    if presence:
        filters["chat_presence"] = presence
    if data.get("only_my_chats"):
        filters["only_my_chats"] = True
    if data.get("agent_mode"):
        filters["agent_ids"] = {data["agent_mode"]: ids_of(data.get("agent_ids"))}
    if data.get("source_type"):
        filters["source_type"] = [s for s in SOURCE_ORDER if s in data["source_type"]]
    return filters


def additional_data_from(subform: Form) -> list[str]:
    chosen = subform.data.get("additional_data") or []
    return [choice.value for choice in DATA_CHOICES if choice.value in chosen]


def subform_data(filters: dict[str, Any], additional_data: list[str]) -> dict[str, Any]:
    """The reverse of ``filters_from``: a saved trigger's values for its subform."""
    data: dict[str, Any] = {"additional_data": list(additional_data)}
    if "author_type" in filters:
        data["author_type"] = filters["author_type"]
    presence = filters.get("chat_presence") or {}
    for mode, ids in (presence.get("user_ids") or {}).items():
        data["presence_mode"], data["presence_ids"] = mode, ", ".join(ids)
    data["my_bots"] = bool(presence.get("my_bots"))
    data["only_my_chats"] = bool(filters.get("only_my_chats"))
    for mode, ids in (filters.get("agent_ids") or {}).items():
        data["agent_mode"], data["agent_ids"] = mode, ", ".join(ids)
    data["source_type"] = list(filters.get("source_type") or [])
    return data


class TriggersFormBase(FlaskForm):
    actions: list[str]
    triggers: dict[str, catalog.Trigger]

    def chosen(self) -> list[str]:
        return [a for a in self.actions if self[f"t_{a}"].form.chosen.data]

    def tick(self, actions: tuple[str, ...]) -> None:
        """Tick these triggers (a preset), keeping what is already ticked and filled in."""
        for action in actions:
            if action in self.triggers:
                self[f"t_{action}"].form.chosen.data = True

    def chosen_triggers(self) -> list[ChosenTrigger]:
        return [
            ChosenTrigger(
                action,
                filters_from(self[f"t_{action}"].form),
                additional_data_from(self[f"t_{action}"].form),
            )
            for action in self.chosen()
        ]

    def validate(self, extra_validators: Any = None) -> bool:
        super().validate(extra_validators)
        chosen = set(self.chosen())
        # Filters of triggers left unticked are not saved, so their mistakes do not matter.
        for action in self.actions:
            if action not in chosen:
                for field in self[f"t_{action}"].form:
                    field.errors = []
        if not chosen:
            self.form_errors.append("Choose at least one trigger.")
        return not self.errors


def triggers_form(version: str, **kwargs: Any) -> TriggersFormBase:
    """The step 3 form for one API version: a subform per trigger, prefixed ``t_<action>``."""
    triggers = catalog.triggers_for(version)
    fields: dict[str, Any] = {}
    for trigger in triggers:
        fields[f"t_{trigger.action}"] = FormField(_trigger_form_class(trigger), separator="-")
    cls = type("TriggersForm", (TriggersFormBase,), fields)
    form = cls(**kwargs)
    form.actions = [trigger.action for trigger in triggers]
    form.triggers = {trigger.action: trigger for trigger in triggers}
    return form
