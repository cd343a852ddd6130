"""In a real browser: a deployed page's script cannot act with the dashboard's session.

A member signs in to the dashboard in Chromium, then opens pages of her handle's profile
site, a signed preview and the internal docs. Each page runs a probe script that tries
to read ``document.cookie`` and ``localStorage``, to read ``/v2/me/tokens`` with
credentials, and to create a token with ``POST /v2/me/tokens`` (CORS and no-cors). On the
dashboard's own page the CSRF cookie is readable (the control); in every customer page
the cookie read throws, the reads fail, no request reaches the API with the session (the
request log shows them anonymous) and no token is created.
"""

import json
import os

import pytest

from deployments import previews
from gharart import constants as c
from gharart.models import PersonalAccessToken, RequestLog
from tests.deployments.conftest import publish

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]

PROBE = b"""<!doctype html><title>probe</title><pre id="out">pending</pre>
<script>
const out = {origin: String(self.origin)};
try { out.cookie = "read: " + document.cookie; } catch (e) { out.cookie = "threw " + e.name; }
try { out.storage = "read: " + localStorage.length; } catch (e) { out.storage = "threw " + e.name; }
const body = JSON.stringify({name: "stolen", scopes: ["sites:write"]});
(async () => {
  try { const r = await fetch("/v2/me/tokens", {credentials: "include"}); out.read = "status " + r.status + " " + (await r.text()).slice(0, 60); }
  catch (e) { out.read = "threw " + e.name; }
  try { const r = await fetch("/v2/me/tokens", {method: "POST", credentials: "include", headers: {"Content-Type": "application/json"}, body}); out.write = "status " + r.status; }
  catch (e) { out.write = "threw " + e.name; }
  try { const r = await fetch("/v2/me/tokens", {method: "POST", mode: "no-cors", credentials: "include", headers: {"Content-Type": "text/plain"}, body}); out.nocors = "type " + r.type; }
  catch (e) { out.nocors = "threw " + e.name; }
  document.getElementById("out").textContent = JSON.stringify(out);
})();
</script>"""


@pytest.fixture
def chromium():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium not found at /usr/bin/chromium")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop runs on this thread
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def test_customer_scripts_cannot_use_the_dashboard_session(chromium, live_server, handle, users):
    owner = users[c.OWNER]
    handle.site_mode = c.SITE_MODE_DEPLOYMENT
    handle.save(update_fields=["site_mode"])
    site = publish(handle, {"index.html": PROBE}, actor=owner)
    publish(handle, {"index.html": PROBE}, actor=owner, target="docs")
    tokens_before = PersonalAccessToken.objects.count()

    page = chromium.new_context().new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "acme-owner")
    page.fill("input[name=password]", "pw-owner")
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    # Control: on the dashboard's own page a script can read the (non-HttpOnly) CSRF cookie.
    assert "csrftoken=" in page.evaluate("document.cookie")

    urls = [
        f"{live_server.url}/profiles/acme/",
        f"{live_server.url}/previews/{previews.preview_token(site.id)}/",
        f"{live_server.url}/_edge/docs/acme/",  # members read the docs with their session
    ]
    for url in urls:
        response = page.goto(url)
        assert response.status == 200, url
        assert "allow-same-origin" not in response.headers["content-security-policy"]
        page.wait_for_function("document.getElementById('out').textContent !== 'pending'")
        result = json.loads(page.text_content("#out"))
        assert result["origin"] == "null", result  # an opaque origin: not the dashboard's
        assert result["cookie"] == "threw SecurityError", result
        assert result["storage"] == "threw SecurityError", result
        assert result["read"].startswith("threw"), result  # CORS: nothing readable
        assert result["write"].startswith("threw"), result

    assert PersonalAccessToken.objects.count() == tokens_before, "a customer page created a token"
    probes = RequestLog.objects.filter(path="/v2/me/tokens")
    assert probes.exists()
    assert not probes.filter(user__isnull=False).exists(), list(probes.values("method", "status_code", "user_id"))
