"""Signing in: the first owner account, sign-in, accepting an invitation, a password reset."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import InputRequired, Length

from .fields import PASSWORD_MAX, email_field, new_password_field


class SetupForm(FlaskForm):
    email = email_field("Your email")
    password = new_password_field()


class LoginForm(FlaskForm):
    email = email_field()
    password = PasswordField(
        "Password",
        validators=[InputRequired("Enter your password."), Length(max=PASSWORD_MAX)],
    )


class AcceptInvitationForm(FlaskForm):
    password = new_password_field("Choose a password")


class PasswordResetForm(FlaskForm):
    password = new_password_field("New password")
