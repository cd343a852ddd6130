from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from support.operators import operator_add, operators_group_sync


class Command(BaseCommand):
    help = (
        "Create or refresh the 'operators' group and its admin permissions (safe to run again, "
        "e.g. after new models are added). With --add USERNAME, make that user an operator (staff + group)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--add", metavar="USERNAME", action="append", default=[], help="Make this existing user an operator (repeatable).")

    def handle(self, *args, **options):
        group = operators_group_sync()
        self.stdout.write(f"Group '{group.name}' has {group.permissions.count()} permissions.")
        User = get_user_model()
        for username in options["add"]:
            user = User.objects.filter(username=username).first()
            if user is None:
                raise CommandError(f"No user '{username}'. Create it first (manage.py createsuperuser or member_add).")
            operator_add(user=user)
            self.stdout.write(self.style.SUCCESS(f"{username} is now an operator (staff, in '{group.name}')."))
