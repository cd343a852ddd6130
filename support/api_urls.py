from django.urls import path

from support import api_views

urlpatterns = [
    path("support/report", api_views.SupportReportView.as_view(), name="api-support-report"),
    path("operator/escalations", api_views.EscalationView.as_view(), name="api-operator-escalations"),
    path("public/content-report", api_views.ContentReportView.as_view(), name="api-public-content-report"),
]
