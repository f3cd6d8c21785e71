from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sandbox_helpers import Sandbox, provision


@pytest.fixture
def sandbox(client: FlaskClient) -> Sandbox:
    """An app provisioned in the sandbox, as the console creates one."""
    return provision(client)
