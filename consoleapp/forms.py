"""One FlaskForm per page or step."""

from __future__ import annotations

from collections.abc import Callable

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    Field,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    Email,
    InputRequired,
    Length,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from . import app_names
from .livechat import catalog
from .livechat.redirect_uris import (
    RedirectUriError,
    check_uri,
    parse_whitelist,
    whitelist_rejection,
)
from .models import Role

PASSWORD_MIN = 10
PASSWORD_MAX = 128


def strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def normalize_email(value: str | None) -> str | None:
    return value.strip().lower() if isinstance(value, str) else value


def required(message: str) -> Callable[[FlaskForm, Field], None]:
    """The field must be sent and not blank once stripped.

    InputRequired alone lets "   " through (it looks at the raw input); DataRequired alone lets
    a missing field keep the value the form was built with (rename's current name).
    """

    def check(form: FlaskForm, field: Field) -> None:
        if not field.raw_data or not (field.data or "").strip():
            field.errors[:] = []
            raise StopValidation(message)

    check.field_flags = {"required": True}  # type: ignore[attr-defined]
    return check


def no_control_characters(form: FlaskForm, field: StringField) -> None:
    if field.data and any(ord(ch) < 32 for ch in field.data):
        raise ValidationError("Use plain text: no line breaks or control characters.")


def app_name_characters(form: FlaskForm, field: StringField) -> None:
    """No line breaks, control, invisible or text-direction characters (see app_names)."""
    problem = app_names.problem(field.data or "")
    if problem:
        raise ValidationError(problem)


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


class SetupForm(FlaskForm):
    email = email_field("Your email")
    password = new_password_field()


class LoginForm(FlaskForm):
    email = email_field()
    password = PasswordField(
        "Password",
        validators=[InputRequired("Enter your password."), Length(max=PASSWORD_MAX)],
    )


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


class AcceptInvitationForm(FlaskForm):
    password = new_password_field("Choose a password")


class PasswordResetForm(FlaskForm):
    password = new_password_field("New password")


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


class RoleForm(FlaskForm):
    role = SelectField(
        "Role",
        choices=[SelectChoice(r.value, r.label) for r in Role],
        validators=[InputRequired("Choose a role.")],
    )


class ConfirmForm(FlaskForm):
    """A button that only needs the CSRF token."""


class AppNameForm(FlaskForm):
    name = StringField(
        "App name",
        description="A name your team recognises, like “Helpdesk sync”.",
        filters=[strip],
        validators=[
            required("Give the app a name."),
            Length(max=app_names.NAME_MAX, message=f"Use at most {app_names.NAME_MAX} characters."),
            app_name_characters,
        ],
    )


class DeleteAppForm(FlaskForm):
    confirm_name = StringField(
        "Type the app's name to confirm",
        filters=[strip],
        validators=[required("Type the app's name to confirm.")],
    )


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def at_most(limit: int) -> Callable[[FlaskForm, Field], None]:
    """A length limit that ends validation, so an oversized value gets one clear message."""

    def check(form: FlaskForm, field: StringField) -> None:
        if field.data and len(field.data) > limit:
            raise StopValidation(f"Use at most {limit:,} characters.")

    return check


class AuthorizationForm(FlaskForm):
    client_id = StringField(
        "Client ID",
        description="From the App Authorization block of your app in LiveChat's Developer Console.",
        filters=[strip],
        validators=[required("Enter the Client ID."), Length(max=100), no_control_characters],
    )
    client_secret = PasswordField(
        "Client Secret",
        description="Stored encrypted. Leave empty to keep the one already saved.",
        filters=[strip],
        validators=[Length(max=200), no_control_characters],
    )
    scopes = MultiCheckboxField(
        "Scopes",
        choices=[SelectChoice(scope.name) for scope in catalog.SCOPES],
        validate_choice=True,
    )
    direct_install_url = StringField(
        "Direct installation URL",
        description="Where LiveChat sends people after they allow the app. The console "
        "proposes its own address.",
        filters=[strip],
        validators=[required("Enter the Direct installation URL."), at_most(500)],
    )
    redirect_uris = TextAreaField(
        "Redirect URI whitelist",
        description="One address a line (or separated by commas). It must accept the Direct "
        "installation URL.",
        filters=[strip],
        validators=[required("Enter at least one redirect URI."), at_most(5000)],
    )
    api_version = SelectField(
        "Configuration API version",
        choices=[SelectChoice(version, label) for version, label in catalog.API_VERSIONS],
        default=catalog.DEFAULT_API_VERSION,
    )

    def validate_client_secret(self, field: PasswordField) -> None:
        if not field.data and not getattr(self, "has_saved_secret", False):
            raise ValidationError("Enter the Client Secret.")

    def validate_direct_install_url(self, field: StringField) -> None:
        try:
            check_uri(field.data)
        except RedirectUriError as exc:
            raise ValidationError(str(exc)) from exc

    def validate_redirect_uris(self, field: TextAreaField) -> None:
        try:
            self.whitelist = parse_whitelist(field.data)
        except RedirectUriError as exc:
            raise ValidationError(str(exc)) from exc
        if self.direct_install_url.data and not self.direct_install_url.errors:
            problem = whitelist_rejection(self.whitelist, self.direct_install_url.data)
            if problem:
                raise ValidationError(problem)


class DeveloperCredentialForm(FlaskForm):
    account_id = StringField(
        "LiveChat account ID",
        description="Shown with your Personal Access Token in the Developer Console.",
        filters=[strip],
        validators=[required("Enter the account ID."), Length(max=100), no_control_characters],
    )
    token = PasswordField(
        "Personal Access Token",
        description="Needs the scope webhooks.configuration:rw. Stored encrypted. Leave empty "
        "to keep the one already saved.",
        filters=[strip],
        validators=[Length(max=500), no_control_characters],
    )

    def validate_token(self, field: PasswordField) -> None:
        if not field.data and not getattr(self, "has_saved_token", False):
            raise ValidationError("Enter the Personal Access Token.")
