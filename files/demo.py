"""Demo content: a media kit shared by magic link with @agency.example, a public logo, a
private brief, and a partners policy for the internal docs. Safe to run twice."""

import io
import struct
import zlib
from datetime import timedelta

from django.utils import timezone

from files import constants as fc
from files import services
from files.models import DocsAccessPolicy, File
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
    if not DocsAccessPolicy.objects.filter(handle=handle).exists():
        services.docs_policy_update(
            handle=handle,
            actor=users.get(c.OWNER),
            data={"visibility": fc.VISIBILITY_PARTNERS, "partner_domains": ["agency.example"], "confidential_paths": ["/finance/*"]},
        )
        created.append("docs access policy")
    stdout.write(f"Files: {'created ' + ', '.join(created) if created else 'already seeded'}.")
