"""What a person reads on a dashboard page must be words: no raw codes, no ISO timestamps.

Shared by the view test (server HTML, before JavaScript) and the browser walk (after
``app.js`` has put every time in the reader's zone). Codes may stay where they are data:
attributes (``data-warning``, ``datetime``), form values, and ``<code>`` that quotes a
path, a header or an ID (a ``<code>`` holding nothing but a code is prose in disguise).
"""

import re

from deployments import constants as deployment_constants
from domains import constants as domain_constants
from files import constants as file_constants
from gharart import constants as gharart_constants
from siteintel import constants as siteintel_constants

_CODE_SHAPE = re.compile(r"^[a-z]+(?:[._][a-z]+)+$")


def known_codes() -> frozenset:
    """Every state, warning, error code, audit action and role the apps define (``a_b`` or ``a.b``)."""
    codes = set()
    for module in (gharart_constants, deployment_constants, file_constants, siteintel_constants, domain_constants):
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, str) and _CODE_SHAPE.match(value):
                codes.add(value)
    return frozenset(codes)


CODES = known_codes()
# A known code, or any snake_case word of three parts or more, standing alone in prose (not
# part of a username such as "acme-web_manager", a path or a file name).
_CODE_IN_PROSE = re.compile(
    r"(?<![\w./@-])(" + "|".join(re.escape(code) for code in sorted(CODES, key=len, reverse=True)) + r"|[a-z]+(?:_[a-z]+){2,})(?![\w/@-]|\.\w)"
)
# 2026-12-01, 2026-12-01T19:00, 2026-12-01 19:00 UTC: machine dates, never prose.
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
# Attributes whose text a person reads (tooltips, confirmations, labels for screen readers).
READ_ATTRIBUTES = ("title", "data-confirm", "hx-confirm", "aria-label", "placeholder", "alt")
# Elements whose text is literal data (paths, headers, IDs, typed values), not prose.
LITERAL_TAGS = ("code", "pre", "kbd", "samp", "textarea", "script", "style", "template")


def problems_in_text(text: str) -> list:
    """Raw codes and ISO dates in one piece of prose."""
    found = [f"raw code {m.group(1)!r}" for m in _CODE_IN_PROSE.finditer(text)]
    found += [f"ISO date {m.group(0)!r}" for m in _ISO_DATE.finditer(text)]
    return found


def _context(text, needle):
    i = text.find(needle.split("'")[1]) if "'" in needle else -1
    return text[max(0, i - 60) : i + 60].replace("\n", " ") if i >= 0 else ""


def problems_in_html(html: str) -> list:
    """Every raw code or ISO date a person would read in ``html`` (server-rendered)."""
    from selectolax.lexbor import LexborHTMLParser

    doc = LexborHTMLParser(html)
    found = []
    for node in doc.css(", ".join(f"[{a}]" for a in READ_ATTRIBUTES)):
        for attr in READ_ATTRIBUTES:
            value = node.attributes.get(attr)
            if value:
                found += [f"{p} in {attr}: {value[:120]!r}" for p in problems_in_text(value)]
    for node in doc.css("code"):
        if node.text(strip=True) in CODES:
            found.append(f"raw code <code>{node.text(strip=True)}</code>")
    body = doc.body
    if body is None:
        return found
    for node in body.css(", ".join(LITERAL_TAGS)):
        node.decompose()
    text = body.text(separator=" ")
    found += [f"{p} near {_context(text, p)!r}" for p in problems_in_text(text)]
    return found


# The same in the browser, after app.js ran: the page's text without its literal elements.
VISIBLE_TEXT_JS = """(tags) => {
  const body = document.body.cloneNode(true);
  body.querySelectorAll(tags.join(",")).forEach((el) => el.remove());
  const codes = Array.from(document.querySelectorAll("code")).map((el) => el.textContent.trim());
  return {text: body.innerText, codes: codes};
}"""


def problems_in_page(page) -> list:
    """Every raw code or ISO date in what a Playwright page shows now."""
    seen = page.evaluate(VISIBLE_TEXT_JS, list(LITERAL_TAGS))
    found = [f"raw code <code>{c}</code>" for c in seen["codes"] if c in CODES]
    return found + problems_in_text(seen["text"])
