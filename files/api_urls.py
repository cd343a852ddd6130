from django.urls import path

from files import api_views, downloads

urlpatterns = [
    path("handles/<slug:handle>/files", api_views.FileListView.as_view(), name="api-file-list"),
    path("handles/<slug:handle>/files/<str:file_id>", api_views.FileDetailView.as_view(), name="api-file-detail"),
    path("handles/<slug:handle>/files/<str:file_id>/magic-links", api_views.MagicLinkListView.as_view(), name="api-magic-link-list"),
    path(
        "handles/<slug:handle>/files/<str:file_id>/magic-links/<str:link_id>",
        api_views.MagicLinkDetailView.as_view(),
        name="api-magic-link-detail",
    ),
    path("handles/<slug:handle>/campaigns", api_views.CampaignListView.as_view(), name="api-campaign-list"),
    path("handles/<slug:handle>/campaigns/<str:campaign_id>", api_views.CampaignDetailView.as_view(), name="api-campaign-detail"),
    path("handles/<slug:handle>/internal-docs/access", api_views.DocsPolicyView.as_view(), name="api-docs-policy"),
    path("public/files/<str:file_id>", api_views.PublicFileView.as_view(), name="public-file"),
    path("public/files/<str:file_id>/password", downloads.public_file_unlock, name="public-file-password"),
    path("public/files/<str:file_id>/magic-link", api_views.MagicLinkRequestView.as_view(), name="public-file-magic-link"),
]
