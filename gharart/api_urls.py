from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from gharart import api_views

urlpatterns = [
    path("auth/token", api_views.JWTObtainView.as_view(), name="api-auth-token"),
    path("auth/token/refresh", api_views.JWTRefreshView.as_view(), name="api-auth-token-refresh"),
    path("me/tokens", api_views.TokenListView.as_view(), name="api-token-list"),
    path("me/tokens/<str:token_id>", api_views.TokenDetailView.as_view(), name="api-token-detail"),
    path("schema", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]), name="api-schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
