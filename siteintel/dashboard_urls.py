from django.urls import path

from siteintel import views

prefix = "h/<slug:handle>/site-intel"
urlpatterns = [
    path(f"{prefix}/", views.site_intel, name="siteintel-page"),
    path(f"{prefix}/snapshot/", views.snapshot_section, name="siteintel-snapshot"),
    path(f"{prefix}/pages/", views.pages_table, name="siteintel-pages"),
    path(f"{prefix}/history/", views.history_section, name="siteintel-history"),
    path(f"{prefix}/hostnames/", views.hostname_add, name="siteintel-hostname-add"),
    path(f"{prefix}/hostnames/remove/", views.hostname_remove, name="siteintel-hostname-remove"),
    path(f"{prefix}/crawl/", views.crawl_start, name="siteintel-crawl"),
    path(f"{prefix}/runs/<str:run_id>/", views.crawl_progress, name="siteintel-run"),
    path(f"{prefix}/runs/<str:run_id>/cancel/", views.crawl_cancel, name="siteintel-run-cancel"),
    path(f"{prefix}/replay/<str:deployment_id>/", views.replay_panel, name="siteintel-replay-panel"),
]
