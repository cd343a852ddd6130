"""A crawl that stopped early says why in words, and how to go further (never a raw code)."""

from django.template.loader import render_to_string

from siteintel import constants as c
from siteintel.models import CrawlRun


def test_a_crawl_cut_short_by_its_cap_says_so_and_how_to_raise_it(db, handle):
    run = CrawlRun.objects.create(handle=handle, hostname="shop.example", max_pages=100, max_depth=3, state=c.SUCCEEDED, stop_reason=c.STOP_MAX_PAGES)
    run.pages_done, run.pages_found = 100, 500
    html = render_to_string("siteintel/site_intel.html#run-progress", {"run": run})
    assert "stopped early: it reached its cap of 100 pages" in html and "higher page limit" in html
    assert "maxpages" not in html and "max_pages" not in html
    run.stop_reason = c.STOP_TIME_LIMIT
    assert "ran out of time" in render_to_string("siteintel/site_intel.html#run-progress", {"run": run})
    run.stop_reason = c.STOP_COMPLETED
    assert "stopped" not in render_to_string("siteintel/site_intel.html#run-progress", {"run": run})
