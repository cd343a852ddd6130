"""The Domains dashboard page (HTMX): the site's own hosts and its custom domains.

Every action calls the API's service. A plain request gets the whole page (post, then
redirect); an HTMX request gets the section it swaps (``render_page``), refusals with
their 4xx status.
"""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from deployments.selectors.live import live_deployment_ids
from domains import constants as domc
from domains import names, selectors, services
from domains.forms import DomainAddForm
from gharart import constants as c
from gharart.dashboard import apply_error, can, found_or_404, handle_page, render_page
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
        "form": DomainAddForm(),
        "notice": None,
        "refusal": None,
    }
    context.update(extra)
    return context


def _respond(request, status=200, **extra):
    return render_page(request, "domains/domains_page.html", _context(request, **extra), fragment="domains-section", status=status)


def _done(request, handle, notice):
    """The answer to a change that worked: the panel with its notice, or back with a message."""
    if request.htmx:
        return _respond(request, notice=notice)
    messages.success(request, notice)
    return redirect(reverse("domains-page", kwargs={"handle": handle}))


def _change(request, handle, domain, service, notice, refused=None):
    """Apply ``service`` to one of the handle's domains and answer with ``notice`` (``{domain}``
    its name); ``refused(request, row, exc)`` answers a refusal."""
    row = found_or_404(selectors.domain_get, "No such domain.", handle=request.handle, domain=domain)
    name = row.domain
    try:
        service(row=row, actor=request.user)
    except ApplicationError as exc:
        if refused is None:
            raise
        return refused(request, row, exc)
    return _done(request, handle, notice.format(domain=name))


def _not_verified(request, row, exc):
    refusal = {"domain": row.domain, "reason": (exc.details or {}).get("reason", exc.message), "name": row.record_name, "value": row.record_value}
    return _respond(request, status=409, refusal=refusal)


@require_GET
@handle_page(c.READ_ROLES)
def domains_page(request, handle):
    return _respond(request)


@require_POST
@handle_page(c.ADMIN_ROLES)
def domain_add(request, handle):
    form = DomainAddForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            row = services.domain_add(handle=request.handle, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            # A name already taken reads under the input, like a name that is not valid.
            apply_error(form, exc, field="domain")
            status = exc.status if request.htmx else 400
        else:
            return _done(request, handle, f"Added {row.domain}. Add the TXT record below at your DNS provider, then verify.")
    return _respond(request, status=status, form=form)


@require_POST
@handle_page(c.ADMIN_ROLES)
def domain_verify(request, handle, domain):
    return _change(request, handle, domain, services.domain_verify, "{domain} is verified and now serves the live site.", refused=_not_verified)


@require_POST
@handle_page(c.ADMIN_ROLES)
def domain_remove(request, handle, domain):
    return _change(request, handle, domain, services.domain_remove, "Removed {domain}: it no longer serves the site.")
