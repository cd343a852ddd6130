from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_operators_group(sender, using="default", **kwargs):
    from support.operators import operators_group_sync

    operators_group_sync()


class SupportConfig(AppConfig):
    name = "support"

    def ready(self):
        # After every migrate, so the operators group also gets view access to models added
        # later by other apps (their permissions exist by the time support, the last app, runs).
        post_migrate.connect(_sync_operators_group, sender=self, dispatch_uid="support.sync_operators_group")
