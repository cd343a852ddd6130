from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from gharart import views
from gharart.views import signin_throttled

urlpatterns = [
    path("favicon.ico", views.favicon, name="favicon"),
    # Both sign-in forms are throttled per IP and per username (gharart/throttles.py).
    path("admin/login/", signin_throttled(admin.site.login)),
    path("admin/", admin.site.urls),
    path("accounts/login/", signin_throttled(auth_views.LoginView.as_view()), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The API (/v2): one URL module per app.
    path("v2/", include("gharart.api_urls")),
    path("v2/", include("deployments.api_urls")),
    path("v2/", include("siteintel.api_urls")),
    path("v2/", include("files.api_urls")),
    path("v2/", include("support.api_urls")),
    path("v2/", include("domains.api_urls")),
    # The dashboard.
    path("", include("gharart.dashboard_urls")),
    path("", include("deployments.dashboard_urls")),
    path("", include("siteintel.dashboard_urls")),
    path("", include("files.dashboard_urls")),
    path("", include("support.dashboard_urls")),
    path("", include("domains.dashboard_urls")),
    # Public content: profile sites, previews, edge docs, public files.
    path("", include("deployments.public_urls")),
    path("", include("files.public_urls")),
    path("", include("domains.public_urls")),
]

handler400 = "gharart.views.bad_request"
handler403 = "gharart.views.permission_denied"
handler404 = "gharart.views.page_not_found"
handler500 = "gharart.views.server_error"
