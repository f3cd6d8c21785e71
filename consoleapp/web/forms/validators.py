"""Filters and validators every area's forms share, each defined once."""

from __future__ import annotations

from collections.abc import Callable

from flask_wtf import FlaskForm
from wtforms import Field, Form, StringField
from wtforms.validators import StopValidation, ValidationError

from ... import app_names


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


def no_control_characters(form: Form, field: StringField) -> None:
    """No line breaks, tabs, DEL or other control characters, in an ID, a token or a key."""
    if field.data and any(ord(ch) < 32 or ord(ch) == 127 for ch in field.data):
        raise StopValidation("Use plain text: no line breaks, tabs or control characters.")


def app_name_characters(form: FlaskForm, field: StringField) -> None:
    """No line breaks, control, invisible or text-direction characters (see app_names)."""
    problem = app_names.problem(field.data or "")
    if problem:
        raise ValidationError(problem)


def at_most(limit: int) -> Callable[[FlaskForm, Field], None]:
    """A length limit that ends validation, so an oversized value gets one clear message."""

    def check(form: FlaskForm, field: StringField) -> None:
        if field.data and len(field.data) > limit:
            raise StopValidation(f"Use at most {limit:,} characters.")

    return check
