"""The demo seed creates the shared media kit, the public logo and a private doc, once."""

import io

from files import constants as fc
from files.demo import seed
from files.models import DocsAccessPolicy, File


def test_seed_is_idempotent(handle, users, api):
    out = io.StringIO()
    seed(handle=handle, users=users, stdout=out)
    seed(handle=handle, users=users, stdout=out)
    files = {f.name: f for f in File.objects.filter(handle=handle)}
    assert len(files) == 4
    assert files["festive-lookbook.pdf"].campaign.name == "Festive sale"  # a campaign ending within the week
    kit = files["gharart-media-kit-2026.pdf"]
    assert kit.access == fc.ACCESS_LINK and kit.recipients == ["@agency.example"] and kit.expires_at
    assert kit.content_type == "application/pdf"
    assert files["gharart-logo.png"].access == fc.ACCESS_PUBLIC and files["gharart-logo.png"].content_type == "image/png"
    assert files["campaign-brief-internal.pdf"].access == fc.ACCESS_PRIVATE
    assert DocsAccessPolicy.objects.get(handle=handle).version == 1
    assert b"partner handbook" in b"".join(api(users["viewer"]).get("/_edge/docs/acme/").streaming_content)
    assert api().get(f"/v2/public/files/{files['gharart-logo.png'].id}").status_code == 200
    assert "already seeded" in out.getvalue()
