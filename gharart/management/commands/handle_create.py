from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from gharart import services
from gharart.errors import ApplicationError


class Command(BaseCommand):
    help = "Create a handle, optionally with an owner."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--display-name", default="")
        parser.add_argument("--owner", help="username of an existing user who becomes the owner")

    def handle(self, *args, slug, display_name, owner, **options):
        owner_user = None
        if owner:
            owner_user = get_user_model().objects.filter(username=owner).first()
            if owner_user is None:
                raise CommandError(f"No user '{owner}'. Create it first (member_add creates users).")
        try:
            handle = services.handle_create(slug=slug, display_name=display_name, owner=owner_user)
        except ApplicationError as exc:
            raise CommandError(exc.message)
        except Exception as exc:  # full_clean's ValidationError
            raise CommandError(str(exc))
        self.stdout.write(self.style.SUCCESS(f"Created handle '{handle.slug}'."))
