from django.core.management.base import BaseCommand, CommandError

from gharart import request_log


class Command(BaseCommand):
    help = "Anonymous requests that were counted instead of logged (public routes, scanners), by status."

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, default=24, help=f"how far back (1-{request_log.COUNT_HOURS})")

    def handle(self, *args, hours, **options):
        if not 1 <= hours <= request_log.COUNT_HOURS:
            raise CommandError(f"--hours must be between 1 and {request_log.COUNT_HOURS}.")
        counts = request_log.anonymous_counts(hours=hours)
        if not counts:
            self.stdout.write(f"No anonymous requests counted in the last {hours} hour(s).")
            return
        for status, count in counts.items():
            self.stdout.write(f"{status}\t{count}")
        self.stdout.write(f"total\t{sum(counts.values())} in the last {hours} hour(s)")
