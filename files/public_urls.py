from django.urls import path, re_path

from files import edge

urlpatterns = [
    path("_edge/docs/<slug:handle>", edge.edge_docs_root_redirect, name="edge-docs-root-redirect"),
    path("_edge/docs/<slug:handle>/_access", edge.edge_docs_access, name="edge-docs-access"),
    re_path(r"^_edge/docs/(?P<handle>[a-z0-9-]+)/_preview/(?P<token>[^/]+)/(?P<path>(?s:.*))$", edge.edge_docs_preview, name="edge-docs-preview"),
    re_path(r"^_edge/docs/(?P<handle>[a-z0-9-]+)/(?P<path>(?s:.*))$", edge.edge_docs, name="edge-docs"),
]
