from django.core.management.base import BaseCommand
from django.utils import timezone

from mar.services.doses import doses_materialize


class Command(BaseCommand):
    help = "Create the scheduled doses of every active order for the next 48 hours (idempotent)."

    def handle(self, *args, **options) -> None:
        created = doses_materialize(now=timezone.now())
        self.stdout.write(f"{created} scheduled doses created.")
