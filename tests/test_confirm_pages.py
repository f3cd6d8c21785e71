"""Every destructive action asks first: its button opens a page (a plain GET, no script) that
names what goes and what stays, with one button that acts (a CSRF-checked POST) and Cancel."""

from __future__ import annotations

import html
import re

import pytest
import responses

from consoleapp.extensions import db
from consoleapp.models import (
    App,
    AuditEvent,
    Delivery,
    Installation,
    RegisteredWebhook,
    RegistrationState,
    Role,
    User,
    WebhookSet,
    WebhookTrigger,
    WizardStep,
    utcnow,
)
from install_support import TOKEN_URL, add_install_app
from support import add_user, flat_text_of, sign_in


def assert_clean_page(page_html: str, url: str) -> None:
    """A title, a heading, and no inline script or style (the CSP forbids them)."""
    assert re.search(r"<title>[^<]+ · consoleapp</title>", page_html), url
    assert "<h1" in page_html, url
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page_html, re.I), url
    assert not re.search(r"\s(on[a-z]+|style)\s*=", page_html, re.I), url


def words_of(response) -> str:
    """What a person reads: the text without its tags."""
    return re.sub(
        r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", response.get_data(as_text=True)))
    )


def add_set(app, app_id: int, *, registered: bool, deliveries: int = 0) -> str:
    """A set of two triggers at review (or registered with LiveChat, when ``registered``)."""
    with app.app_context():
        webhook_set = WebhookSet(
            app_id=app_id,
            target_url="https://tools.example.com/livechat",
            wizard_step=WizardStep.DONE if registered else WizardStep.REVIEW,
            secret_saved_at=utcnow(),
            triggers=[
                WebhookTrigger(action="incoming_chat"),
                WebhookTrigger(action="chat_deactivated"),
            ],
        )
        webhook_set.set_secret_key("set-secret-key-Wx7q")
        db.session.add(webhook_set)
        db.session.flush()
        if registered:
            for action in ("incoming_chat", "chat_deactivated"):
                db.session.add(
                    RegisteredWebhook(
                        webhook_set_id=webhook_set.id,
                        action=action,
                        livechat_webhook_id=f"wh-{action}",
                        state=RegistrationState.REGISTERED,
                        registered_at=utcnow(),
                    )
                )
        for _ in range(deliveries):
            db.session.add(
                Delivery(webhook_set_id=webhook_set.id, action="incoming_chat", verified=True)
            )
        db.session.commit()
        return webhook_set.uid


def add_installation(app, app_id: int) -> str:
    with app.app_context():
        row = Installation(app_id=app_id, organization_id="390e44e6-f1e6-0368c-z6ddb-74g14508c2ex")
        db.session.add(row)
        db.session.flush()
        row.refresh_token = "refresh-token-value"
        db.session.commit()
        return row.uid


@pytest.fixture
def world(app, owner_id):
    """An app with a registered set, a set ready to register, an installation, a teammate."""
    app_id = add_install_app(app)
    return {
        "app_id": app_id,
        "registered": add_set(app, app_id, registered=True, deliveries=3),
        "ready": add_set(app, app_id, registered=False),
        "installation": add_installation(app, app_id),
        "teammate": add_user(app, "nick@example.com", Role.VIEWER),
    }


def confirm_pages(w: dict) -> list[tuple[str, str, str, list[str], str]]:
    """(page, its action, the button, what it names, where Cancel goes)."""
    app_id = w["app_id"]
    sets = f"/apps/{app_id}/webhooks"
    return [
        (
            f"{sets}/{w['registered']}/remove",
            f"{sets}/{w['registered']}/remove",
            "Remove from LiveChat",
            ["2 webhooks of this set", "A chat starts", "A chat ends", "The 3 deliveries"],
            f"{sets}/{w['registered']}/registration",
        ),
        (
            f"{sets}/{w['ready']}/delete",
            f"{sets}/{w['ready']}/delete",
            "Delete this set",
            ["its secret key (ends in …Wx7q) and its 2 triggers", "Everything at LiveChat"],
            f"{sets}/{w['ready']}/review",
        ),
        (
            f"/team/{w['teammate']}/remove",
            f"/team/{w['teammate']}/remove",
            "Remove nick@example.com",
            ["they can no longer sign in", "What they did, in the audit log."],
            "/team/",
        ),
        (
            f"/apps/{app_id}/install/{w['installation']}/disconnect",
            f"/apps/{app_id}/install/{w['installation']}/disconnect",
            "Disconnect LiveChat",
            ["your LiveChat organization (ID ending …08c2ex)", "revoked at LiveChat"],
            f"/apps/{app_id}/install/connection",
        ),
    ]


def test_each_confirmation_page_names_what_goes_and_offers_act_or_cancel(app, owner, world):
    for page, action, button, named, cancel in confirm_pages(world):
        response = owner.get(page)
        assert response.status_code == 200, page
        assert_clean_page(response.get_data(as_text=True), page)
        text, words_read = flat_text_of(response), words_of(response)
        assert "What is removed" in words_read and "What stays" in words_read, page
        for words in named:
            assert words in words_read, (page, words)
        assert f'<form method="post" action="{action}" class="form-actions">' in text, page
        assert f'<button type="submit" class="button button-danger">{button}</button>' in text
        assert f'<a class="button button-quiet" href="{cancel}">Cancel</a>' in text, page


