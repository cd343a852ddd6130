"""The Site page: what ``/profiles/{handle}/`` serves (site mode), the links page and the
function bindings. Every action calls the API's service."""

import json

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from deployments import constants as dc
from deployments import serving
from deployments.forms import BindingForm, LinksForm, SiteModeForm
from deployments.selectors.deployments import deployment_list
from deployments.selectors.releases import release_live
from deployments.selectors.site import (
    binding_get,
    binding_list,
    binding_status,
    site_status,
    submission_list,
)
from deployments.services.site import binding_create as create_binding
from deployments.services.site import binding_delete as delete_binding
from deployments.services.site import handle_links_update, site_mode_set
from deployments.views.pages import lock_context, role_note
from gharart import constants as c
from gharart.dashboard import apply_error, can, handle_page, render_page
from gharart.errors import ApplicationError
from gharart.services import links_check

PAGE = "deployments/site_page.html"
SUBMISSIONS_SHOWN = 10
MODE_HELP = {
    c.SITE_MODE_LINKS: "A generated page with your display name, bio and links.",
    c.SITE_MODE_DEPLOYMENT: "The live site deployment, with its function bindings.",
    c.SITE_MODE_MAINTENANCE: "A “back soon” page with status 503 and Retry-After.",
}
SERVING_TEXT = {
    dc.SERVING_LINKS_PAGE: "the links page",
    dc.SERVING_DEPLOYMENT: "the live site deployment",
    dc.SERVING_MAINTENANCE_PAGE: "the maintenance page (503)",
    dc.SERVING_NO_SITE: "a 404 “no site published” page",
}


def _profile_probe(handle) -> dict:
    """What ``HEAD /profiles/{handle}/`` answers right now (in-process, through the real route)."""
    response = serving.profile_response(handle.slug, "", method="HEAD")
    return {
        "status": response.status_code,
        "site_mode": response.get(serving.SITE_MODE_HEADER),
        "deployment_id": response.get(serving.DEPLOYMENT_HEADER),
    }


def _mode_context(request, *, saved=False, form=None):
    handle = request.handle
    status = site_status(handle=handle)
    live = release_live(handle=handle, target=dc.TARGET_SITE)
    # Maintenance is chosen on purpose: a live deployment it hides is the point, not a mismatch.
    on_purpose = status["mode"] == c.SITE_MODE_MAINTENANCE
    return {
        "status": status,
        "mismatch_warnings": [] if on_purpose else status["warning_details"],
        "maintenance_hides_live": on_purpose and live is not None,
        "serving_text": SERVING_TEXT.get(status["serving"], status["serving"]),
        "probe": _profile_probe(handle),
        "live_site": live,
        "modes": [{"value": v, "label": label, "help": MODE_HELP.get(v, "")} for v, label in c.SITE_MODE_CHOICES],
        "mode_saved": saved,
        "mode_form": form or SiteModeForm(),
    }


def _bindings_context(request, *, form=None, **extra):
    handle = request.handle
    live = release_live(handle=handle, target=dc.TARGET_SITE)
    live_id = live.deployment_id if live else None
    bindings = list(binding_list(handle=handle).select_related("deployment"))
    for b in bindings:
        b.status = binding_status(b, live_id)
        b.is_stale = b.status == dc.BINDING_STALE
        b.is_form_capture = b.function == dc.FUNCTION_FORM_CAPTURE
        if b.is_form_capture:
            subs = submission_list(binding=b)
            b.submission_count = subs.count()
            b.recent_submissions = [{"sub": s, "fields": json.dumps(s.data, ensure_ascii=False, sort_keys=True)} for s in subs[:SUBMISSIONS_SHOWN]]
        b.delete_confirm = f"Delete the binding {' '.join(b.methods)} {b.route}? The route stops answering with {b.get_function_display().lower()} at once."
        b.config_text = json.dumps(b.config, ensure_ascii=False, sort_keys=True)
    context = {
        "bindings": bindings,
        "live_site": live,
        "binding_form": form or BindingForm(),
        "method_choices": dc.BINDING_METHODS,
        "function_choices": dc.FUNCTION_CHOICES,
        "redirect_statuses": dc.REDIRECT_STATUSES,
        "pin_choices": list(deployment_list(handle=handle, target=dc.TARGET_SITE, state=dc.READY)[:50]),
        "form_capture_limit": dc.FORM_CAPTURE_MAX_BYTES_LIMIT,
        "binding_created": None,
        "binding_deleted": None,
    }
    context.update(extra)
    return context


