"""Parsing and verifying delivery envelopes: lenient on shape, strict on the secret."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consoleapp.livechat import deliveries
from consoleapp.livechat.deliveries import MalformedDelivery, parse_envelope, verify_secret

SECRET = "s3cr3t-key-value-Qx7a"


def envelope_bytes(**changes: object) -> bytes:
    body: dict[str, object] = {
        "webhook_id": "a0c22fdd1ed0b0fbbdd4cfd89a1e4ab3",
        "secret_key": SECRET,
        "action": "incoming_event",
        "organization_id": "390e44e6-f1e6-0368c-z6ddb-74g14508c2ex",
        "payload": {"chat_id": "PJ0MRSHTDG", "event": {"id": "e1", "text": "hello"}},
        "additional_data": {},
    }
    for key, value in changes.items():
        if value is ...:
            body.pop(key, None)
        else:
            body[key] = value
    return json.dumps(body).encode()


def test_a_36_envelope_with_requester_is_accepted():
    envelope = parse_envelope(
        envelope_bytes(requester={"user_id": "u", "account_id": "a", "client_id": "c"})
    )
    assert envelope.action == "incoming_event"
    assert envelope.organization_id == "390e44e6-f1e6-0368c-z6ddb-74g14508c2ex"
    assert envelope.raw["requester"]["client_id"] == "c"
    assert verify_secret(envelope, SECRET).verified


def test_a_33_envelope_with_an_integer_license_id_is_accepted():
    envelope = parse_envelope(envelope_bytes(organization_id=..., license_id=104130623))
    assert envelope.license_id == 104130623
    assert envelope.organization_id is None


def test_unknown_keys_and_missing_optional_parts_are_tolerated():
    envelope = parse_envelope(
        envelope_bytes(payload=..., additional_data=..., webhook_id=..., brand_new={"x": 1})
    )
    assert envelope.payload is None and envelope.webhook_id is None
    assert envelope.raw["brand_new"] == {"x": 1}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[1]", "must be a JSON object"),
        (b"{", "not valid JSON"),
        (b"", "body is empty"),
        (b"   ", "body is empty"),
        (b'"text"', "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b'{"action": NaN}', "not valid JSON"),
        (b'{"a": Infinity, "action": "x"}', "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"n": ' + b"9" * 5000 + b', "action": "x"}', "not valid JSON"),
        (envelope_bytes(action=...), "has no action"),
        (envelope_bytes(action=""), "has no action"),
        (envelope_bytes(action=None), "has no action"),
        (envelope_bytes(action=12), "must be a trigger name"),
        (envelope_bytes(action=["incoming_chat"]), "must be a trigger name"),
        (envelope_bytes(action="x" * 65), "must be a trigger name"),
        (envelope_bytes(action="incoming\u0000chat"), "must be a trigger name"),
        (envelope_bytes(action="\ud800"), "must be a trigger name"),
    ],
)
def test_bodies_that_are_no_envelope_are_refused_in_plain_words(body, message):
    with pytest.raises(MalformedDelivery, match=message):
        parse_envelope(body)


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        (..., "no secret_key in the body"),
        (None, "no secret_key in the body"),
        ("wrong", "wrong secret key"),
        ("", "wrong secret key"),
        (SECRET + " ", "wrong secret key"),
        (SECRET.upper(), "wrong secret key"),
        ("ääää", "wrong secret key"),
        ("\ud800", "wrong secret key"),
        ("x" * 10_240, "wrong secret key"),
        (12345, "secret_key is not text"),
        (True, "secret_key is not text"),
        ([SECRET], "secret_key is not text"),
        ({"value": SECRET}, "secret_key is not text"),
    ],
)
def test_k5_a_wrong_or_odd_secret_is_rejected_with_a_reason(sent, reason):
    envelope = parse_envelope(envelope_bytes(secret_key=sent))
    result = verify_secret(envelope, SECRET)
    assert result == deliveries.Verification(False, reason)


def test_no_saved_secret_rejects_everything():
    result = verify_secret(parse_envelope(envelope_bytes()), None)
    assert not result.verified and "no secret key yet" in result.reason


def test_non_ascii_secrets_compare_as_utf8_bytes():
    envelope = parse_envelope(envelope_bytes(secret_key="ääää-ключ"))
    assert verify_secret(envelope, "ääää-ключ").verified
    assert not verify_secret(envelope, "aaaa-ключ").verified


def test_the_comparison_is_constant_time(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((type(a), type(b)))
        return real(a, b)

    monkeypatch.setattr(deliveries.hmac, "compare_digest", spy)
    assert verify_secret(parse_envelope(envelope_bytes()), SECRET).verified
    assert not verify_secret(parse_envelope(envelope_bytes(secret_key="no")), SECRET).verified
    assert calls == [(bytes, bytes), (bytes, bytes)]


def test_dedupe_key_ignores_key_order_and_whitespace_of_the_payload():
    first = parse_envelope(
        b'{"webhook_id": "w", "action": "a", "payload": {"b": 1, "a": [1, 2]}, "secret_key": "1"}'
    )
    second = parse_envelope(
        b'{"payload":{"a":[1,2],"b":1},"action":"a","webhook_id":"w","secret_key":"2"}'
    )
    assert deliveries.dedupe_key(first) == deliveries.dedupe_key(second)
    assert len(deliveries.dedupe_key(first)) == 64


@pytest.mark.parametrize(
    "change",
    [
        {"webhook_id": "other"},
        {"action": "incoming_chat"},
        {"payload": {"chat_id": "OTHER", "event": {"id": "e1", "text": "hello"}}},
    ],
)
def test_dedupe_key_changes_with_webhook_id_action_or_payload(change):
    base = deliveries.dedupe_key(parse_envelope(envelope_bytes()))
    assert deliveries.dedupe_key(parse_envelope(envelope_bytes(**change))) != base


def test_dedupe_key_ignores_secret_and_additional_data():
    base = deliveries.dedupe_key(parse_envelope(envelope_bytes()))
    other = parse_envelope(envelope_bytes(secret_key="x", additional_data={"chat_properties": {}}))
    assert deliveries.dedupe_key(other) == base


def test_the_stored_body_masks_every_secret_key_and_is_pretty():
    envelope = parse_envelope(
        envelope_bytes(payload={"nested": {"secret_key": "inner-secret"}, "text": "ä"})
    )
    body = deliveries.masked_body(envelope)
    assert SECRET not in body and "inner-secret" not in body
    assert body.count(deliveries.MASK) == 2
    assert '\n  "action": "incoming_event"' in body
    assert "ä" in body  # readable, not \\u escaped


@pytest.mark.parametrize("secret", [12345, "x" * 10_240, ["a", "list"]])
def test_odd_secrets_are_masked_too(secret):
    body = deliveries.masked_body(parse_envelope(envelope_bytes(secret_key=secret)))
    assert json.loads(body)["secret_key"] == deliveries.MASK


def test_a_lone_surrogate_stays_escaped_so_the_body_can_be_stored():
    envelope = parse_envelope(envelope_bytes(payload={"text": "\ud800 and ä"}))
    body = deliveries.masked_body(envelope)
    body.encode("utf-8")
    assert "\\ud800" in body


def test_webhook_id_is_kept_printable_and_short():
    assert parse_envelope(envelope_bytes(webhook_id="w" * 100)).webhook_id == "w" * 64
    assert parse_envelope(envelope_bytes(webhook_id="a\u0000b")).webhook_id == "ab"
    assert parse_envelope(envelope_bytes(webhook_id=42)).webhook_id == "42"
    assert parse_envelope(envelope_bytes(webhook_id={"x": 1})).webhook_id is None


# -- deep bodies: masking and the dedupe key never recurse -----------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["secret_key", "a", "é", '"', "secret_keys"]), children)
    ),
    max_leaves=30,
)


def deep(levels: int, leaf: object) -> object:
    """``levels`` lists and dicts around ``leaf``, built without recursion."""
    value = leaf
    for level in range(levels):
        value = {"secret_key": "s", "a": value} if level % 2 else [value]
    return value


@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES, indent=st.sampled_from([None, 0, 2, "\t"]))
def test_masking_as_received_masks_what_masking_the_parsed_value_masks(value, indent):
    body = json.dumps({"action": "x", "payload": value}, indent=indent).encode()
    assert json.loads(deliveries.masked_text(body)) == deliveries.masked(json.loads(body))


PLAIN_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters='"\\'))
)


def plain_values(keys: list[str]) -> st.SearchStrategy:
    """Values JSON writes without a backslash: what the one-search masking takes on."""
    return st.recursive(
        PLAIN_SCALARS,
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(keys), children)
        ),
        max_leaves=30,
    )


PLAIN_VALUES = plain_values(["secret_key", "a", "é", "secret_keys"])
# Most of LiveChat's payloads: no second secret_key, so masked with one search.
PAYLOADS = st.one_of(PLAIN_VALUES, plain_values(["a", "é", "secret", "key"]))


@settings(max_examples=500, deadline=None)
@given(
    secret=PLAIN_SCALARS | PLAIN_VALUES,
    payload=PAYLOADS,
    indent=st.sampled_from([None, 0, 2, "\t"]),
)
def test_masking_at_once_masks_what_the_token_walk_masks(secret, payload, indent):
    text = json.dumps(
        {"action": "x", "secret_key": secret, "payload": payload},
        indent=indent,
        ensure_ascii=False,
    )
    at_once = deliveries._masked_at_once(text)
    assert at_once is None or at_once == deliveries._masked_token_by_token(text)


@pytest.mark.parametrize(
    ("body", "at_once"),
    [
        (b'{"action": "x", "secret_key": "s3cret", "payload": {"a": 1}}', True),
        (b'{"action": "x", "secret_key": 12, "payload": []}', True),
        (b'{"action": "x", "secret_key": null}', True),
        (b'{"secret_key": {"a": 1}, "payload": 1}', False),
        (b'{"secret_key": "s", "payload": {"secret_key": "t"}}', False),
        (b'{"secret_key": "s", "text": "a \\"quote\\""}', False),
        (b'{"a": "secret_key", "b": "keep"}', False),
    ],
    ids=["string", "number", "null", "object", "twice", "escape", "as-value"],
)
def test_a_delivery_as_livechat_sends_it_is_masked_with_one_search(body, at_once):
    text = body.decode()
    assert (deliveries._masked_at_once(text) is not None) is at_once
    assert deliveries.masked_text(body) == deliveries._masked_token_by_token(text)


@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES)
def test_the_canonical_form_is_the_same_built_without_recursion(value):
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert deliveries._canonical_json_iteratively(value) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"secret_key": {"a": [1, {"secret_key": 2}], "b": "}]"}, "n": 1}',
            '{"secret_key": "[redacted]", "n": 1}',
        ),
        (
            b'{"secret_key": "one", "secret_key": "two"}',
            '{"secret_key": "[redacted]", "secret_key": "[redacted]"}',
        ),
        (b'{"secret\\u005fkey": ["x"]}', '{"secret\\u005fkey": "[redacted]"}'),
        (b'{"secret_key": null}', '{"secret_key": null}'),
        (b'{"a": "secret_key", "b": "keep"}', '{"a": "secret_key", "b": "keep"}'),
        (b'{"a": "\\"secret_key\\": \\"keep\\""}', '{"a": "\\"secret_key\\": \\"keep\\""}'),
        (b'[{"x": [{"secret_key": 7}]}]', '[{"x": [{"secret_key": "[redacted]"}]}]'),
    ],
    ids=["object", "twice", "escaped-key", "null", "as-value", "in-a-string", "in-a-list"],
)
def test_masking_as_received(body, expected):
    assert deliveries.masked_text(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        '{"action": "x", "secret_key": "ключ", "text": "ä"}'.encode("utf-16"),
        b'\xef\xbb\xbf{"action": "x", "secret_key": "k"}',
        b'{"action": "x", "secret_key": "k", "text": "\xed\xa0\x80"}',  # a lone surrogate
    ],
    ids=["utf-16", "utf-8-bom", "surrogate"],
)
def test_masking_as_received_reads_every_encoding_json_reads(body):
    parse_envelope(body)
    text = deliveries.masked_text(body)
    text.encode("utf-8")  # storable
    assert json.loads(text)["secret_key"] == deliveries.MASK
    assert "ключ" not in text


def test_masking_works_at_any_depth():
    levels = 50_000
    masked = deliveries.masked(deep(levels, "leaf"))
    for _ in range(levels):
        if isinstance(masked, dict):
            assert masked["secret_key"] == deliveries.MASK
            masked = masked["a"]
        else:
            [masked] = masked
    assert masked == "leaf"
    text = deliveries.masked_text(b'{"secret_key": "s", "a": ' * levels + b"1" + b"}" * levels)
    assert "s" not in text.replace("secret_key", "").replace("[redacted]", "")


def test_the_dedupe_key_works_at_any_depth():
    payload = deep(20_000, 1)
    assert deliveries.canonical_json(payload).startswith('{"a":[{"a":[')
    envelope = deliveries.Envelope("x", None, None, None, payload, None, None, False, {})
    assert len(deliveries.dedupe_key(envelope)) == 64


def test_a_rejected_body_is_cut_on_a_character_boundary():
    sent = {"action": "x", "secret_key": "wrong", "text": "ä" * 5000}
    body = json.dumps(sent, ensure_ascii=False).encode()
    kept = deliveries.kept_body(parse_envelope(body), body, limit=4096)
    assert kept.truncated and kept.format == deliveries.RAW
    assert len(kept.text.encode("utf-8")) in {4095, 4096}
    assert kept.text.startswith('{"action": "x", "secret_key": "[redacted]", "text": "ää')
    assert kept.size == len(body)
    masked = json.dumps({**sent, "secret_key": "[redacted]"}, ensure_ascii=False)
    assert kept.sha256 == hashlib.sha256(masked.encode()).hexdigest()