def test_the_buttons_that_remove_lead_to_the_question_not_the_action(app, owner, world):
    app_id, sets = world["app_id"], f"/apps/{world['app_id']}/webhooks"
    pages = {
        f"{sets}/{world['registered']}/registration": f"{sets}/{world['registered']}/remove",
        f"{sets}/{world['ready']}/registration": f"{sets}/{world['ready']}/delete",
        "/team/": f"/team/{world['teammate']}/remove",
        f"/apps/{app_id}/install/connection": (
            f"/apps/{app_id}/install/{world['installation']}/disconnect"
        ),
    }
    for page, question in pages.items():
        text = flat_text_of(owner.get(page))
        assert f'href="{question}"' in text, page
        assert f'action="{question}"' not in text, page


def test_viewers_get_no_question_pages(app, client, world):
    sign_in(client, add_user(app, "viewer@example.com", Role.VIEWER))
    for page, *_ in confirm_pages(world):
        assert client.get(page).status_code == 403, page


def test_unknown_things_have_no_question_page(app, owner, world):
    app_id = world["app_id"]
    for page in (
        f"/apps/{app_id}/webhooks/nope/remove",
        f"/apps/{app_id}/webhooks/nope/delete",
        f"/apps/{app_id}/install/nope/disconnect",
        "/team/999999/remove",
        f"/apps/{app_id + 1}/webhooks/{world['ready']}/delete",
    ):
        assert owner.get(page).status_code == 404, page


def test_a_set_livechat_still_holds_cannot_be_deleted_from_its_question(app, owner, world):
    sets = f"/apps/{world['app_id']}/webhooks/{world['registered']}"
    text = flat_text_of(owner.get(f"{sets}/delete"))
    assert "LiveChat still holds 2 webhooks of this set. Remove them from LiveChat first" in text
    assert f'action="{sets}/delete"' not in text
    assert f'href="{sets}/remove">Remove from LiveChat first…</a>' in text


def test_a_set_livechat_holds_nothing_of_says_so_and_offers_no_removal(app, owner, world):
    sets = f"/apps/{world['app_id']}/webhooks/{world['ready']}"
    text = flat_text_of(owner.get(f"{sets}/remove"))
    assert "LiveChat holds no webhook of this set: there is nothing to remove." in text
    assert f'action="{sets}/remove"' not in text


@pytest.mark.parametrize(
    ("who", "target", "message"),
    [
        ("owner", "owner", "You cannot remove yourself. Ask another owner or admin."),
        ("admin", "owner", "Only an owner can change or remove an owner."),
    ],
)
def test_a_removal_that_would_be_refused_says_so_before_asking(app, client, who, target, message):
    people = {
        "owner": add_user(app, "owner@example.com", Role.OWNER),
        "admin": add_user(app, "admin@example.com", Role.ADMIN),
    }
    sign_in(client, people[who])
    response = client.get(f"/team/{people[target]}/remove")
    assert response.status_code == 302 and response.headers["Location"] == "/team/"
    assert message in flat_text_of(client.get("/team/"))


def test_the_question_counts_open_sessions(app, owner, world):
    sign_in(app.test_client(), world["teammate"])
    sign_in(app.test_client(), world["teammate"])
    text = flat_text_of(owner.get(f"/team/{world['teammate']}/remove"))
    assert "Their 2 open sessions: they are signed out at once, everywhere." in text


def csrf_token(page_html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page_html).group(1)


def test_the_question_posts_with_csrf_and_the_action_is_audited_once(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    owner_id = add_user(app, "owner@example.com", Role.OWNER)
    teammate = add_user(app, "nick@example.com", Role.VIEWER)
    sign_in(client, owner_id)
    page = client.get(f"/team/{teammate}/remove").get_data(as_text=True)
    assert client.post(f"/team/{teammate}/remove").status_code == 400  # no token: nothing
    with app.app_context():
        assert db.session.get(User, teammate) is not None
    response = client.post(f"/team/{teammate}/remove", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302 and response.headers["Location"] == "/team/"
    assert "nick@example.com was removed and signed out." in flat_text_of(client.get("/team/"))
    with app.app_context():
        assert db.session.get(User, teammate) is None
        removed = db.session.execute(
            db.select(AuditEvent).where(AuditEvent.action == "user.removed")
        ).scalars()
        assert [event.target for event in removed] == ["nick@example.com"]


def test_disconnecting_from_the_question_revokes_and_says_so(app, owner, world):
    app_id, uid = world["app_id"], world["installation"]
    assert "Disconnect LiveChat" in flat_text_of(
        owner.get(f"/apps/{app_id}/install/{uid}/disconnect")
    )
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.delete(TOKEN_URL, json={})
        response = owner.post(f"/apps/{app_id}/install/{uid}/disconnect")
    assert response.headers["Location"] == f"/apps/{app_id}/install/connection"
    with app.app_context():
        assert db.session.execute(db.select(Installation)).first() is None
        [event] = db.session.execute(
            db.select(AuditEvent).where(AuditEvent.action == "app.disconnected")
        ).scalars()
        assert event.details["revoked"] is True


def test_deleting_an_app_names_everything_that_goes_with_it(app, owner, world):
    text = flat_text_of(owner.get(f"/apps/{world['app_id']}/delete"))
    assert "Its 2 webhook sets and the 3 deliveries in its Inbox." in text
    assert "Its 1 installation on LiveChat licenses" in text
    assert "The 2 webhooks LiveChat holds for it: LiveChat keeps sending those events." in text
    assert "The app itself in LiveChat's Developer Console." in text
    assert f'<a class="button button-quiet" href="/apps/{world["app_id"]}">Cancel</a>' in text


def test_deleting_a_bare_app_names_only_the_app(app, owner):
    with app.app_context():
        row = App(name="Bare")
        db.session.add(row)
        db.session.commit()
        app_id = row.id
    text = flat_text_of(owner.get(f"/apps/{app_id}/delete"))
    assert "The app “Bare”, its saved Client Secret" in text
    assert "webhook set" not in text and "installation" not in text
    assert "LiveChat holds for it" not in text
