"""The Deployments, Releases and Site dashboard pages (HTMX), one module per page:
``history`` (the deployments list and upload), ``deployment`` (one deployment),
``releases`` (promote, rollback, schedules, the publishing lock) and ``site`` (site mode,
links page, function bindings). Every action calls the API's service.

A plain request gets the whole page and every form works without JavaScript (post, then
redirect, or the page re-rendered with its errors). An HTMX request gets the
``{% partialdef %}`` fragment it swaps (``gharart.dashboard.render_page``); refusals and
form errors come back as that fragment with a swapped 4xx status.
"""
