"""Field types and field builders more than one area's forms use."""

from __future__ import annotations

from wtforms import EmailField, PasswordField, SelectMultipleField
from wtforms.validators import Email, InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from .validators import normalize_email, required

PASSWORD_MIN = 10
PASSWORD_MAX = 128


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def email_field(label: str = "Email") -> EmailField:
    return EmailField(
        label,
        filters=[normalize_email],
        validators=[
            required("Enter an email address."),
            Length(max=254, message="An email address has at most 254 characters."),
            Email("Enter an email address like name@example.com."),
        ],
    )


def new_password_field(label: str = "Password") -> PasswordField:
    return PasswordField(
        label,
        description=f"At least {PASSWORD_MIN} characters.",
        render_kw={"autocomplete": "new-password"},
        validators=[
            InputRequired("Choose a password."),
            Length(
                min=PASSWORD_MIN,
                max=PASSWORD_MAX,
                message=f"Use {PASSWORD_MIN} to {PASSWORD_MAX} characters.",
            ),
        ],
    )
