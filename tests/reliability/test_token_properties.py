"""Property: tampered or garbage tokens never validate and never cause a server error.

Three token kinds guard content without a login: magic-link tokens of files in ``link``
mode (``?token=``), partner sign-in tokens and cookies of the internal docs, and signed
preview URLs. Each is attacked with garbage text, and with the real token changed in one
character, cut short, extended, re-cased, wrapped in whitespace, or taken from another
file. Only the untouched token works; everything else gets the contract's refusal.
"""

import pytest
from django.test import Client
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from deployments import previews
from files import constants as fc
from files import docs, downloads
from files import services as file_services
from gharart.errors import ApplicationError
from tests.files.conftest import DOCS_PAGES, make_docs

pytestmark = pytest.mark.django_db
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=120)
SETTINGS = settings(max_examples=200, derandomize=True, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def tampered(valid: str):
    """Strategies for strings that are NOT the valid token but look like it."""
    n = len(valid)
    return st.one_of(
        TEXT,
        st.tuples(st.integers(0, n - 1), st.characters(exclude_categories=("Cs",))).map(lambda t: valid[: t[0]] + t[1] + valid[t[0] + 1 :]),
        st.integers(0, n - 1).map(lambda i: valid[:i]),
        TEXT.filter(bool).map(lambda extra: valid + extra),
        TEXT.filter(bool).map(lambda extra: extra + valid),
        st.sampled_from([valid.upper(), valid.lower(), valid.swapcase(), f" {valid}", f"{valid}\n", valid[::-1], valid * 2]),
        st.integers(1, 3).map(lambda k: valid.replace(":", "", k)),
    ).filter(lambda s: s != valid)


@pytest.fixture
def shared(world):
    other_file = file_services.file_update(file=world["public_file"], actor=world["owner"], access=fc.ACCESS_LINK, recipients=["@agency.example"])
    _, other_token = file_services.magic_link_mint(file=other_file, email="ana@agency.example", actor=world["owner"])
    return {**world, "other_token": other_token}


def test_the_untouched_tokens_work(client, shared):
    url = f"/v2/public/files/{shared['link_file'].id}"
    assert client.get(url, {"token": shared["token"]}).status_code == 200
    assert previews.preview_deployment_id(previews.preview_token(shared["live"].id)) == shared["live"].id


@SETTINGS
@given(data=st.data())
def test_a_tampered_magic_link_token_never_downloads(no_throttles, shared, data):
    token = data.draw(st.one_of(tampered(shared["token"]), st.just(shared["other_token"])))
    assume(token != shared["token"])
    with pytest.raises(ApplicationError) as refused:
        downloads.authorize(file_id=shared["link_file"].id, token=token)
    expected = fc.MAGIC_LINK_REQUIRED if not token else fc.MAGIC_LINK_INVALID
    assert (refused.value.status, refused.value.code) == (403, expected)
    response = Client().get(f"/v2/public/files/{shared['link_file'].id}", {"token": token})
    if "\x00" in token:
        assert response.status_code == 400
    else:
        assert response.status_code == 403, response.content[:200]
        assert response.json()["error"]["code"] == expected


@pytest.fixture
def partners_policy(shared):
    handle, owner = shared["handle"], shared["owner"]
    make_docs(handle, owner, DOCS_PAGES)
    policy = file_services.docs_policy_update(handle=handle, actor=owner, data={"visibility": "partners", "partner_domains": ["agency.example"]})
    token = docs.signin_token(slug=handle.slug, email="ana@agency.example", version=policy.version, next_path="/")
    cookie = docs.cookie_value(slug=handle.slug, email="ana@agency.example", version=policy.version)
    return {"policy": policy, "token": token, "cookie": cookie}


def test_the_untouched_docs_token_and_cookie_work(shared, partners_policy):
    policy = partners_policy["policy"]
    assert docs.signin_token_read(token=partners_policy["token"], slug="acme", policy=policy) == ("ana@agency.example", "/")
    browser = Client()
    browser.cookies[fc.DOCS_COOKIE_NAME] = partners_policy["cookie"]
    assert browser.get("/_edge/docs/acme/").status_code == 200


@SETTINGS
@given(data=st.data())
def test_a_tampered_docs_sign_in_token_or_cookie_never_signs_in(no_throttles, shared, partners_policy, data):
    policy = partners_policy["policy"]
    token = data.draw(tampered(partners_policy["token"]))
    assert docs.signin_token_read(token=token, slug="acme", policy=policy) is None
    response = Client().get("/_edge/docs/acme/_access", {"token": token})
    assert response.status_code in (400, 403) if token else response.status_code == 200
    assert fc.DOCS_COOKIE_NAME not in response.cookies
    # A WSGI server hands headers over as latin-1 text: other characters cannot arrive.
    cookie = data.draw(tampered(partners_policy["cookie"]).filter(lambda v: all(ord(ch) < 256 for ch in v)))
    browser = Client()
    browser.cookies[fc.DOCS_COOKIE_NAME] = cookie
    response = browser.get("/_edge/docs/acme/", HTTP_ACCEPT="application/json")
    assert response.status_code == 401, response.status_code


@SETTINGS
@given(data=st.data())
def test_a_tampered_preview_token_never_shows_a_deployment(shared, data):
    valid = previews.preview_token(shared["second"].id)
    token = data.draw(tampered(valid))
    try:
        previews.preview_deployment_id(token)
    except ApplicationError as exc:
        assert (exc.status, exc.code) in ((404, "preview_not_found"), (403, "preview_expired"))
    else:
        raise AssertionError(f"tampered preview token accepted: {token!r}")
    assume("/" not in token and "?" not in token and "#" not in token and token not in ("", ".", ".."))
    from urllib.parse import quote

    response = Client().get(f"/previews/{quote(token, safe='')}/")
    assert response.status_code in (400, 403, 404), (token, response.status_code)
    assert "X-Gharart-Deployment" not in response
