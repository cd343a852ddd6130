"""Who is an operator, and what the ``operators`` group may see in the Django admin.

Operators are active staff users in the ``operators`` group. Being staff alone (or holding
model permissions some other way) is not enough: support data holds end users' reports and
reporters' emails, so the group is the single switch that grants it.
"""

from django.contrib.auth.models import Group, Permission

from support import constants as sc

# app label -> model -> actions the group gets. Support records are worked on; the facts
# support looks things up in (request log, audit trail, tokens) are view-only.
OPERATOR_PERMISSIONS = {
    "support": {
        "supportreport": ("view", "change"),
        "escalation": ("view", "add", "change"),
        "contentreport": ("view", "change"),
    },
    "gharart": {
        "requestlog": ("view",),
        "auditevent": ("view",),
        "personalaccesstoken": ("view",),
        "handle": ("view",),
        "membership": ("view",),
        "idempotencyrecord": ("view",),
    },
}
# Every model of these apps is viewable by operators (deployments, releases, files, magic
# links, docs policies, crawl runs): support needs to see what a user saw.
OPERATOR_VIEW_APPS = ("deployments", "files", "siteintel")


def is_operator(user) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if not (user.is_active and user.is_staff):
        return False
    return user.groups.filter(name=sc.OPERATORS_GROUP).exists()


def operators_group_sync() -> Group:
    """Create the ``operators`` group if missing and set exactly its permissions. Idempotent."""
    group, _ = Group.objects.get_or_create(name=sc.OPERATORS_GROUP)
    wanted = []
    for app_label, models in OPERATOR_PERMISSIONS.items():
        for model, actions in models.items():
            codenames = [f"{action}_{model}" for action in actions]
            wanted.extend(Permission.objects.filter(content_type__app_label=app_label, content_type__model=model, codename__in=codenames))
    wanted.extend(Permission.objects.filter(content_type__app_label__in=OPERATOR_VIEW_APPS, codename__startswith="view_"))
    group.permissions.set(wanted)
    return group


def operator_add(*, user) -> None:
    """Make ``user`` an operator: staff, and a member of the group."""
    group = operators_group_sync()
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.groups.add(group)
