from django.urls import path

from deployments import api_views as v

H = "handles/<str:handle>"
urlpatterns = [
    path(f"{H}/site-deployments", v.DeploymentListView.as_view(), name="api-deployment-list"),
    path(f"{H}/site-deployments/<str:deployment_id>", v.DeploymentDetailView.as_view(), name="api-deployment-detail"),
    path(f"{H}/site-deployments/<str:deployment_id>/preview", v.DeploymentPreviewView.as_view(), name="api-deployment-preview"),
    path(f"{H}/site-deployments/<str:deployment_id>/promote", v.DeploymentPromoteView.as_view(), name="api-deployment-promote"),
    path(f"{H}/site-deployments/<str:deployment_id>/rollback", v.DeploymentRollbackView.as_view(), name="api-deployment-rollback"),
    path(f"{H}/site-deployments/<str:deployment_id>/blobs", v.DeploymentBlobBatchView.as_view(), name="api-deployment-blob-batch"),
    path(f"{H}/site-deployments/<str:deployment_id>/blobs/<str:sha256>", v.DeploymentBlobView.as_view(), name="api-deployment-blob"),
    path(f"{H}/site-releases", v.ReleaseListView.as_view(), name="api-release-list"),
    path(f"{H}/site-mode", v.SiteModeView.as_view(), name="api-site-mode"),
    path(f"{H}/site-lock", v.SiteLockView.as_view(), name="api-site-lock"),
    path(f"{H}/scheduled-releases", v.ScheduledReleaseListView.as_view(), name="api-scheduled-release-list"),
    path(f"{H}/scheduled-releases/<str:scheduled_id>", v.ScheduledReleaseDetailView.as_view(), name="api-scheduled-release-detail"),
    path(f"{H}/function-bindings", v.BindingListView.as_view(), name="api-binding-list"),
    path(f"{H}/function-bindings/<str:binding_id>", v.BindingDetailView.as_view(), name="api-binding-detail"),
    path(f"{H}/function-bindings/<str:binding_id>/submissions", v.BindingSubmissionListView.as_view(), name="api-binding-submissions"),
]
