from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from drugref.loader import drugref_load
from drugref.models import Product
from drugref.selectors import reference_date


class Command(BaseCommand):
    help = (
        "Load the FDA NDC Directory (product.txt and package.txt) into the drug reference: "
        "the copy shipped with the app (April 2019), or a current download with --ndc-dir. "
        "Safe to run again: an unchanged directory changes no row."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--ndc-dir",
            type=Path,
            default=None,
            help="A folder holding the FDA's product.txt and package.txt (unzipped).",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing if a directory is loaded already (used by make run).",
        )
        parser.add_argument(
            "--data-date",
            default="",
            help="Which directory it is, shown with the data (default: the files' date).",
        )

    def handle(
        self,
        *args,
        ndc_dir: Path | None = None,
        data_date: str = "",
        if_empty: bool = False,
        **options,
    ) -> None:
        if if_empty and Product.objects.exists():
            self.stdout.write(f"The drug reference is loaded ({reference_date()}).")
            return
        result = drugref_load(directory=ndc_dir, now=timezone.now(), data_date=data_date)
        self.stdout.write(f"{result.data_date}")
        self.stdout.write(
            f"{result.products:,} products, {result.packages:,} packages, "
            f"{result.ingredients:,} ingredients in the directory"
        )
        for what, count in result.changed.items():
            self.stdout.write(f"  {what}: {count:,} changed")
        self.stdout.write(f"{result.total_changed:,} rows changed in {result.seconds:.1f} s")
