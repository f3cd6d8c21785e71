"""Configuration API errors in LiveChat's shape: ``{"error": {"type", "message"}}``.

LiveChat documents the error types but not the HTTP status of each (livechat-api.md §1.4 and
§7.1), so the sandbox uses the conventional status per type below; clients should key off
``error.type``.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

STATUS_BY_TYPE = {
    "authentication": 401,
    "authorization": 403,
    "validation": 400,
    "not_found": 404,
    "already_exists": 409,
    "limit_reached": 422,
    "too_many_requests": 429,
    "misdirected_request": 421,
    "internal": 500,
    "unsupported_version": 400,
    "entity_too_large": 413,
    "request_timeout": 408,
}

DEFAULT_MESSAGES = {
    "authentication": "Authentication error",
    "authorization": "Authorization error",
    "validation": "Wrong format of request",
    "not_found": "Not found",
    "already_exists": "Already exists",
    "limit_reached": "Limit reached",
    "too_many_requests": "Too many requests",
    "internal": "Internal server error",
    "unsupported_version": "Cannot call unsupported API versions",
    "entity_too_large": "Request entity too large",
}


class ApiError(Exception):
    """A Configuration API failure; the view turns it into LiveChat's error body."""

    def __init__(
        self,
        type_: str,
        message: str | None = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message or DEFAULT_MESSAGES.get(type_, type_))
        self.type = type_
        self.message = message or DEFAULT_MESSAGES.get(type_, type_)
        self.data = data
        self.headers = headers or {}
        self.status = status or STATUS_BY_TYPE.get(type_, 400)

    def response(self) -> Response:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.data:
            error["data"] = self.data
        response = jsonify(error=error)
        response.status_code = self.status
        response.headers.update(self.headers)
        return response


def validation(message: str) -> ApiError:
    return ApiError("validation", message)
