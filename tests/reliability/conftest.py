"""Shared set-up for the reliability suite: a populated handle and generous throttles."""

import pytest

from gharart import constants as c

# Fuzzing and property runs send thousands of requests from one caller: the limits under
# test elsewhere would turn most answers into 429s here.
UNLIMITED = "1000000/min"


@pytest.fixture
def no_throttles(settings):
    settings.GHARART_THROTTLES = {scope: UNLIMITED for scope in settings.GHARART_THROTTLES}
    settings.GHARART_DAILY_QUOTAS = {quota: 1_000_000 for quota in settings.GHARART_DAILY_QUOTAS}


@pytest.fixture
def world(handle, users):
    """acme serving a live site, with a second ready deployment, files, a magic link and a binding."""
    from deployments.services.site import binding_create
    from files import constants as fc
    from files import services as file_services
    from tests.deployments.conftest import SITE, publish
    from tests.files.conftest import PDF, PNG, make_file

    owner = users[c.OWNER]
    handle.site_mode = c.SITE_MODE_DEPLOYMENT
    handle.save(update_fields=["site_mode"])
    live = publish(handle, SITE, actor=owner)
    second = publish(handle, {**SITE, "index.html": b"<!doctype html><title>v2</title>"}, actor=owner, promote=False)
    binding = binding_create(handle=handle, route="/api/hello", methods=["GET"], function="json", config={"body": {"ok": True}}, actor=owner)
    public = make_file(handle, owner, data=PNG, name="logo.png", access=fc.ACCESS_PUBLIC)
    linked = make_file(handle, owner, data=PDF, name="kit.pdf", access=fc.ACCESS_LINK, recipients=["@agency.example"])
    link, token = file_services.magic_link_mint(file=linked, email="ana@agency.example", actor=owner)
    return {
        "handle": handle,
        "owner": owner,
        "live": live,
        "second": second,
        "binding": binding,
        "public_file": public,
        "link_file": linked,
        "link": link,
        "token": token,
    }
