"""Dashboard forms of the Files, Campaigns and Docs access pages. A form turns posted text
into typed values (aware datetimes, ints, booleans); the services own every rule, and their
refusals come back onto the form through ``gharart.dashboard.apply_error``."""

from django import forms

from gharart.forms import LocalTimesForm, PostedTimeField

WHOLE_NUMBER = {"invalid": "A whole number of at least 1, or empty for no limit."}


class FileFieldsForm(LocalTimesForm):
    access = forms.CharField(required=False)
    expires_at = PostedTimeField()
    recipients = forms.CharField(required=False, strip=False)
    title = forms.CharField(required=False, strip=False)
    max_downloads = forms.IntegerField(required=False, error_messages=WHOLE_NUMBER)
    campaign_id = forms.CharField(required=False)


class FileUploadForm(FileFieldsForm):
    file = forms.Field(required=False, widget=forms.FileInput)

    def upload_kwargs(self):
        data = self.cleaned_data
        return {
            "upload": data["file"],
            "access": data["access"] or None,
            "expires_at": data["expires_at"],
            "recipients": data["recipients"],
            "title": data["title"],
            "max_downloads": data["max_downloads"],
            "campaign_id": data["campaign_id"] or None,
        }


class FileEditForm(FileFieldsForm):
    """The sharing form of one file: only the fields it posted change."""

    password = forms.CharField(required=False, strip=False)
    password_clear = forms.BooleanField(required=False)

    def changes(self):
        data, posted = self.cleaned_data, self.data
        changes = {k: data[k] for k in ("access", "title", "max_downloads", "campaign_id", "recipients") if k in posted}
        if "expires_at" in posted or "expires_at_local" in posted:
            changes["expires_at"] = data["expires_at"]
        if changes.get("campaign_id"):
            # The form's expiry field does not apply to a file that follows a campaign.
            changes.pop("expires_at", None)
        if data["password_clear"]:
            changes["password"] = ""
        elif data["password"]:
            changes["password"] = data["password"]  # an empty field keeps the current password
        return changes


class MagicLinkForm(forms.Form):
    email = forms.CharField(required=False)
    send = forms.CharField(required=False)

    def clean_send(self):
        return self.cleaned_data["send"] in ("1", "on", "true")


class DocsPolicyForm(LocalTimesForm):
    visibility = forms.CharField(required=False)
    partner_emails = forms.CharField(required=False, strip=False)
    partner_domains = forms.CharField(required=False, strip=False)
    starts_at = PostedTimeField()
    ends_at = PostedTimeField()
    confidential_paths = forms.CharField(required=False, strip=False)
    campaign_id = forms.CharField(required=False)

    def clean_campaign_id(self):
        return self.cleaned_data["campaign_id"] or None

    @classmethod
    def of(cls, policy):
        """The unbound form showing ``policy`` as saved."""
        return cls(initial={
            "visibility": policy.visibility,
            "partner_emails": "\n".join(policy.partner_emails),
            "partner_domains": "\n".join(policy.partner_domains),
            "starts_at": policy.starts_at,
            "ends_at": policy.ends_at,
            "confidential_paths": "\n".join(policy.confidential_paths),
            "campaign_id": policy.campaign_id or "",
        })


class CampaignForm(LocalTimesForm):
    name = forms.CharField(required=False, strip=False)
    starts_at = PostedTimeField()
    ends_at = PostedTimeField()

    @classmethod
    def of(cls, campaign=None):
        """The unbound form showing ``campaign`` (empty for a new one)."""
        if campaign is None:
            return cls()
        return cls(initial={"name": campaign.name, "starts_at": campaign.starts_at, "ends_at": campaign.ends_at})
