from django.urls import path

from siteintel import api_views

prefix = "handles/<slug:handle>/site-intel"
urlpatterns = [
    path(f"{prefix}/hostnames", api_views.HostnameListView.as_view(), name="api-siteintel-hostnames"),
    path(f"{prefix}/hostnames/<str:hostname>", api_views.HostnameDetailView.as_view(), name="api-siteintel-hostname"),
    path(f"{prefix}/<str:hostname>/crawl-runs", api_views.CrawlRunListView.as_view(), name="api-siteintel-crawl-runs"),
    path(f"{prefix}/<str:hostname>/crawl-runs/<str:run_id>", api_views.CrawlRunDetailView.as_view(), name="api-siteintel-crawl-run"),
    path(f"{prefix}/<str:hostname>/crawl-runs/<str:run_id>/cancel", api_views.CrawlRunCancelView.as_view(), name="api-siteintel-crawl-run-cancel"),
    path(f"{prefix}/<str:hostname>/snapshot", api_views.SnapshotView.as_view(), name="api-siteintel-snapshot"),
    path(f"{prefix}/<str:hostname>/replay-runs", api_views.ReplayRunListView.as_view(), name="api-siteintel-replay-runs"),
    path(f"{prefix}/<str:hostname>/replay-runs/<str:run_id>", api_views.ReplayRunDetailView.as_view(), name="api-siteintel-replay-run"),
    path(
        f"{prefix}/<str:hostname>/replay-runs/<str:run_id>/screenshots/<str:sha256>.png",
        api_views.ReplayScreenshotView.as_view(),
        name="api-siteintel-replay-screenshot",
    ),
]
