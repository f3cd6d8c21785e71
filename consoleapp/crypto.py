"""Secrets at rest: Fernet keys, encrypted fields bound to their row, key rotation.

Fernet has no associated data, so each plaintext is sealed together with its context
(``table.column:row uid``). Fernet authenticates the whole token, so a ciphertext copied into
another row or column fails the context check instead of yielding the wrong secret.
"""

from __future__ import annotations

import secrets
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app

_SEPARATOR = b"\x00"


class SecretUnavailable(Exception):
    """A stored secret cannot be read (wrong key, tampered or moved); it must be entered again."""


class Keyring:
    def __init__(self, keys: list[str]) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def seal(self, context: str, plaintext: str) -> bytes:
        return self._fernet.encrypt(context.encode() + _SEPARATOR + plaintext.encode("utf-8"))

    def open(self, context: str, token: bytes) -> str:
        try:
            data = self._fernet.decrypt(token)
        except InvalidToken as exc:
            raise SecretUnavailable("no configured key opens this secret") from exc
        sealed_context, _, plaintext = data.partition(_SEPARATOR)
        if sealed_context != context.encode():
            raise SecretUnavailable("this secret belongs to another record")
        return plaintext.decode("utf-8")

    def rotate(self, token: bytes) -> bytes:
        try:
            return self._fernet.rotate(token)
        except InvalidToken as exc:
            raise SecretUnavailable("no configured key opens this secret") from exc


def init_app(app: Flask) -> None:
    app.extensions["consoleapp.keyring"] = Keyring(app.config["FERNET_KEYS"])


def keyring() -> Keyring:
    return current_app.extensions["consoleapp.keyring"]


def new_uid() -> str:
    return secrets.token_hex(16)


# Every model class that declares an EncryptedField, for key rotation.
ENCRYPTED_MODELS: list[type] = []


class EncryptedField:
    """A descriptor over a ``LargeBinary`` column holding a sealed secret.

    The owning model needs a ``uid`` column; it binds each ciphertext to its row.
    Reading a value that cannot be opened raises ``SecretUnavailable``.
    """

    def __init__(self, column_attr: str) -> None:
        self.column_attr = column_attr

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        if owner not in ENCRYPTED_MODELS:
            ENCRYPTED_MODELS.append(owner)

    def context(self, obj: Any) -> str:
        return f"{obj.__tablename__}.{self.name}:{obj.uid}"

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        token = getattr(obj, self.column_attr)
        if token is None:
            return None
        return keyring().open(self.context(obj), token)

    def __set__(self, obj: Any, value: str | None) -> None:
        if obj.uid is None:
            obj.uid = new_uid()
        token = None if value is None else keyring().seal(self.context(obj), value)
        setattr(obj, self.column_attr, token)


def encrypted_fields(model: type) -> list[EncryptedField]:
    return [value for value in vars(model).values() if isinstance(value, EncryptedField)]
