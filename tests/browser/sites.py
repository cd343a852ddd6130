"""Archives and files the browser tests upload, built in the test (nothing is checked in)."""

import io
import os
import zipfile


def page(title, heading, links=(), head=""):
    anchors = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8>{head}"
        f"<title>{title}</title><link rel=stylesheet href=/css/site.css></head>"
        f"<body><h1>{heading}</h1><ul>{anchors}</ul></body></html>"
    ).encode()


NAV = ("/about.html", "/products.html", "/contact.html")


def storefront(version, *, hero_bytes=0, crawl_delay=0):
    """A small site whose home page names its version; ``hero_bytes`` of incompressible
    data make the upload long enough to watch its progress bar, and a robots.txt
    ``Crawl-delay`` (whole seconds) a crawl long enough to watch its progress."""
    files = {
        "index.html": page(f"Acme v{version}", f"Version {version}", NAV),
        "about.html": page("About Acme", "About", ("/",)),
        "products.html": page("Products", "Products", ("/", "/contact.html")),
        "contact.html": page("Contact", "Contact", ("/",)),
        "css/site.css": b"body { font-family: sans-serif; color: #222; }\n",
    }
    if hero_bytes:
        files["img/hero.bin"] = os.urandom(hero_bytes)
    if crawl_delay:
        files["robots.txt"] = f"User-agent: *\nCrawl-delay: {crawl_delay}\n".encode()
    return files


def docs_site():
    """Internal docs with a page that declares itself confidential."""
    return {
        "index.html": page("Partner handbook", "Partner handbook", ("/brand.html", "/finance/q3.html")),
        "brand.html": page("Brand guide", "Brand guide", ("/",)),
        "finance/q3.html": page(
            "Q3 numbers", "Q3 numbers", ("/",),
            head='<meta name="gharart:classification" content="confidential">',
        ),
        "css/site.css": b"body { font-family: serif; }\n",
    }


def make_zip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            # Random bytes do not compress: store them so the archive stays that size.
            kind = zipfile.ZIP_STORED if name.endswith(".bin") else zipfile.ZIP_DEFLATED
            zf.writestr(name, data, compress_type=kind)
    return buf.getvalue()


def write_zip(folder, name, files):
    path = folder / name
    path.write_bytes(make_zip(files))
    return path
