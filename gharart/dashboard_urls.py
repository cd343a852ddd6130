from django.urls import path

from gharart import views

urlpatterns = [
    path("", views.home, name="home"),
    path("h/<slug:handle>/", views.handle_overview, name="handle-overview"),
    path("h/<slug:handle>/audit/", views.handle_audit, name="handle-audit"),
    path("settings/tokens/", views.tokens, name="tokens"),
    path("settings/tokens/<str:token_id>/revoke/", views.token_revoke, name="token-revoke"),
    path("settings/password/", views.password_change, name="password-change"),
    path("healthz", views.healthz, name="healthz"),
]
