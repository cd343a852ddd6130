from django.core.management.base import BaseCommand, CommandError

from gharart import constants as c
from gharart import services
from gharart.models import Handle


class Command(BaseCommand):
    help = "Add a user to a handle with a role (creating the user when missing)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("username")
        parser.add_argument("role", choices=sorted(c.ALL_ROLES))
        parser.add_argument("--password", help="password for a newly created user")

    def handle(self, *args, slug, username, role, password, **options):
        handle = Handle.objects.filter(slug=slug).first()
        if handle is None:
            raise CommandError(f"No handle '{slug}'.")
        user, created = services.user_get_or_create(username=username, password=password)
        services.membership_set(handle=handle, user=user, role=role)
        verb = "Created user and added" if created else "Set"
        self.stdout.write(self.style.SUCCESS(f"{verb} {username} as {role} on {slug}."))
