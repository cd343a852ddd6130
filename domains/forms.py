"""Dashboard forms of the domains app. The service owns every rule about a name; its
refusals come back onto the form through ``gharart.dashboard.apply_error``."""

from django import forms


class DomainAddForm(forms.Form):
    # Checked by ``domain_add`` (the API's rule, the API's words).
    domain = forms.CharField(required=False, strip=False)
