"""Dashboard forms of the project package. A form turns posted text into typed values
(a ``Handle``, a ``datetime``); the service still owns every rule, and its refusals come
back onto the form through ``gharart.dashboard.apply_error``."""

from datetime import UTC, datetime, time

from django import forms
from django.utils import timezone

from gharart.clock import parse_time
from gharart.dashboard import posted_time
from gharart.models import Handle


def moment_or_text(value):
    """A posted time as the API reads it (``gharart.clock.parse_time``: an aware UTC
    datetime, a time without an offset being UTC), None when empty, or the text as typed
    when it is no time, so the service refuses it in its own words, together with whatever
    else it refuses in the same form."""
    if value in (None, ""):
        return None
    problems = {}
    moment = parse_time(value, field="time", errors=problems)
    return value if problems else moment


class PostedTimeInput(forms.Widget):
    """Reads a time the way dashboard pages post it (``gharart.dashboard.posted_time``): the
    UTC value app.js wrote into ``name``, else the ``datetime-local`` input ``{name}_local``."""

    def value_from_datadict(self, data, files, name):
        return posted_time(data, name)

    def value_omitted_from_data(self, data, files, name):
        return name not in data and f"{name}_local" not in data


class PostedTimeField(forms.Field):
    """An aware datetime from a dashboard time input (a time without an offset is UTC), or
    None when empty. Text that is no time is handed on as typed, so the service refuses it
    in its own words, together with whatever else it refuses in the same form."""

    widget = PostedTimeInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value):
        return moment_or_text(value)


class LocalTimesForm(forms.Form):
    """A form with ``PostedTimeField``s, and for each what its inputs show again:
    ``form.local_times.<name>.local`` (the ``datetime-local`` value) and ``.utc`` (the exact
    time app.js turns back into the reader's zone)."""

    @property
    def local_times(self):
        shown = {}
        for name, field in self.fields.items():
            if not isinstance(field, PostedTimeField):
                continue
            if self.is_bound:
                local = self.data.get(f"{name}_local")
                posted = posted_time(self.data, name) or ""
                shown[name] = {"local": local if local is not None else posted, "utc": posted if local else ""}
            else:
                when = self.initial.get(name, field.initial)
                shown[name] = {
                    "local": timezone.localtime(when).strftime("%Y-%m-%dT%H:%M") if when else "",
                    "utc": when.isoformat() if when else "",
                }
        return shown


class AuditFilterForm(forms.Form):
    # An action the handle has no events of is no filter at all (the whole log).
    action = forms.ChoiceField(required=False)

    def __init__(self, *args, actions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "All actions"), *((a, a) for a in actions)]


class TokenCreateForm(forms.Form):
    # Name and scopes are checked by ``token_create`` (the API's rule, the API's words).
    name = forms.CharField(required=False, strip=False)
    scopes = forms.Field(required=False, widget=forms.CheckboxSelectMultiple)
    handle = forms.ModelChoiceField(
        queryset=Handle.objects.none(),
        to_field_name="slug",
        required=False,
        error_messages={"invalid_choice": "You are not a member of this handle."},
    )
    expires_at = forms.DateField(required=False, error_messages={"invalid": "Enter a valid date."})

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["handle"].queryset = Handle.objects.filter(memberships__user=user)

    def clean_expires_at(self):
        day = self.cleaned_data["expires_at"]
        return datetime.combine(day, time.min, tzinfo=UTC) if day else None
