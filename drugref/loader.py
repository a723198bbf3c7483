"""Load the FDA NDC Directory (product.txt, package.txt) into the reference, fast and
idempotently: parse once in Python (``drugref.fda``), COPY into temporary staging tables,
then one INSERT ... ON CONFLICT DO UPDATE ... WHERE IS DISTINCT FROM per table, so a
second load of the same files writes no row. Products that left the directory are kept,
marked not listed (a medication may point at one); packages and ingredient classes that
left are deleted.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.db import connection, transaction
from psycopg.types.json import Jsonb

from drugref import fda
from drugref.models import LoadRun

PRODUCT_COLUMNS = (
    "product_id",
    "product_ndc",
    "product_type",
    "proprietary_name",
    "proprietary_name_suffix",
    "nonproprietary_name",
    "dosage_form",
    "route",
    "labeler",
    "substances",
    "ingredients",
    "strengths",
    "epc_classes",
    "moa_classes",
    "chemical_classes",
    "dea_schedule",
)
_ARRAYS = {"substances", "ingredients", "epc_classes", "moa_classes", "chemical_classes"}
INGREDIENT_COLUMNS = ("name", "epc_classes", "moa_classes", "chemical_classes", "product_count")
# A class belongs to an ingredient when at least this share of the products that contain
# the ingredient alone (and list any class) carry it: one mislabelled repackager row does
# not give warfarin a new class.
INGREDIENT_CLASS_SHARE = Decimal("0.2")


@dataclass(frozen=True)
class LoadResult:
    products: int
    packages: int
    ingredients: int
    changed: dict[str, int]
    seconds: float
    data_date: str

    @property
    def total_changed(self) -> int:
        return sum(self.changed.values())


def _type(column: str) -> str:
    if column in _ARRAYS:
        return "text[]"
    if column == "strengths":
        return "jsonb"
    return "text"


class _IngredientClasses:
    """Counts, per ingredient, the classes of the products that contain it alone."""

    def __init__(self) -> None:
        self.products: Counter[str] = Counter()
        self.classified: Counter[str] = Counter()
        self.classes: dict[str, dict[str, Counter[str]]] = defaultdict(
            lambda: {"epc": Counter(), "moa": Counter(), "cs": Counter()}
        )

    def add(self, product: dict) -> None:
        if len(product["ingredients"]) != 1:
            return
        name = product["ingredients"][0]
        self.products[name] += 1
        kinds = {"epc": "epc_classes", "moa": "moa_classes", "cs": "chemical_classes"}
        if any(product[column] for column in kinds.values()):
            self.classified[name] += 1
        for kind, column in kinds.items():
            self.classes[name][kind].update(product[column])

    def rows(self) -> list[tuple]:
        rows = []
        for name, count in sorted(self.products.items()):
            floor = self.classified[name] * INGREDIENT_CLASS_SHARE
            kept = {
                kind: sorted(c for c, n in counter.items() if n >= floor)
                for kind, counter in self.classes[name].items()
            }
            rows.append((name, kept["epc"], kept["moa"], kept["cs"], count))
        return rows


def _copy(cursor, table: str, columns: tuple[str, ...], rows) -> None:
    types = [_type(c) if c != "product_count" else "int4" for c in columns]
    definition = ", ".join(f"{c} {t}" for c, t in zip(columns, types, strict=True))
    # Dropped at commit; inside a caller's transaction (tests) a second load drops it here.
    cursor.execute(f"DROP TABLE IF EXISTS {table}")
    cursor.execute(f"CREATE TEMPORARY TABLE {table} ({definition}) ON COMMIT DROP")
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def _upsert(cursor, *, table: str, stage: str, columns: tuple[str, ...], key: str) -> int:
    updated = [c for c in columns if c not in key.split(", ")]
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in updated)
    old = ", ".join(f"{table}.{c}" for c in updated)
    new = ", ".join(f"EXCLUDED.{c}" for c in updated)
    # Table and column names are this module's constants, never input.
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT DISTINCT ON ({key}) "  # noqa: S608
        f"{', '.join(columns)} FROM {stage} ORDER BY {key}, {', '.join(updated)} "
        f"ON CONFLICT ({key}) DO UPDATE SET {sets} WHERE ({old}) IS DISTINCT FROM ({new})"
    )
    return cursor.rowcount


def _data_date(directory: Path, shipped: bool) -> str:
    if shipped:
        return fda.SHIPPED_DATE
    stamp = dt.datetime.fromtimestamp((directory / "product.txt").stat().st_mtime, tz=dt.UTC)
    return f"FDA NDC Directory, files of {stamp:%Y-%m-%d}"


def drugref_load(
    *, directory: Path | None = None, now: dt.datetime, data_date: str = ""
) -> LoadResult:
    """Load product.txt and package.txt from ``directory`` (default: the shipped copy).
    ``data_date`` says which directory it is (default: the shipped copy's date, or the
    files' own date)."""
    started = time.monotonic()
    shipped = directory is None
    directory = directory or fda.shipped_dir()
    for name in ("product.txt", "package.txt"):
        if not (directory / name).is_file():
            raise FileNotFoundError(f"{directory / name} is missing: download both files.")
    ingredients = _IngredientClasses()
    product_ids: set[str] = set()

    def products():
        for raw in fda.rows(directory / "product.txt"):
            row = fda.product_row(raw)
            ingredients.add(row)
            product_ids.add(row["product_id"])
            yield tuple(Jsonb(row[c]) if c == "strengths" else row[c] for c in PRODUCT_COLUMNS)

    def packages():
        for raw in fda.rows(directory / "package.txt"):
            if row := fda.package_row(raw):
                yield (row["product_id"], row["ndc"], row["ndc11"], row["description"])

    changed: dict[str, int] = {}
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = wrapper.cursor
        _copy(cursor, "stage_product", PRODUCT_COLUMNS, products())
        changed["products"] = _upsert_products(cursor)
        cursor.execute(
            "UPDATE drugref_product p SET is_listed = false WHERE p.is_listed AND NOT EXISTS "
            "(SELECT 1 FROM stage_product s WHERE s.product_id = p.product_id)"
        )
        changed["products unlisted"] = cursor.rowcount
        _copy(
            cursor,
            "stage_package",
            ("product_code", "ndc", "ndc11", "description"),
            packages(),
        )
        cursor.execute("DROP TABLE IF EXISTS stage_package_keyed")
        cursor.execute(
            "CREATE TEMPORARY TABLE stage_package_keyed ON COMMIT DROP AS "
            "SELECT DISTINCT ON (p.id, s.ndc) p.id AS product_id, s.ndc, s.ndc11, s.description "
            "FROM stage_package s JOIN drugref_product p ON p.product_id = s.product_code "
            # The directory repeats a few packages with other descriptions: the ORDER BY
            # names every column so the same row wins each time (a second load changes
            # nothing).
            "ORDER BY p.id, s.ndc, s.ndc11, s.description"
        )
        changed["packages"] = _upsert(
            cursor,
            table="drugref_package",
            stage="stage_package_keyed",
            columns=("product_id", "ndc", "ndc11", "description"),
            key="product_id, ndc",
        )
        cursor.execute(
            "DELETE FROM drugref_package d WHERE NOT EXISTS (SELECT 1 FROM stage_package_keyed s "
            "WHERE s.product_id = d.product_id AND s.ndc = d.ndc)"
        )
        changed["packages removed"] = cursor.rowcount
        _copy(cursor, "stage_ingredient", INGREDIENT_COLUMNS, ingredients.rows())
        changed["ingredients"] = _upsert(
            cursor,
            table="drugref_ingredient",
            stage="stage_ingredient",
            columns=INGREDIENT_COLUMNS,
            key="name",
        )
        cursor.execute(
            "DELETE FROM drugref_ingredient d WHERE NOT EXISTS "
            "(SELECT 1 FROM stage_ingredient s WHERE s.name = d.name)"
        )
        changed["ingredients removed"] = cursor.rowcount
        cursor.execute("SELECT count(*) FROM stage_package_keyed")
        package_count = cursor.fetchone()[0]
        data_date = data_date or _data_date(directory, shipped)
        seconds = time.monotonic() - started
        result = LoadResult(
            products=len(product_ids),
            packages=package_count,
            ingredients=len(ingredients.products),
            changed=changed,
            seconds=seconds,
            data_date=data_date,
        )
        if result.total_changed or not LoadRun.objects.filter(data_date=data_date).exists():
            LoadRun.objects.create(
                source=str(directory),
                data_date=data_date,
                loaded_at=now,
                products=result.products,
                packages=result.packages,
                changed=result.total_changed,
                seconds=Decimal(f"{seconds:.2f}"),
            )
    return result


def _upsert_products(cursor) -> int:
    """Products: a row back in the directory is listed again."""
    columns = (*PRODUCT_COLUMNS, "is_listed")
    cursor.execute("ALTER TABLE stage_product ADD COLUMN is_listed boolean NOT NULL DEFAULT true")
    return _upsert(
        cursor, table="drugref_product", stage="stage_product", columns=columns, key="product_id"
    )
