from django.urls import path

from domains import dashboard_views as views

H = "h/<slug:handle>/domains"
urlpatterns = [
    path(f"{H}/", views.domains_page, name="domains-page"),
    path(f"{H}/add/", views.domain_add, name="domain-add"),
    path(f"{H}/<str:domain>/verify/", views.domain_verify, name="domain-verify"),
    path(f"{H}/<str:domain>/remove/", views.domain_remove, name="domain-remove"),
]
