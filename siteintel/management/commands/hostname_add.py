from django.core.management.base import BaseCommand, CommandError

from gharart.errors import ApplicationError
from gharart.models import Handle
from siteintel import services


class Command(BaseCommand):
    help = "Register a site-intel hostname for a handle (e.g. shop.example.com or http://host:8080)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("hostname")

    def handle(self, *args, slug, hostname, **options):
        handle = Handle.objects.filter(slug=slug).first()
        if handle is None:
            raise CommandError(f"No handle '{slug}'.")
        try:
            row = services.hostname_register(handle=handle, hostname=hostname)
        except ApplicationError as exc:
            detail = "; ".join(m for msgs in exc.details.values() if isinstance(msgs, list) for m in msgs)
            raise CommandError(f"{exc.code}: {exc.message}" + (f" {detail}" if detail else ""))
        self.stdout.write(self.style.SUCCESS(f"Registered {row.scheme}://{row.hostname} for {slug}."))
