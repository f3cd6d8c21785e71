"""Register, list and unregister a webhook in the sandbox with LiveChat's official Python SDK.

    python scripts/sdk_example.py --sandbox-url http://127.0.0.1:5000/sandbox

Without ``--client-id`` and ``--basic`` the script provisions a fresh sandbox app first (the
sandbox-only ``POST /sandbox/provision``); give both to use an existing app and PAT.

The SDK (``lc-sdk-python``) always builds ``https://{base_url}/v{version}/configuration/action``.
The sandbox usually runs on plain http, so after creating the client the script points the
client's ``api_url`` attribute, which every method reads, at the sandbox. Nothing else about
the SDK changes: same methods, same JSON, same ``Authorization`` header.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import httpx
from livechat.configuration.base import ConfigurationApi
from livechat.utils.structures import AccessToken, TokenType

TIMEOUT = 15.0


def provision(sandbox_url: str) -> tuple[str, str]:
    """A new sandbox app: its Client ID and its developer's base64 Basic credential."""
    response = httpx.post(
        f"{sandbox_url}/provision",
        json={"name": "SDK example", "redirect_uris": []},
        timeout=TIMEOUT,
    )
    response.raise_for_status()
    body = response.json()
    return body["client_id"], body["basic_authorization"]


def configuration_client(sandbox_url: str, basic: str, version: str) -> Any:
    api = ConfigurationApi.get_client(
        token=AccessToken(scheme=TokenType.BASIC, token=basic),
        version=version,
        disable_logging=True,  # the SDK's logger would print the Authorization header
        timeout=httpx.Timeout(TIMEOUT),
    )
    api.api_url = f"{sandbox_url}/api/v{version}/configuration/action"
    return api


def _json(response: httpx.Response) -> Any:
    body = response.json()
    if response.status_code != 200:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        raise RuntimeError(f"{error.get('type')}: {error.get('message')}")
    return body


def run(
    sandbox_url: str,
    client_id: str | None = None,
    basic: str | None = None,
    version: str = "3.6",
    target_url: str = "https://hooks.example/livechat",
) -> dict[str, Any]:
    sandbox_url = sandbox_url.rstrip("/")
    if client_id is None or basic is None:
        client_id, basic = provision(sandbox_url)
    api = configuration_client(sandbox_url, basic, version)
    try:
        registered = _json(
            api.register_webhook(
                action="incoming_chat",
                secret_key="sdk-example-secret",
                url=target_url,
                owner_client_id=client_id,
                type="license",
                description="registered by scripts/sdk_example.py",
                filters={"source_type": ["other_clients", "system"]},
                additional_data=["chat_properties"],
            )
        )
        listed = _json(api.list_webhooks(owner_client_id=client_id))
        removed = _json(api.unregister_webhook(id=registered["id"], owner_client_id=client_id))
        remaining = _json(api.list_webhooks(owner_client_id=client_id))
    finally:
        api.session.close()
    return {
        "client_id": client_id,
        "registered": registered,
        "listed": listed,
        "unregistered": removed,
        "remaining": remaining,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox-url", default="http://127.0.0.1:5000/sandbox")
    parser.add_argument("--client-id", help="an existing sandbox Client ID")
    parser.add_argument("--basic", help="base64 of account_id:PAT, as provisioning returns it")
    parser.add_argument("--version", default="3.6", choices=["3.5", "3.6"])
    args = parser.parse_args(argv)
    try:
        result = run(args.sandbox_url, args.client_id, args.basic, args.version)
    except (httpx.HTTPError, RuntimeError) as exc:
        print(f"failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
