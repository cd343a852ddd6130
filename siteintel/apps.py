from django.apps import AppConfig


class SiteintelConfig(AppConfig):
    name = "siteintel"
