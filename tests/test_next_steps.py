"""One way forward: after each step the page's one primary button is the next step, and the
Authorization page says plainly who filled it in and asks for what the consent screen shows."""

from __future__ import annotations

import html
import re

from consoleapp.extensions import db
from consoleapp.models import (
    App,
    Installation,
    RegisteredWebhook,
    RegistrationState,
    Role,
    WebhookSet,
    WebhookTrigger,
    WizardStep,
    utcnow,
)
from support import add_user, flat_text_of, sign_in

PRIMARY = re.compile(r'class="button[^"]*\bbutton-primary\b[^"]*"[^>]*>([^<]+)<')


def primaries(response) -> list[str]:
    """The labels of the page's primary buttons, inside its main part."""
    main = response.get_data(as_text=True).split('<main id="main"', 1)[1]
    return [html.unescape(label).strip() for label in PRIMARY.findall(main)]


# -- a new app lands on its next step ----------------------------------------------------------


def test_in_live_mode_a_new_app_lands_on_authorization(app, owner):
    assert app.config["SANDBOX_URL"] is None
    response = owner.post("/apps/new", data={"name": "Helpdesk"})
    assert response.headers["Location"] == "/apps/1/authorization"
    page = owner.get(response.headers["Location"])
    assert "App “Helpdesk” created. Next: copy its Client ID and secret" in flat_text_of(page)
    assert "Copy these from the App Authorization block" in flat_text_of(page)
    assert primaries(page) == ["Save authorization"]


def consent_scopes(live, console, app_id: int) -> list[str]:
    """The scopes the sandbox's consent screen asks for when this app is installed."""
    authorize = console.post(f"/apps/{app_id}/install/start").headers["Location"]
    consent = console.get(authorize.removeprefix(live.url))
    assert consent.status_code == 200
    listed = re.search(r'<ul class="lc-scopes">(.*?)</ul>', consent.get_data(as_text=True), re.S)
    return re.findall(r"<code>([^<]+)</code>", listed.group(1))


def ticked_scopes(console, app_id: int) -> list[str]:
    page = console.get(f"/apps/{app_id}/authorization").get_data(as_text=True)
    return re.findall(r'name="auth-scopes" value="([^"]+)" checked', page)


def test_in_sandbox_mode_a_new_app_lands_on_the_webhook_wizard(live, console):
    response = console.post("/apps/new", data={"name": "Helpdesk"})
    assert response.headers["Location"] == "/apps/1/webhooks/new"
    page = flat_text_of(console.get(response.headers["Location"]))
    assert (
        "App “Helpdesk” created. The sandbox filled in its Client ID, secret and developer "
        "token. Next: where LiveChat should send its events."
    ) in page
    assert "Next: check its scopes and save" not in page


def test_the_consent_screen_asks_for_the_scopes_the_authorization_page_ticks(live, console):
    created = console.post("/apps/new", data={"name": "Helpdesk"})
    app_id = int(created.headers["Location"].split("/")[2])
    ticked = ticked_scopes(console, app_id)
    assert ticked == ["webhooks.configuration:rw", "webhooks.state:rw", "webhooks.state:ro"]
    assert consent_scopes(live, console, app_id) == ticked

    # Changing them here changes them where the sandbox stands in for the Developer Console.
    with live.app.app_context():
        item = db.session.get(App, app_id)
        form = {
            "auth-client_id": item.client_id,
            "auth-scopes": [*ticked, "accounts--my:ro"],
            "auth-direct_install_url": item.direct_install_url,
            "auth-redirect_uris": "\n".join(item.redirect_uris),
            "auth-api_version": "3.6",
        }
    saved = console.post(f"/apps/{app_id}/authorization/settings", data=form)
    assert saved.status_code == 302
    page = flat_text_of(console.get(saved.headers["Location"]))
    assert "Authorization settings saved." in page and "did not take" not in page
    assert consent_scopes(live, console, app_id) == [*ticked, "accounts--my:ro"]


