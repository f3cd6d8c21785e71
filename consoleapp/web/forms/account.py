"""The signed-in person's own account."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import InputRequired, Length

from .fields import PASSWORD_MAX, new_password_field


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password",
        render_kw={"autocomplete": "current-password"},
        validators=[
            InputRequired("Enter your current password."),
            Length(max=PASSWORD_MAX, message=f"A password has at most {PASSWORD_MAX} characters."),
        ],
    )
    new_password = new_password_field("New password")
