from django.urls import path

from domains import api_views as v

H = "handles/<str:handle>"
urlpatterns = [
    path(f"{H}/domains", v.DomainListView.as_view(), name="api-domain-list"),
    path(f"{H}/domains/<str:domain>", v.DomainDetailView.as_view(), name="api-domain-detail"),
    path(f"{H}/domains/<str:domain>/verify", v.DomainVerifyView.as_view(), name="api-domain-verify"),
]
