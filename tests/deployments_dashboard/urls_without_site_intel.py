"""The project's URLs without site intel, as in an installation that does not run it."""

from django.urls import include, path

urlpatterns = [
    path("", include("gharart.dashboard_urls")),
    path("", include("deployments.dashboard_urls")),
    path("", include("deployments.public_urls")),
]
