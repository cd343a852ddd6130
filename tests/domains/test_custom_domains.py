"""Custom domains: add, verify against a real (loopback) authoritative DNS server, serve,
remove, the scheduled re-check with its grace period, and who may do it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from domains import constants as dc
from domains import dns, services
from domains.models import CustomDomain
from gharart import constants as gc
from gharart.models import AuditEvent
from tests.conftest import assert_error
from tests.domains.conftest import host_client

pytestmark = pytest.mark.django_db
BASE = "/v2/handles/acme/domains"
WWW = "www.brand.example"


def add(api, user, domain=WWW):
    return api(user).post(BASE, {"domain": domain}, format="json")


def publish_record(zone, row):
    zone.txt[row.record_name] = [row.record_value]


@pytest.fixture
def owner(users):
    return users[gc.OWNER]


@pytest.fixture
def added(api, owner):
    r = add(api, owner)
    assert r.status_code == 201, r.content
    return CustomDomain.objects.get(domain=WWW)


def test_adding_a_domain_returns_the_record_to_publish(api, owner):
    r = add(api, owner, "WWW.Brand.Example.")
    assert r.status_code == 201
    body = r.json()
    assert body["domain"] == WWW and body["status"] == "pending" and body["verified_at"] is None and body["created_at"]
    v = body["verification"]
    assert v["type"] == "TXT" and v["name"] == f"_gharart-challenge.{WWW}"
    assert v["value"].startswith("gharart-verify=") and len(v["value"]) > 30
    listed = api(owner).get(BASE).json()
    assert [d["domain"] for d in listed["results"]] == [WWW] and listed["next"] is None
    assert AuditEvent.objects.filter(action=dc.AUDIT_ADD, target=WWW).exists()


def test_every_domain_gets_its_own_challenge_value(api, owner):
    add(api, owner, "a.brand.example")
    add(api, owner, "b.brand.example")
    values = {d.record_value for d in CustomDomain.objects.all()}
    assert len(values) == 2


@pytest.mark.parametrize(
    "raw",
    [
        "shop.sites.gharart.com",  # under the sites domain
        "sites.gharart.com",
        "a.b.sites.gharart.com",
        "testserver",  # the dashboard's own host (single label too)
        "localhost",
        "192.0.2.10",
        "[2001:db8::1]",
        "2001:db8::1",
        "brand",  # a single label
        "brand.example:8443",
        "https://brand.example/",
        "*.brand.example",
        "bad_label.example",
        "-x.example",
        "",
        "a" * 64 + ".example",
    ],
)
def test_names_that_can_never_be_custom_domains_are_refused(api, owner, raw):
    err = assert_error(add(api, owner, raw), 400, gc.VALIDATION_ERROR)
    assert err["details"]["domain"]


def test_the_dashboards_own_public_host_is_refused(api, owner, settings):
    settings.GHARART_PUBLIC_URL = "https://app.gharart.example"
    assert_error(add(api, owner, "app.gharart.example"), 400, gc.VALIDATION_ERROR)


def test_a_domain_another_handle_has_is_taken(api, owner, outsider):
    assert add(api, outsider, WWW).status_code == 404  # outsider is no member of acme
    from gharart.models import Handle

    services.domain_add(handle=Handle.objects.get(slug="other"), domain=WWW)
    err = assert_error(add(api, owner), 409, dc.DOMAIN_TAKEN)
    assert err["details"]["domain"] == WWW
    assert CustomDomain.objects.get(domain=WWW).handle.slug == "other"


def test_adding_the_same_domain_twice_is_taken(api, owner, added):
    assert_error(add(api, owner), 409, dc.DOMAIN_TAKEN)


def test_verification_fails_with_the_expected_record_until_it_is_published(api, owner, added, dns_zone):
    url = f"{BASE}/{WWW}/verify"
    err = assert_error(api(owner).post(url, format="json"), 409, dc.DOMAIN_VERIFICATION_FAILED)
    assert err["details"]["expected"] == {"type": "TXT", "name": added.record_name, "value": added.record_value}
    assert added.record_name in dns_zone.queries
    dns_zone.txt[added.record_name] = ["gharart-verify=someone-elses-value", "v=spf1 -all"]
    assert_error(api(owner).post(url, format="json"), 409, dc.DOMAIN_VERIFICATION_FAILED)
    added.refresh_from_db()
    assert added.status == dc.PENDING and "none holds the expected value" in added.last_error
    dns_zone.txt[added.record_name] = ["v=spf1 -all", added.record_value]
    r = api(owner).post(url, format="json")
    assert r.status_code == 200 and r.json()["status"] == "verified" and r.json()["verified_at"]
    assert AuditEvent.objects.filter(action=dc.AUDIT_VERIFY, target=WWW).exists()


def test_an_unreachable_name_server_is_a_verification_failure_not_a_500(api, owner, added, settings, monkeypatch):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # a free port nobody answers on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.GHARART_DNS_NAMESERVERS = f"127.0.0.1:{port}"
    monkeypatch.setattr(dc, "DNS_TIMEOUT_SECONDS", 0.5)
    assert_error(api(owner).post(f"{BASE}/{WWW}/verify", format="json"), 409, dc.DOMAIN_VERIFICATION_FAILED)


def test_a_verified_domain_serves_the_live_site_and_stops_at_once_when_removed(api, owner, added, dns_zone, live_site, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    site = host_client(WWW)
    pending = site.get("/", HTTP_ACCEPT="application/json")
    assert_error(pending, 404, gc.NOT_FOUND)  # added, not verified: never the dashboard
    publish_record(dns_zone, added)
    assert api(owner).post(f"{BASE}/{WWW}/verify", format="json").status_code == 200
    r = site.get("/about.html")
    assert r.status_code == 200 and r["X-Gharart-Deployment"] == live_site.id and "Content-Security-Policy" not in r
    assert site.get("/admin/").status_code == 200  # the site's own /admin/ page, not Django's
    assert api(owner).delete(f"{BASE}/{WWW}").status_code == 204
    gone = site.get("/about.html")
    assert gone.status_code == 400 and "X-Gharart-Deployment" not in gone  # not ours any more: ALLOWED_HOSTS refuses it
    assert AuditEvent.objects.filter(action=dc.AUDIT_REMOVE, target=WWW).exists()
    assert_error(api(owner).delete(f"{BASE}/{WWW}"), 404, dc.DOMAIN_NOT_FOUND)


def test_only_owners_and_admins_with_sites_write_manage_domains(api, users, pat, handle):
    for role in (gc.WEB_MANAGER, gc.PARTNERSHIPS, gc.VIEWER):
        assert_error(add(api, users[role]), 403, gc.FORBIDDEN)
    assert add(api, users[gc.ADMIN], "admin.brand.example").status_code == 201
    assert api(users[gc.VIEWER]).get(BASE).status_code == 200
    assert_error(api(users[gc.WEB_MANAGER]).post(f"{BASE}/admin.brand.example/verify", format="json"), 403, gc.FORBIDDEN)
    assert_error(api(users[gc.WEB_MANAGER]).delete(f"{BASE}/admin.brand.example"), 403, gc.FORBIDDEN)
    read_only = pat(users[gc.OWNER], [gc.SCOPE_SITES_READ])
    err = assert_error(api(token=read_only).post(BASE, {"domain": "x.brand.example"}, format="json"), 403, gc.INSUFFICIENT_SCOPE)
    assert err["details"]["required_scope"] == gc.SCOPE_SITES_WRITE
    writer = pat(users[gc.OWNER], [gc.SCOPE_SITES_WRITE])
    assert api(token=writer).post(BASE, {"domain": "x.brand.example"}, format="json").status_code == 201
    assert_error(api(None).get(BASE), 401, gc.AUTHENTICATION_REQUIRED)


def test_another_handles_domains_are_invisible(api, outsider, added):
    assert_error(api(outsider).get(BASE), 404, gc.HANDLE_NOT_FOUND)
    assert_error(api(outsider).delete(f"/v2/handles/other/domains/{WWW}"), 404, dc.DOMAIN_NOT_FOUND)


def test_malformed_bodies_are_clear_errors(api, owner):
    assert_error(api(owner).post(BASE, {}, format="json"), 400, gc.VALIDATION_ERROR)
    assert_error(api(owner).post(BASE, {"domain": ["a"]}, format="json"), 400, gc.VALIDATION_ERROR)
    r = api(owner).generic("POST", BASE, "{nope", content_type="application/json")
    assert_error(r, 400, gc.MALFORMED_JSON)


# --- The scheduled re-check ---------------------------------------------------------------

@pytest.fixture
def verified(added, dns_zone):
    publish_record(dns_zone, added)
    return services.domain_verify(row=added)


def test_a_vanished_record_keeps_serving_for_the_grace_period_then_stops(verified, dns_zone, live_site, settings):
    settings.GHARART_DOMAIN_GRACE = timedelta(hours=72)
    t0 = timezone.now()
    del dns_zone.txt[verified.record_name]
    row = services.domain_recheck(row=verified, now=t0)
    assert row.status == dc.FAILING and row.failing_since == t0
    assert host_client(WWW).get("/about.html").status_code == 200  # still served within the grace period
    row = services.domain_recheck(row=row, now=t0 + timedelta(hours=71))
    assert row.status == dc.FAILING and row.failing_since == t0
    row = services.domain_recheck(row=row, now=t0 + timedelta(hours=72))
    assert row.status == dc.PENDING and row.verified_at is None and row.failing_since is None
    assert host_client(WWW).get("/about.html", HTTP_ACCEPT="application/json").status_code == 404


def test_a_record_back_within_the_grace_period_clears_the_failure(verified, dns_zone):
    t0 = timezone.now()
    del dns_zone.txt[verified.record_name]
    row = services.domain_recheck(row=verified, now=t0)
    publish_record(dns_zone, row)
    row = services.domain_recheck(row=row, now=t0 + timedelta(hours=10))
    assert row.status == dc.VERIFIED and row.failing_since is None


def test_the_beat_job_rechecks_every_serving_domain(verified, dns_zone, api, owner, settings):
    from domains.tasks import domains_recheck

    add(api, owner, "pending.brand.example")
    dns_zone.queries.clear()
    domains_recheck.delay()  # eager in tests: runs inline
    assert dns_zone.queries == [verified.record_name]  # pending domains are not re-checked
    schedule = settings.CELERY_BEAT_SCHEDULE["domains-recheck"]
    assert schedule["task"] == domains_recheck.name == "domains.domain_recheck_all" and schedule["schedule"] <= timedelta(hours=1)


@pytest.mark.parametrize(
    "value,expected",
    [
        ("", []),
        ("127.0.0.1", [("127.0.0.1", 53)]),
        ("127.0.0.1:5353, 10.0.0.2", [("127.0.0.1", 5353), ("10.0.0.2", 53)]),
        ("[::1]:5353,[::1]", [("::1", 5353), ("::1", 53)]),
    ],
)
def test_name_server_settings_are_parsed(value, expected):
    assert dns.parse_nameservers(value) == expected


def test_names_in_allowed_hosts_are_the_dashboards_own(api, owner, settings):
    settings.ALLOWED_HOSTS = ["testserver", "app.gharart.example", ".pattern.example"]
    assert_error(add(api, owner, "app.gharart.example"), 400, gc.VALIDATION_ERROR)
    assert add(api, owner, "www.pattern.example").status_code == 201
