"""W7: the receiver against its OpenAPI description, with generated bodies (schemathesis).

The description is a static file (``static/openapi/receiver.json``), so nothing extra is served
in production. Every case goes to a real inbox, with the right secret key when the body is an
object, so generated payloads reach storage too: no 5xx, and every answer matches the spec.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from support import INBOX_SECRET, add_webhook_set

TOKEN = "5ca1ab1e" * 4


SPEC = Path(__file__).resolve().parents[1] / "static" / "openapi" / "receiver.json"
# Loaded from the file: schemathesis' fixture-based (lazy) schemas do not run on pytest 9.
schema = schemathesis.openapi.from_path(str(SPEC))


@pytest.fixture
def inbox_app(app):
    add_webhook_set(app, inbox_token=TOKEN)
    return app


@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_w7_receiver_matches_its_spec(case, inbox_app):
    case.path_parameters = {"inbox_token": TOKEN}
    # The right secret wherever the generated one is text, so bodies get as far as storage.
    if isinstance(case.body, dict) and isinstance(case.body.get("secret_key", ""), str):
        case.body["secret_key"] = INBOX_SECRET
    case.call_and_validate(app=inbox_app)


def test_w7_the_spec_is_served_as_a_static_file(client):
    with client.get("/static/openapi/receiver.json") as response:
        assert response.status_code == 200
        spec = response.get_json()
    assert set(spec["paths"]["/hooks/{inbox_token}"]["post"]["responses"]) == {
        "200",
        "400",
        "401",
        "404",
        "413",
        "415",
        "429",
        "503",
    }
