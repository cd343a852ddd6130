"""The real URL conf plus one route that fails, to prove 500s keep the envelope."""

from django.urls import path

from gharart.api import GharartAPIView
from gharart.urls import urlpatterns as real_patterns


class Boom(GharartAPIView):
    permission_classes = []

    def get(self, request):
        raise RuntimeError("SELECT secret FROM table -- must never reach the client")


urlpatterns = [path("v2/test/boom", Boom.as_view()), *real_patterns]
handler404 = "gharart.views.page_not_found"
handler500 = "gharart.views.server_error"
