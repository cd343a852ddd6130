from django.urls import path

from files import dashboard_views as views

urlpatterns = [
    path("h/<slug:handle>/files/", views.files_page, name="files-page"),
    path("h/<slug:handle>/files/upload/", views.file_upload, name="files-upload"),
    path("h/<slug:handle>/files/<str:file_id>/edit/", views.file_edit, name="files-edit"),
    path("h/<slug:handle>/files/<str:file_id>/delete/", views.file_delete, name="files-delete"),
    path("h/<slug:handle>/files/<str:file_id>/links/", views.link_mint, name="files-link-mint"),
    path("h/<slug:handle>/files/<str:file_id>/links/<str:link_id>/revoke/", views.link_revoke, name="files-link-revoke"),
    path("h/<slug:handle>/campaigns/", views.campaigns_page, name="campaigns-page"),
    path("h/<slug:handle>/campaigns/<str:campaign_id>/", views.campaign_page, name="campaign-page"),
    path("h/<slug:handle>/campaigns/<str:campaign_id>/delete/", views.campaign_delete, name="campaign-delete"),
    path("h/<slug:handle>/docs-access/", views.docs_access_page, name="docs-access-page"),
    path("h/<slug:handle>/docs-access/warnings/", views.docs_access_warnings, name="docs-access-warnings"),
]
