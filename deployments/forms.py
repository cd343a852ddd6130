"""Dashboard forms of the Deployments, Releases and Site pages.

A form turns posted text into the values a service takes (a bool, a list of methods, a
function's config with its numbers and JSON, a UTC datetime); the service keeps every
rule, and its refusals come back onto the form through ``gharart.dashboard.apply_error``.
"""

import json

from django import forms

from deployments import constants as dc
from deployments.services.site import binding_config_check
from gharart import constants as c
from gharart.dashboard import apply_error, posted_time
from gharart.errors import ApplicationError
from gharart.forms import moment_or_text


class FlagField(forms.Field):
    """A posted switch: "1", "true" or "on" is True, anything else (or nothing) False."""

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def to_python(self, value):
        return value in ("1", "true", "on")


class DeploymentUploadForm(forms.Form):
    # The archive, target and message are checked by ``deployment_create_from_archive``
    # (the API's words); the archive arrives through the streaming upload handler.
    artifact = forms.Field(required=False, widget=forms.FileInput)
    target = forms.CharField(required=False, initial=dc.TARGET_SITE)
    message = forms.CharField(required=False, strip=False)

    def clean_target(self):
        return self.cleaned_data["target"] or dc.TARGET_SITE

    def service_values(self):
        data = self.cleaned_data
        return {"upload": data["artifact"], "target": data["target"], "message": data["message"]}


class TimeForm(forms.Form):
    """A form whose ``time_fields`` are ``datetime-local`` inputs ``{name}_local`` with the UTC
    twin ``{name}`` that ``app.js`` writes (``gharart.dashboard.posted_time``). Each becomes
    a UTC ``datetime`` (the API's parser); text that is no time is handed on as typed, so
    the service refuses it in the API's words together with its other checks."""

    time_fields = ()

    def clean(self):
        cleaned = super().clean()
        for name in self.time_fields:
            cleaned[name] = moment_or_text(posted_time(self.data, name))
        return cleaned


class PublishingLockForm(TimeForm):
    time_fields = ("until",)
    locked = FlagField()
    reason = forms.CharField(required=False, strip=False)
    until = forms.CharField(required=False)
    until_local = forms.CharField(required=False)

    def service_values(self):
        return {k: self.cleaned_data[k] for k in ("locked", "reason", "until")}


class PromoteForm(forms.Form):
    force = FlagField()
    reason = forms.CharField(required=False, strip=False)


class RollbackForm(forms.Form):
    reason = forms.CharField(required=False, strip=False)


class ScheduleForm(TimeForm):
    time_fields = ("at",)
    at = forms.CharField(required=False)
    at_local = forms.CharField(required=False)
    reason = forms.CharField(required=False, strip=False)

    def service_values(self):
        return {k: self.cleaned_data[k] for k in ("at", "reason")}


class SiteModeForm(forms.Form):
    mode = forms.CharField(required=False)


class LinksForm(forms.Form):
    """The links page: display name, bio and the rows of ``link_label``/``link_url``."""

    display_name = forms.CharField(required=False, strip=False)
    bio = forms.CharField(required=False, strip=False, widget=forms.Textarea)
    # Filled from the rows in ``clean``; the service's ``links`` errors land on it.
    links = forms.Field(required=False, widget=forms.HiddenInput)

    def __init__(self, data=None, *args, handle=None, **kwargs):
        if data is None and handle is not None:
            kwargs.setdefault("initial", {"display_name": handle.display_name, "bio": handle.bio})
        super().__init__(data, *args, **kwargs)
        if data is not None:
            labels, urls = data.getlist("link_label"), data.getlist("link_url")
            self.rows = [{"label": label, "url": url} for label, url in zip(labels, urls, strict=False)]
        else:
            links = handle.links if handle is not None else []
            self.rows = [{"label": link.get("label", ""), "url": link.get("url", "")} for link in links or []]
        if data is None and not self.rows:
            self.rows.append({"label": "", "url": ""})

    def clean(self):
        cleaned = super().clean()
        cleaned["links"] = [{"label": r["label"], "url": r["url"]} for r in self.rows]
        return cleaned


# The binding form's field for each key of a function's config.
CONFIG_FIELDS = {
    dc.FUNCTION_REDIRECT: {"location": "redirect_location", "status": "redirect_status"},
    dc.FUNCTION_JSON: {"body": "json_body", "status": "json_status"},
    dc.FUNCTION_FORM_CAPTURE: {"success_path": "form_success_path", "max_bytes": "form_max_bytes"},
}


def _number_or_text(value):
    """Whole numbers as int; other text as typed, so the service names what is wrong with it."""
    try:
        return int(value)
    except ValueError:
        return value


class BindingForm(forms.Form):
    """A function binding as the API receives it: route, methods, function, config, pin."""

    route = forms.CharField(required=False, strip=False)
    methods = forms.MultipleChoiceField(required=False, choices=[(m, m) for m in dc.BINDING_METHODS], initial=["POST"])
    function = forms.CharField(required=False, initial=dc.FUNCTION_FORM_CAPTURE)
    deployment_id = forms.CharField(required=False)
    redirect_location = forms.CharField(required=False)
    redirect_status = forms.CharField(required=False, initial="302")
    json_body = forms.CharField(required=False, strip=False)
    json_status = forms.CharField(required=False, initial="200")
    form_success_path = forms.CharField(required=False, initial="/")
    form_max_bytes = forms.CharField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Methods the service does not know are its to refuse, in its words.
        self.fields["methods"].valid_value = lambda value: True

    def clean_json_body(self):
        body = self.cleaned_data["json_body"]
        if self.data.get("function") == dc.FUNCTION_JSON and body.strip():
            try:
                return json.loads(body)
            except ValueError as exc:
                raise forms.ValidationError(f"This is not valid JSON ({exc}).")
        return body

    def service_values(self) -> dict:
        """The keyword arguments of ``binding_create`` (without handle and actor): the config
        the API would receive, from the fields of the chosen function."""
        data = self.cleaned_data
        function = data["function"]
        config = {}
        if function == dc.FUNCTION_REDIRECT:
            config["location"] = data["redirect_location"].strip()
            if data["redirect_status"].strip():
                config["status"] = _number_or_text(data["redirect_status"].strip())
        elif function == dc.FUNCTION_JSON:
            if self.data.get("json_body", "").strip():
                config["body"] = data["json_body"]
            if data["json_status"].strip():
                config["status"] = _number_or_text(data["json_status"].strip())
        elif function == dc.FUNCTION_FORM_CAPTURE:
            if data["form_success_path"].strip():
                config["success_path"] = data["form_success_path"].strip()
            if data["form_max_bytes"].strip():
                config["max_bytes"] = _number_or_text(data["form_max_bytes"].strip())
        return {
            "route": data["route"],
            "methods": data["methods"],
            "function": function,
            "config": config,
            "deployment_id": data["deployment_id"] or None,
        }

    def apply_error(self, exc):
        """Put ``binding_create``'s refusal on the form: each ``config`` problem on the field of
        its key (the service's own check says which), everything else by ``apply_error``."""
        details = dict(exc.details or {}) if exc.code == c.VALIDATION_ERROR else {}
        if "config" in details:
            del details["config"]
            values = self.service_values()
            fields = CONFIG_FIELDS.get(values["function"], {})
            for key, text in binding_config_check(function=values["function"], config=values["config"])[1]:
                self.add_error(fields.get(key), text if key in fields else (f"{key}: {text}" if key else text))
            if not details:
                return self
            exc = ApplicationError(exc.code, exc.message, status=exc.status, details=details)
        return apply_error(self, exc)
