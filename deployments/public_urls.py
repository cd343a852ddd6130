from django.urls import path, re_path

from deployments import public_views

urlpatterns = [
    path("profiles/<str:handle>", public_views.profile_redirect, name="profile-root-redirect"),
    re_path(r"^profiles/(?P<handle>[^/]+)/(?P<path>(?s:.*))$", public_views.profile, name="profile"),
    path("previews/<str:token>", public_views.preview_redirect, name="preview-root-redirect"),
    re_path(r"^previews/(?P<token>[^/]+)/(?P<path>(?s:.*))$", public_views.preview, name="preview"),
]
