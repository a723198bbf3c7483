from django.core.management.base import BaseCommand, CommandError

from mar.services.chain import chain_verify


class Command(BaseCommand):
    help = (
        "Recompute each facility's hash chain over administrations and amendments and "
        "name every row altered, deleted or added behind the application's back. "
        "Exits with status 1 when anything does not match."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--facility",
            type=int,
            action="append",
            dest="facility_ids",
            help="Only this facility id (repeat for more). Default: every facility.",
        )

    def handle(self, *args, facility_ids: list[int] | None = None, **options) -> None:
        report = chain_verify(facility_ids=facility_ids)
        for facility_id, links in report.links.items():
            self.stdout.write(f"Facility {facility_id}: {links} links checked.")
        for problem in report.problems:
            self.stdout.write(str(problem))
        if not report.is_intact:
            raise CommandError(f"{len(report.problems)} problem(s) found in the record chain.")
        self.stdout.write(self.style.SUCCESS("Every chain is intact."))
