from django.urls import path

from deployments import dashboard_publishing as publishing
from deployments import dashboard_views as views

H = "h/<slug:handle>"
D = f"{H}/deployments/<str:deployment_id>"
urlpatterns = [
    path(f"{H}/deployments/", views.deployments_page, name="deployments-page"),
    path(f"{H}/deployments/upload/", views.deployment_upload, name="deployments-upload"),
    path(f"{D}/", views.deployment_detail, name="deployment-detail"),
    path(f"{D}/row/", views.deployment_row, name="deployment-row"),
    path(f"{D}/preview/", views.deployment_preview, name="deployment-preview"),
    path(f"{D}/rules/test/", views.deployment_rules_test, name="deployment-rules-test"),
    path(f"{D}/promote/", views.deployment_promote, name="deployment-promote"),
    path(f"{D}/rollback/", views.deployment_rollback, name="deployment-rollback"),
    path(f"{D}/schedule/", publishing.deployment_schedule, name="deployment-schedule"),
    path(f"{D}/schedule/<str:scheduled_id>/cancel/", publishing.deployment_schedule_cancel, name="deployment-schedule-cancel"),
    path(f"{H}/publishing-lock/", publishing.publishing_lock, name="publishing-lock"),
    path(f"{H}/releases/", views.releases_page, name="releases-page"),
    path(f"{H}/site/", views.site_page, name="site-page"),
    path(f"{H}/site/mode/", views.site_mode, name="site-mode"),
    path(f"{H}/site/links/", views.site_links, name="site-links"),
    path(f"{H}/site/bindings/", views.binding_create, name="site-binding-create"),
    path(f"{H}/site/bindings/<str:binding_id>/delete/", views.binding_delete, name="site-binding-delete"),
]