def test_a_sandbox_that_does_not_take_the_change_is_said_and_the_change_kept(app_factory):
    app = app_factory(SANDBOX_URL="http://127.0.0.1:9/sandbox")
    client = app.test_client()
    sign_in(client, add_user(app, "owner@example.com", Role.OWNER))
    app_id = ready_app(app)
    form = {
        "auth-client_id": "client-1",
        "auth-scopes": ["webhooks.configuration:rw", "webhooks.state:rw", "accounts--my:ro"],
        "auth-direct_install_url": INSTALL_URL,
        "auth-redirect_uris": INSTALL_URL,
        "auth-api_version": "3.6",
    }
    saved = client.post(f"/apps/{app_id}/authorization/settings", data=form)
    page = flat_text_of(client.get(saved.headers["Location"]))
    assert "Authorization settings saved." in page
    assert "The sandbox did not take the new scopes and redirect addresses" in page
    with app.app_context():
        assert "accounts--my:ro" in db.session.get(App, app_id).scopes


# -- the Authorization page --------------------------------------------------------------------

INSTALL_URL = "https://console.example.com/apps/1/install/callback"


def ready_app(app, *, credential: bool = True) -> int:
    with app.app_context():
        item = App(
            name="Helpdesk",
            client_id="client-1",
            scopes=["webhooks.configuration:rw", "webhooks.state:rw"],
            direct_install_url=INSTALL_URL,
            redirect_uris=[INSTALL_URL],
        )
        item.set_client_secret("client-secret-value-4321")
        if credential:
            item.developer_account_id = "account-1"
            item.set_developer_token("developer-token-value-8765")
        db.session.add(item)
        db.session.commit()
        return item.id


def test_sandbox_mode_says_the_sandbox_filled_it_in(app_factory):
    app = app_factory(SANDBOX_URL="http://127.0.0.1:9/sandbox")
    client = app.test_client()
    sign_in(client, add_user(app, "owner@example.com", Role.OWNER))
    page = flat_text_of(client.get(f"/apps/{ready_app(app)}/authorization"))
    assert "The sandbox filled these in when you created the app: nothing to copy." in page
    assert "Issued by the sandbox for this app." in page
    assert "LiveChat's consent screen asks for exactly these." in page
    assert "The sandbox issued a Personal Access Token" in page
    assert "Developer Console" not in page


def test_live_mode_says_where_to_copy_from(app, owner):
    page = flat_text_of(owner.get(f"/apps/{ready_app(app)}/authorization"))
    assert "Copy these from the App Authorization block" in page
    assert "Tick the same scopes as in the Developer Console." in page
    assert "The sandbox" not in page


def test_each_saved_hint_sits_under_its_own_field(app, owner):
    page = flat_text_of(owner.get(f"/apps/{ready_app(app)}/authorization"))
    secret_label = page.index('<label for="auth-client_secret">')
    secret_input = page.index('id="auth-client_secret"', secret_label)
    secret_hint = page.index("Saved secret ends in <code>…4321</code>")
    assert page.index('id="auth-client_id"') < secret_label < secret_input < secret_hint
    assert secret_hint < page.index("<legend>Scopes</legend>")
    assert 'aria-describedby="auth-client_secret-help auth-client_secret-note"' in page
    token_input = page.index('id="dev-token"')
    assert page.index('<label for="dev-token">') < token_input
    assert token_input < page.index("Saved token ends in <code>…8765</code>")
    assert 'aria-describedby="dev-token-help dev-token-note"' in page


def add_set(app, app_id: int, step: WizardStep, registered: bool = False) -> str:
    with app.app_context():
        webhook_set = WebhookSet(
            app_id=app_id,
            target_url="https://tools.example.com/livechat",
            wizard_step=step,
            triggers=[WebhookTrigger(action="incoming_chat")],
        )
        db.session.add(webhook_set)
        db.session.flush()
        if registered:
            db.session.add(
                RegisteredWebhook(
                    webhook_set_id=webhook_set.id,
                    action="incoming_chat",
                    livechat_webhook_id="wh-1",
                    state=RegistrationState.REGISTERED,
                    registered_at=utcnow(),
                )
            )
        db.session.commit()
        return webhook_set.uid


