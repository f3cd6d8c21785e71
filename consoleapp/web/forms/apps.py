"""An app: its name, deletion, App Authorization and the developer credential."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length, ValidationError

from ... import app_names
from ...livechat import catalog
from ...livechat.redirect_uris import (
    RedirectUriError,
    check_uri,
    parse_whitelist,
    whitelist_rejection,
)
from .fields import MultiCheckboxField
from .validators import app_name_characters, at_most, no_control_characters, required, strip


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
