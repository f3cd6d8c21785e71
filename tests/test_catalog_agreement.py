"""The console's trigger catalogue and the sandbox's agree, as seen through HTTP.

Each was written separately from LiveChat's documentation; a mistake in one shows up here
instead of hiding behind a shared list.
"""

from __future__ import annotations

import pytest

from consoleapp.livechat import catalog
from consoleapp.livechat.configuration import ConfigurationApi


@pytest.mark.parametrize("version", ["3.5", "3.6"])
def test_console_catalogue_matches_list_webhook_names(live_server_factory, version):
    live = live_server_factory()
    api = ConfigurationApi(live.app.config["LIVECHAT_API_URL"], version)
    offered = {name.action: name for name in api.list_webhook_names(version)}
    ours = {trigger.action: trigger for trigger in catalog.triggers_for(version)}

    assert sorted(offered) == sorted(ours)
    for action, trigger in ours.items():
        assert sorted(offered[action].filters) == sorted(trigger.filters), action
        assert sorted(offered[action].additional_data) == sorted(trigger.additional_data), action


def test_every_group_is_known_and_every_trigger_explained():
    for trigger in catalog.TRIGGERS:
        assert trigger.group in catalog.TRIGGER_GROUPS
        assert trigger.title and trigger.description and trigger.how_to_fire
