"""Dashboard forms of the project package. A form turns posted text into typed values
(a ``Handle``, a ``datetime``); the service still owns every rule, and its refusals come
back onto the form through ``gharart.dashboard.apply_error``."""

from datetime import UTC, datetime, time

from django import forms

from gharart.models import Handle


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
