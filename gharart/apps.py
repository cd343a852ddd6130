from django.apps import AppConfig


class GharartConfig(AppConfig):
    name = "gharart"
    verbose_name = "Gharart platform"
