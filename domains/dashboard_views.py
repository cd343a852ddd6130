"""The Domains dashboard page (HTMX): the site's own hosts and its custom domains.

Every action calls the API's service. A plain request gets the whole page (post, then
redirect); an HTMX request gets the section it swaps, refusals with their 4xx status.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from deployments.selectors.live import live_deployment_ids
from domains import constants as domc
from domains import names, selectors, services
from gharart import constants as c
from gharart.dashboard import can, form_errors, handle_page
from gharart.errors import ApplicationError

STATUS_TEXT = {
    domc.PENDING: "Waiting for the DNS record: not served yet.",
    domc.VERIFIED: "Verified: serves the live site.",
    domc.FAILING: "The DNS record has gone missing: still served for now.",
}


def _rows(handle):
    rows = []
    for row in selectors.domain_list(handle=handle):
        row.status_text = STATUS_TEXT.get(row.status, row.status)
        row.url = f"{names.sites_scheme()}://{row.domain}/"
        row.remove_confirm = f"Remove {row.domain}? It stops serving the site at once; adding it back needs a new DNS record."
        if row.status == domc.FAILING and row.failing_since:
            row.stops_at = row.failing_since + _grace()
        rows.append(row)
    return rows


def _grace():
    from django.conf import settings

    return settings.GHARART_DOMAIN_GRACE


def _context(request, **extra):
    handle = request.handle
    live_host = names.live_host(handle.slug)
    context = {
        "domains": _rows(handle),
        "live_host": live_host,
        "live_url": names.site_url(live_host, "/"),
        "live_deployment_id": live_deployment_ids(handle=handle).get("site"),
        "grace_hours": int(_grace().total_seconds() // 3600),
        "can_act": can(request, c.ADMIN_ROLES),
        "role_note": f"Your role ({request.membership.get_role_display()}) can see this page; only owners and admins add or remove domains.",
        "form": {"domain": ""},
        "errors": {},
        "notice": None,
        "refusal": None,
    }
    context.update(extra)
    return context


def _respond(request, status=200, **extra):
    template = "domains/_domains_section.html" if request.htmx else "domains/domains_page.html"
    return render(request, template, _context(request, **extra), status=status)


def _row_or_404(request, domain):
    try:
        return selectors.domain_get(handle=request.handle, domain=domain)
    except ApplicationError:
        raise Http404("No such domain.")


def _back(handle):
    return redirect(reverse("domains-page", kwargs={"handle": handle}))


def _done(request, handle, notice):
    """The answer to a change that worked: the panel with its notice, or back with a message."""
    if request.htmx:
        return _respond(request, notice=notice)
    messages.success(request, notice)
    return _back(handle)


@require_GET
@handle_page(c.READ_ROLES)
def domains_page(request, handle):
    return _respond(request)


@require_POST
@handle_page(c.ADMIN_ROLES)
def domain_add(request, handle):
    raw = request.POST.get("domain", "")
    try:
        row = services.domain_add(handle=request.handle, domain=raw, actor=request.user)
    except ApplicationError as exc:
        errors = form_errors(exc) if exc.code == c.VALIDATION_ERROR else {"domain": [exc.message]}
        return _respond(request, status=exc.status if request.htmx else 400, form={"domain": raw}, errors=errors)
    notice = f"Added {row.domain}. Add the TXT record below at your DNS provider, then verify."
    return _done(request, handle, notice)


@require_POST
@handle_page(c.ADMIN_ROLES)
def domain_verify(request, handle, domain):
    row = _row_or_404(request, domain)
    try:
        services.domain_verify(row=row, actor=request.user)
    except ApplicationError as exc:
        refusal = {"domain": row.domain, "reason": (exc.details or {}).get("reason", exc.message), "name": row.record_name, "value": row.record_value}
        return _respond(request, status=409, refusal=refusal)
    notice = f"{row.domain} is verified and now serves the live site."
    return _done(request, handle, notice)


@require_POST
@handle_page(c.ADMIN_ROLES)
def domain_remove(request, handle, domain):
    row = _row_or_404(request, domain)
    name = row.domain
    services.domain_remove(row=row, actor=request.user)
    notice = f"Removed {name}: it no longer serves the site."
    return _done(request, handle, notice)