def test_authorization_leads_on_to_the_next_step(app, owner):
    unfinished = ready_app(app, credential=False)
    page = owner.get(f"/apps/{unfinished}/authorization")
    assert primaries(page) == ["Save credential"]
    assert "Authorization is set up." not in flat_text_of(page)

    with app.app_context():
        item = db.session.get(App, unfinished)
        item.developer_account_id = "account-1"
        item.set_developer_token("developer-token-value-8765")
        db.session.commit()
    page = owner.get(f"/apps/{unfinished}/authorization")
    assert primaries(page) == ["Next: Webhooks"]
    assert f'href="/apps/{unfinished}/webhooks/new">Next: Webhooks</a>' in flat_text_of(page)

    uid = add_set(app, unfinished, WizardStep.TRIGGERS)
    page = owner.get(f"/apps/{unfinished}/authorization")
    assert primaries(page) == ["Next: finish the webhook set"]
    assert f'href="/apps/{unfinished}/webhooks/{uid}/triggers"' in flat_text_of(page)

    with app.app_context():
        db.session.execute(db.delete(WebhookSet))
        db.session.commit()
    add_set(app, unfinished, WizardStep.DONE, registered=True)
    page = owner.get(f"/apps/{unfinished}/authorization")
    assert primaries(page) == ["Next: Install & test"]


def test_after_registering_the_one_primary_button_installs_the_app(app, owner):
    # Not installed yet: installing is the next step, offered at once (LiveChat's sign-in in a
    # popup), and the page then goes on to Install & test.
    app_id = ready_app(app)
    uid = add_set(app, app_id, WizardStep.DONE, registered=True)
    page = owner.get(f"/apps/{app_id}/webhooks/{uid}/registration")
    assert primaries(page) == ["Next: Install app"]
    text = flat_text_of(page)
    # A plain form in this tab; install.js turns it into the popup.
    assert f'action="/apps/{app_id}/install/start" data-install-popup' in text
    assert 'target="livechat-install"' not in text
    assert f'data-install-next="/apps/{app_id}/test/"' in text
    assert "js/install.js" in text
    assert f'href="/apps/{app_id}/webhooks/{uid}/remove">Remove from LiveChat…</a>' in text


def test_after_registering_an_installed_app_is_led_on_to_install_and_test(app, owner):
    app_id = ready_app(app)
    uid = add_set(app, app_id, WizardStep.DONE, registered=True)
    with app.app_context():
        db.session.add(Installation(app_id=app_id, organization_id="org-1"))
        db.session.commit()
    page = owner.get(f"/apps/{app_id}/webhooks/{uid}/registration")
    assert primaries(page) == ["Next: Install & test"]
    text = flat_text_of(page)
    assert f'<a class="button button-primary" href="/apps/{app_id}/test/">' in text
    assert "/install/start" not in text
    assert f'href="/apps/{app_id}/webhooks/{uid}/remove">Remove from LiveChat…</a>' in text


def test_an_app_that_cannot_be_installed_yet_is_led_to_install_and_test(app, owner):
    app_id = ready_app(app)
    with app.app_context():
        db.session.get(App, app_id).direct_install_url = None
        db.session.commit()
    uid = add_set(app, app_id, WizardStep.DONE, registered=True)
    page = owner.get(f"/apps/{app_id}/webhooks/{uid}/registration")
    assert primaries(page) == ["Next: Install & test"]


def test_a_viewer_is_led_on_but_offered_no_removal(app, client):
    app_id = ready_app(app)
    uid = add_set(app, app_id, WizardStep.DONE, registered=True)
    sign_in(client, add_user(app, "viewer@example.com", Role.VIEWER))
    page = client.get(f"/apps/{app_id}/webhooks/{uid}/registration")
    assert primaries(page) == ["Next: Install & test"]
    assert "Remove from LiveChat" not in flat_text_of(page)


def test_the_overview_links_every_step(app, owner):
    app_id = ready_app(app)
    add_set(app, app_id, WizardStep.DONE, registered=True)
    page = flat_text_of(owner.get(f"/apps/{app_id}"))
    for link in (
        f'href="/apps/{app_id}/authorization">View authorization</a>',
        f'href="/apps/{app_id}/authorization#developer-credential">View credential</a>',
        f'href="/apps/{app_id}/webhooks/">View webhooks</a>',
        f'href="/apps/{app_id}/test/">Install and test</a>',
    ):
        assert link in page
