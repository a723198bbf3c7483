"""``python manage.py seed_demo [--residents N] [--seed S] [--if-empty]``: load the demo
community (see ``demo.community``). Safe to run twice: the second run changes nothing."""

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from demo.community import (
    DEFAULT_RESIDENTS,
    DEFAULT_SEED,
    DEMO_PASSWORD,
    MAX_RESIDENTS,
    DemoDataConflict,
    demo_community_seed,
)


class Command(BaseCommand):
    help = "Load the demo community (Maple Grove Assisted Living) unless it is already there."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--residents",
            type=int,
            default=DEFAULT_RESIDENTS,
            help=f"How many residents (1 to {MAX_RESIDENTS}; default {DEFAULT_RESIDENTS}). "
            "The benchmarks use 120.",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help="Seed of the random choices; the same seed gives the same community.",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing if the database has any facility at all (used by make run).",
        )

    def handle(
        self, *args: object, residents: int, seed: int, if_empty: bool, **options: object
    ) -> None:
        if not 1 <= residents <= MAX_RESIDENTS:
            raise CommandError(f"--residents must be between 1 and {MAX_RESIDENTS}.")
        started = time.monotonic()
        try:
            result = demo_community_seed(
                now=timezone.now(), residents=residents, seed=seed, if_empty=if_empty
            )
        except DemoDataConflict as error:
            raise CommandError(str(error)) from error
        if not result.created:
            self.stdout.write(result.message)
            return
        self.stdout.write(
            self.style.SUCCESS(f"{result.message} ({time.monotonic() - started:.1f} s)")
        )
        self.stdout.write(
            f"  residents {result.residents}, orders {result.orders}, "
            f"stock items {result.stock_items}, users {result.users}, "
            f"catalog medications {result.medications}\n"
            f"  sign in as tech1, tech2, tech3, nurse1, nurse2 or admin1 "
            f"with password {DEMO_PASSWORD}"
        )
