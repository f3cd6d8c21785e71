"""The sandbox pages' forms: the settings a scenario runs with, and a fault to add."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional, Regexp

from ..configuration_api import faults

PERFORMER_LABELS = [
    SelectChoice("this_app", "This app"),
    SelectChoice("other_app", "Another app"),
    SelectChoice("system", "LiveChat itself (system)"),
]


class ScenarioForm(FlaskForm):
    organization_id = SelectField("License", validate_choice=True)
    client_id = SelectField("This app", validate_choice=True)
    performed_by = SelectField("Performed by", choices=PERFORMER_LABELS)
    author_type = SelectField(
        "Message author",
        choices=[SelectChoice("customer", "Customer"), SelectChoice("agent", "Agent")],
    )


class FaultForm(FlaskForm):
    kind = SelectField(
        "Fault", choices=[SelectChoice(kind, kind.replace("_", " ")) for kind in faults.KINDS]
    )
    method = StringField(
        "Method",
        default="*",
        validators=[Optional(), Regexp(r"^(\*|[a-z_]{1,64})$", message="A method name, or *.")],
        description="A Configuration API method such as register_webhook, or * for every method.",
    )
    value = DecimalField(
        "Value",
        validators=[Optional(), NumberRange(min=0, max=600_000)],
        description="Milliseconds for latency, seconds for the others. Empty: the default.",
    )
    remaining = IntegerField(
        "Times",
        validators=[Optional(), NumberRange(min=1, max=10_000)],
        description="How many calls it affects. Empty: until removed.",
    )
