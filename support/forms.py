"""Dashboard form of the support page. Field names are the API's, so a link like
/support/?requestId=...&handle=... and a POST body read the same way everywhere; the
service owns every rule (lengths, the handle, the artifact) and its refusals come back onto
the form through ``gharart.dashboard.apply_error``."""

from django import forms

from support import constants as sc


class SupportReportForm(forms.Form):
    summary = forms.CharField(required=False, strip=False)
    details = forms.CharField(required=False, strip=False)
    handle = forms.CharField(required=False)
    requestId = forms.CharField(required=False)  # noqa: N815 (the API's name)
    reproArtifact = forms.CharField(required=False)  # noqa: N815

    @classmethod
    def prefilled(cls, query):
        """An unbound form filled from a link's query (an error page's "Report this")."""
        return cls(initial={name: query.get(name, "").strip()[: sc.DETAILS_MAX] for name in cls.base_fields})

    def service_kwargs(self):
        data = self.cleaned_data
        return {
            "summary": data["summary"],
            "details": data["details"],
            "handle_slug": data["handle"],
            "request_id": data["requestId"],
            "repro_artifact": data["reproArtifact"],
        }
