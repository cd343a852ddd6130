from django.apps import AppConfig


class GharartConfig(AppConfig):
    name = "gharart"
    verbose_name = "Gharart platform"

    def ready(self):
        # Registers the OpenAPI authentication extensions for /v2/schema.
        from gharart import openapi  # noqa: F401
