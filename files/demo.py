"""Demo content: a media kit shared by magic link with @agency.example, a public logo, a
private brief, and a partners policy for the internal docs. Safe to run twice."""

import io
import struct
import zlib
from datetime import timedelta

from django.utils import timezone

from deployments.selectors.live import live_deployment_ids
from deployments.services.ingest import deployment_create_from_archive
from deployments.services.releases import deployment_promote
from files import constants as fc
from files import services
from files.models import Campaign, DocsAccessPolicy, File
from gharart import constants as c


class _Upload(io.BytesIO):
    def __init__(self, data, name):
        super().__init__(data)
        self.name = name
        self.size = len(data)


def _png(width=64, height=64, rgb=(124, 45, 18)):
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _pdf(title, lines):
    """A minimal one-page PDF with a few lines of text (built in code, no fixtures)."""
    text = "BT /F1 20 Tf 60 760 Td (" + title + ") Tj /F1 12 Tf"
    for line in lines:
        text += " 0 -22 Td (" + line.replace("(", "[").replace(")", "]") + ") Tj"
    text += " ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length " + str(len(text)).encode() + b" >>\nstream\n" + text.encode() + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


_DOCS_STYLE = "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem}</style>"
DEMO_DOCS = {
    "index.html": "<h1>Gharart partner handbook</h1><p>How we work with agencies.</p>"
    '<ul><li><a href="guide/brand">Brand guide</a></li><li><a href="guide/shipping">Shipping samples</a></li>'
    '<li><a href="finance/rates">Rate card</a> (members)</li><li><a href="board">Board notes</a> (members)</li></ul>',
    "guide/brand.html": "<h1>Brand guide</h1><p>Terracotta, jute and brass; natural light; no filters.</p>",
    "guide/shipping.html": "<h1>Shipping samples</h1><p>Samples ship from Jaipur within five working days.</p>",
    "finance/rates.html": "<h1>Rate card</h1><p>Commission and campaign fees for 2026.</p>",
    "board.html": '<meta name="gharart:classification" content="confidential"><h1>Board notes</h1><p>Expansion plans.</p>',
    "404.html": "<h1>Not found</h1><p>No such page in the handbook.</p>",
}


def _seed_docs(*, handle, owner):
    """Publish a small internal handbook as the live docs deployment (once)."""
    import zipfile

    if owner is None or "docs" in live_deployment_ids(handle=handle):
        return False
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for path, body in DEMO_DOCS.items():
            archive.writestr(path, f"<!doctype html><html><head><meta charset=utf-8>{_DOCS_STYLE}</head><body>{body}</body></html>")
    deployment = deployment_create_from_archive(
        handle=handle, upload=_Upload(buf.getvalue(), "handbook.zip"), target="docs", message="Partner handbook", actor=owner
    )
    deployment_promote(deployment=deployment, actor=owner, role=c.OWNER, reason="Demo content", force=True)
    return True


def seed(*, handle, users, stdout):
    actor = users.get(c.PARTNERSHIPS) or users.get(c.OWNER)
    wanted = [
        (
            "gharart-media-kit-2026.pdf",
            _pdf("Gharart media kit 2026", ["Handmade homeware from small studios.", "Audience: 1.2M monthly readers.", "Contact: partners@demo.gharart.com"]),
            {
                "access": fc.ACCESS_LINK,
                "recipients": ["@agency.example"],
                "expires_at": timezone.now() + timedelta(days=30),
                "title": "Media kit 2026",
            },
        ),
        ("gharart-logo.png", _png(), {"access": fc.ACCESS_PUBLIC, "title": "Logo"}),
        (
            "campaign-brief-internal.pdf",
            _pdf("Autumn campaign brief", ["Internal: budget and timeline.", "Not for partners."]),
            {"access": fc.ACCESS_PRIVATE, "title": "Autumn campaign brief"},
        ),
    ]
    created = []
    for name, data, fields in wanted:
        if File.objects.filter(handle=handle, name=name).exists():
            continue
        services.file_upload(handle=handle, actor=actor, upload=_Upload(data, name), **fields)
        created.append(name)
    campaign = Campaign.objects.filter(handle=handle, name="Festive sale").first()
    if campaign is None:
        # A campaign that ends within the week, so the overview shows its warning.
        campaign = services.campaign_create(
            handle=handle,
            actor=actor,
            data={"name": "Festive sale", "starts_at": timezone.now() - timedelta(days=2), "ends_at": timezone.now() + timedelta(days=5)},
        )
        created.append("campaign")
    if not File.objects.filter(handle=handle, name="festive-lookbook.pdf").exists():
        lookbook = _pdf("Festive lookbook", ["Gift edit for the festive sale.", "Prices valid while the sale runs."])
        services.file_upload(
            handle=handle, actor=actor, upload=_Upload(lookbook, "festive-lookbook.pdf"), access=fc.ACCESS_LINK, recipients=["@agency.example"], title="Festive lookbook", campaign_id=campaign.id
        )
        created.append("festive-lookbook.pdf")
    if _seed_docs(handle=handle, owner=users.get(c.OWNER)):
        created.append("internal docs")
    if not DocsAccessPolicy.objects.filter(handle=handle).exists():
        services.docs_policy_update(
            handle=handle,
            actor=users.get(c.OWNER),
            data={"visibility": fc.VISIBILITY_PARTNERS, "partner_domains": ["agency.example"], "confidential_paths": ["/finance/*"]},
        )
        created.append("docs access policy")
    stdout.write(f"Files: {'created ' + ', '.join(created) if created else 'already seeded'}.")
