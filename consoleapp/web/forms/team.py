"""Teammates: invitations and roles."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SelectField
from wtforms.validators import InputRequired

from ...models import Role
from .fields import email_field

ROLE_CHOICES = [
    SelectChoice(Role.VIEWER.value, "Viewer: sees everything, changes nothing"),
    SelectChoice(Role.ADMIN.value, "Admin: manages apps, webhooks and teammates"),
    SelectChoice(Role.OWNER.value, "Owner: everything an admin does, and manages owners"),
]


class InviteForm(FlaskForm):
    email = email_field("Teammate's email")
    role = RadioField(
        "Role",
        choices=ROLE_CHOICES,
        default=Role.VIEWER.value,
        validators=[InputRequired("Choose a role.")],
    )


class RoleForm(FlaskForm):
    role = SelectField(
        "Role",
        choices=[SelectChoice(r.value, r.label) for r in Role],
        validators=[InputRequired("Choose a role.")],
    )