def _site_context(request, *, mode=None, bindings=None, **extra):
    context = {
        "can_act": can(request, c.SITE_ROLES),
        "role_note": role_note(request, "change the site"),
        "links_form": LinksForm(handle=request.handle),
        "invalid_rows": set(),
        "links_saved": False,
        "links_note": "",
        **lock_context(request),
    }
    context.update(mode or _mode_context(request))
    context.update(bindings or _bindings_context(request))
    context.update(extra)
    return context


@require_GET
@handle_page(c.READ_ROLES)
def site_page(request, handle):
    # After a switch without htmx (PRG), the section says what it now serves, exactly as
    # the htmx swap does: one message whatever the path.
    saved = request.GET.get("mode_saved") == "1"
    return render_page(request, PAGE, _site_context(request, mode=_mode_context(request, saved=saved)))


@require_POST
@handle_page(c.SITE_ROLES)
def site_mode(request, handle):
    form = SiteModeForm(request.POST)
    form.is_valid()  # the service names the modes
    try:
        site_mode_set(handle=request.handle, actor=request.user, **form.cleaned_data)
    except ApplicationError as exc:
        context = _site_context(request, mode=_mode_context(request, form=apply_error(form, exc)))
        return render_page(request, PAGE, context, fragment="site-mode", status=400)
    if request.htmx:
        return render_page(request, PAGE, _site_context(request, mode=_mode_context(request, saved=True)), fragment="site-mode")
    return redirect(reverse("site-page", kwargs={"handle": handle}) + "?mode_saved=1#site-mode")


@require_POST
@handle_page(c.SITE_ROLES)
def site_links(request, handle):
    """Save the links page; "Add a link" and "Remove" re-render the form without saving."""
    post = request.POST
    form = LinksForm(post)
    form.is_valid()
    invalid_rows, saved, note, status = set(), False, "", 200
    if post.get("add_row"):
        form.rows.append({"label": "", "url": ""})
        note = "Added an empty link row. Save to apply your changes."
    elif post.get("remove_row"):
        try:
            removed = form.rows.pop(int(post["remove_row"]) - 1)
            note = f"Removed “{removed['label'] or removed['url'] or 'an empty row'}”. Save to apply your changes."
        except (ValueError, IndexError):
            note = "That link row no longer exists."
        if not form.rows:
            form.rows.append({"label": "", "url": ""})
    else:
        try:
            handle_links_update(handle=request.handle, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            apply_error(form, exc)
            status = 400
            invalid_rows = set(links_check(links=form.rows))
        else:
            if not request.htmx:
                messages.success(request, "The links page is saved.")
                return redirect(reverse("site-page", kwargs={"handle": handle}) + "#links-editor")
            saved = True
            form = LinksForm(handle=request.handle)
    context = _site_context(request, links_form=form, invalid_rows=invalid_rows, links_saved=saved, links_note=note)
    return render_page(request, PAGE, context, fragment="links-editor", status=status)


@require_POST
@handle_page(c.SITE_ROLES)
def binding_create(request, handle):
    form = BindingForm(request.POST)
    binding, status = None, 400
    if form.is_valid():
        try:
            binding = create_binding(handle=request.handle, actor=request.user, **form.service_values())
        except ApplicationError as exc:
            form.apply_error(exc)
            status = exc.status
    if binding is not None:
        if not request.htmx:
            messages.success(request, f"Bound {' '.join(binding.methods)} {binding.route} to {binding.get_function_display().lower()}.")
            return redirect(reverse("site-page", kwargs={"handle": handle}) + "#bindings")
        return render_page(request, PAGE, _site_context(request, bindings=_bindings_context(request, binding_created=binding)), fragment="bindings")
    context = _site_context(request, bindings=_bindings_context(request, form=form))
    return render_page(request, PAGE, context, fragment="bindings", status=status)


@require_POST
@handle_page(c.SITE_ROLES)
def binding_delete(request, handle, binding_id):
    try:
        binding = binding_get(handle=request.handle, binding_id=binding_id)
    except ApplicationError:
        raise Http404("No such function binding.")
    label = f"{' '.join(binding.methods)} {binding.route}"
    delete_binding(binding=binding, actor=request.user)
    if not request.htmx:
        messages.success(request, f"Deleted the binding {label}.")
        return redirect(reverse("site-page", kwargs={"handle": handle}) + "#bindings")
    return render_page(request, PAGE, _site_context(request, bindings=_bindings_context(request, binding_deleted=label)), fragment="bindings")
