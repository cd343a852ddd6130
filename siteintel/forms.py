"""Dashboard forms of site intel. A form turns posted text into typed values (ints,
booleans); the services still own every rule, and their refusals come back onto the form
through ``gharart.dashboard.apply_error``."""

from django import forms

from siteintel import constants as c


def _whole_number(low, high):
    # The service's words for a limit that is not a whole number in range.
    return {"invalid": f"Must be a whole number from {low} to {high}."}


class HostnameForm(forms.Form):
    # Checked by ``hostname_register`` / ``hostname_remove`` (the API's rules and words).
    hostname = forms.CharField(required=False, strip=False)


class CrawlStartForm(forms.Form):
    hostname = forms.CharField(required=False)
    max_pages = forms.IntegerField(required=False, error_messages=_whole_number(1, c.MAX_PAGES_LIMIT))
    max_depth = forms.IntegerField(required=False, error_messages=_whole_number(0, c.MAX_DEPTH_LIMIT))


class ReplayStartForm(forms.Form):
    hostname = forms.CharField(required=False)
    crawl_run_id = forms.CharField(required=False)
    visual = forms.BooleanField(required=False)
    visual_gate = forms.BooleanField(required=False)

    def options(self):
        return {"visual": self.cleaned_data["visual"], "visual_gate": self.cleaned_data["visual_gate"]}
