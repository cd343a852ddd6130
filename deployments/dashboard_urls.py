from django.urls import path

from deployments.views import deployment, history, releases, site

H = "h/<slug:handle>"
D = f"{H}/deployments/<str:deployment_id>"
urlpatterns = [
    path(f"{H}/deployments/", history.deployments_page, name="deployments-page"),
    path(f"{H}/deployments/upload/", history.deployment_upload, name="deployments-upload"),
    path(f"{D}/row/", history.deployment_row, name="deployment-row"),
    path(f"{D}/", deployment.deployment_detail, name="deployment-detail"),
    path(f"{D}/preview/", deployment.deployment_preview, name="deployment-preview"),
    path(f"{D}/rules/test/", deployment.deployment_rules_test, name="deployment-rules-test"),
    path(f"{D}/promote/", releases.deployment_promote, name="deployment-promote"),
    path(f"{D}/rollback/", releases.deployment_rollback, name="deployment-rollback"),
    path(f"{D}/schedule/", releases.deployment_schedule, name="deployment-schedule"),
    path(f"{D}/schedule/<str:scheduled_id>/cancel/", releases.deployment_schedule_cancel, name="deployment-schedule-cancel"),
    path(f"{H}/publishing-lock/", releases.publishing_lock, name="publishing-lock"),
    path(f"{H}/releases/", releases.releases_page, name="releases-page"),
    path(f"{H}/site/", site.site_page, name="site-page"),
    path(f"{H}/site/mode/", site.site_mode, name="site-mode"),
    path(f"{H}/site/links/", site.site_links, name="site-links"),
    path(f"{H}/site/bindings/", site.binding_create, name="site-binding-create"),
    path(f"{H}/site/bindings/<str:binding_id>/delete/", site.binding_delete, name="site-binding-delete"),
]
