"""Demo content: a small multi-page storefront published live on the demo handle."""

import io
import struct
import zipfile
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile

from deployments import constants as dc
from deployments.models import FunctionBinding
from deployments.selectors.live import live_deployment_ids
from deployments.services.ingest import deployment_create_from_archive
from deployments.services.releases import deployment_preview_report, deployment_promote
from deployments.services.site import binding_create, site_mode_set
from gharart import constants as c

_CSS = b"""body{font:17px/1.55 Georgia,serif;margin:0;color:#2b2118;background:#fbf7f1}
header,main,footer{max-width:46rem;margin:0 auto;padding:1rem 1.25rem}
header{display:flex;align-items:center;gap:1rem;border-bottom:1px solid #e4d9ca}
header img{width:40px;height:40px}
nav a{margin-right:1rem;color:#7a4b1e}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(12rem,1fr));gap:1rem}
.card{background:#fff;border:1px solid #e4d9ca;border-radius:.5rem;padding:1rem}
label{display:block;margin:.5rem 0 .2rem}
input,textarea{width:100%;padding:.4rem;font:inherit}
button{margin-top:.75rem;padding:.5rem 1rem;background:#7a4b1e;color:#fff;border:0;border-radius:.3rem}
footer{color:#7b6d5f;font-size:.9rem}
"""

_PRODUCTS = [
    ("terracotta-vase", "Terracotta vase", "Hand-thrown in Khurja, unglazed outside, glazed within."),
    ("jute-rug", "Jute rug", "Flat-woven jute, 120 x 180 cm, natural dye."),
    ("brass-lamp", "Brass table lamp", "Hammered brass with a linen shade."),
]


def _png(width=32, height=32, rgb=(122, 75, 30)):
    """A small solid-colour PNG built in code (no binary fixtures in the repo)."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _page(title, body, depth=0):
    up = "../" * depth
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Gharart</title><link rel="stylesheet" href="{up}css/site.css"></head>
<body><header><img src="{up}img/logo.png" alt="Gharart logo"><nav><a href="{up}index.html">Home</a><a href="{up}products/">Products</a><a href="{up}about.html">About</a><a href="{up}contact.html">Contact</a></nav></header>
<main>{body}</main><footer>Handmade homeware from small studios.</footer></body></html>
""".encode()


def site_files():
    files = {
        "index.html": _page("Home", "<h1>Handmade homeware</h1><p>New collection every season, made by small studios across India.</p><p><a href='products/'>Browse the collection</a></p>"),
        "about.html": _page("About", "<h1>About us</h1><p>We work directly with twelve family studios and pay before the work starts.</p>"),
        "contact.html": _page(
            "Contact",
            "<h1>Contact</h1><form method='post' action='api/contact'><label for='name'>Name</label><input id='name' name='name' required>"
            "<label for='email'>Email</label><input id='email' name='email' type='email' required>"
            "<label for='msg'>Message</label><textarea id='msg' name='message' rows='4'></textarea><button type='submit'>Send</button></form>",
        ),
        "thanks.html": _page("Thank you", "<h1>Thank you</h1><p>We will write back within two working days.</p>"),
        "404.html": _page("Not found", "<h1>Page not found</h1><p>Try the <a href='/'>home page</a>.</p>"),
        "css/site.css": _CSS,
        "img/logo.png": _png(),
    }
    cards = "".join(f"<div class='card'><h2><a href='{slug}.html'>{name}</a></h2><p>{text}</p></div>" for slug, name, text in _PRODUCTS)
    files["products/index.html"] = _page("Products", f"<h1>Products</h1><div class='grid'>{cards}</div>", depth=1)
    for slug, name, text in _PRODUCTS:
        files[f"products/{slug}.html"] = _page(name, f"<h1>{name}</h1><p>{text}</p><p><a href='./'>All products</a></p>", depth=1)
    return files


def _zip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(files.items()):
            zf.writestr(name, data)
    return buf.getvalue()


def seed(*, handle, users, stdout):
    """Publish the storefront live (site mode ``deployment``) with a contact form binding. Idempotent."""
    actor = users.get(c.WEB_MANAGER) or users.get(c.OWNER)
    live = live_deployment_ids(handle=handle).get(dc.TARGET_SITE)
    if live is None:
        upload = SimpleUploadedFile("storefront.zip", _zip(site_files()), content_type="application/zip")
        dep = deployment_create_from_archive(handle=handle, upload=upload, target=dc.TARGET_SITE, message="Spring storefront", actor=actor)
        deployment_preview_report(deployment=dep, actor=actor, opens_gate=True)
        deployment_promote(deployment=dep, actor=actor, role=c.OWNER, reason="Demo site")
        stdout.write(f"Published the demo storefront ({dep.id}, v{dep.version}).")
    if handle.site_mode != c.SITE_MODE_DEPLOYMENT:
        site_mode_set(handle=handle, mode=c.SITE_MODE_DEPLOYMENT, actor=actor)
    if not FunctionBinding.objects.filter(handle=handle, route="/api/contact").exists():
        binding_create(
            handle=handle,
            route="/api/contact",
            methods=["POST"],
            function=dc.FUNCTION_FORM_CAPTURE,
            config={"success_path": "/thanks.html", "max_bytes": 16384},
            actor=actor,
        )
