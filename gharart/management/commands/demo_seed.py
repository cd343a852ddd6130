import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from gharart import constants as c
from gharart import services
from gharart.models import Handle
from support.operators import operator_add

DEMO_SLUG = "gharart"
DEMO_OPERATOR = "support"
DEMO_USERS = [
    ("owner", c.OWNER),
    ("admin", c.ADMIN),
    ("webmanager", c.WEB_MANAGER),
    ("partners", c.PARTNERSHIPS),
    ("viewer", c.VIEWER),
]
# Apps add their demo content here: callables taking (handle, users, stdout).
DEMO_CONTENT = [
    "deployments.demo.seed",
    "files.demo.seed",
    "siteintel.demo.seed",
]


class Command(BaseCommand):
    help = "Seed the demo handle 'gharart' with a user per role, a published site and files. Safe to run twice."

    def handle(self, *args, **options):
        import importlib

        User = get_user_model()
        password = settings.GHARART_DEMO_PASSWORD
        with transaction.atomic():
            handle = Handle.objects.filter(slug=DEMO_SLUG).first()
            if handle is None:
                handle = services.handle_create(
                    slug=DEMO_SLUG,
                    display_name="Gharart",
                    bio="Handmade homeware from small studios. New collection every season.",
                    links=[
                        {"label": "Shop the collection", "url": "https://gharart.com/shop"},
                        {"label": "Press and media kit", "url": "https://gharart.com/press"},
                    ],
                )
            created_users = []
            users = {}
            for username, role in DEMO_USERS:
                user = User.objects.filter(username=username).first()
                if user is None:
                    password = password or secrets.token_urlsafe(12)
                    user = User.objects.create_user(username=username, password=password, email=f"{username}@demo.gharart.com")
                    created_users.append(username)
                services.membership_set(handle=handle, user=user, role=role)
                users[role] = user
            # The operator opens /admin/ (support reports, escalations); no handle role.
            operator = User.objects.filter(username=DEMO_OPERATOR).first()
            if operator is None:
                password = password or secrets.token_urlsafe(12)
                operator = User.objects.create_user(username=DEMO_OPERATOR, password=password, email=f"{DEMO_OPERATOR}@demo.gharart.com")
                created_users.append(DEMO_OPERATOR)
            operator_add(user=operator)
        for dotted in DEMO_CONTENT:
            module_name, _, func_name = dotted.rpartition(".")
            try:
                seed = getattr(importlib.import_module(module_name), func_name)
            except (ImportError, AttributeError):
                continue
            seed(handle=handle, users=users, stdout=self.stdout)
        if created_users:
            self.stdout.write(self.style.SUCCESS(f"Demo users created: {', '.join(created_users)}"))
            self.stdout.write(self.style.WARNING(f"Their password (shown once): {password}"))
        else:
            self.stdout.write("Demo handle and users already exist; passwords unchanged.")
