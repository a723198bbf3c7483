"""Dose units and the conversions between them that a product makes known.

Pure domain code (no database): a unit as a nurse types it ("tabs", "ml", "gtt") has one
canonical spelling; two amounts of one product compare only where a conversion is known:

- the same unit, or two masses (mcg, mg, g);
- through the product's strength: "500 mg" is 500 mg per tablet (per the form's counting
  unit) when the strength is one plain amount; "100 units/mL" and "400 mg/5 mL" are
  amounts per volume; "90 mcg/actuation" per puff;
- mL and drops only through the drops per mL recorded on the product.

Anything else is not convertible (``None``), and the callers refuse rather than guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Protocol

ALIASES: dict[str, tuple[str, ...]] = {
    "tablet": ("tablet", "tablets", "tab", "tabs", "tbl"),
    "capsule": ("capsule", "capsules", "cap", "caps"),
    "mL": ("ml", "mls", "milliliter", "milliliters", "millilitre", "millilitres", "cc"),
    "drop": ("drop", "drops", "gtt", "gtts"),
    "mg": ("mg", "milligram", "milligrams"),
    "g": ("g", "gm", "gram", "grams"),
    "mcg": ("mcg", "microgram", "micrograms", "µg", "ug"),
    "units": ("unit", "units", "u"),
    "IU": ("iu", "international unit", "international units"),
    "mEq": ("meq",),
    "puff": ("puff", "puffs", "actuation", "actuations", "inhalation", "inhalations"),
    "spray": ("spray", "sprays"),
    "patch": ("patch", "patches"),
    "suppository": ("suppository", "suppositories", "supp"),
}
_CANONICAL = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
MASS_IN_MG = {"mcg": Decimal("0.001"), "mg": Decimal(1), "g": Decimal(1000)}

# What one item of each form is counted in, when it is counted item by item.
FORM_UNITS = {
    "tablet": "tablet",
    "capsule": "capsule",
    "suppository": "suppository",
    "patch": "patch",
    "inhaler": "puff",
    "solution": "mL",
    "suspension": "mL",
    "injection": "mL",
    "drops": "drop",
}

_AMOUNT = r"(\d+(?:[.,]\d+)*)\s*([A-Za-zµ]+)"
_PLAIN = re.compile(rf"^\s*{_AMOUNT}\s*$")
_PER = re.compile(rf"^\s*{_AMOUNT}\s*/\s*(\d+(?:\.\d+)?)?\s*([A-Za-z]+)\s*$")


class Product(Protocol):
    """What of ``mar.models.Medication`` the conversions read."""

    strength: str
    form: str
    drops_per_ml: Decimal | None


def canonical_unit(text: str) -> str:
    """The one spelling of a unit ("Tabs" -> "tablet"); an unknown one lower-cased."""
    cleaned = " ".join((text or "").strip().split())
    return _CANONICAL.get(cleaned.casefold(), cleaned.casefold())


def unit_label(unit: str, amount: Decimal | int = 1) -> str:
    """A unit for a sentence: "1 tablet", "2 tablets", "5 mL"."""
    canonical = canonical_unit(unit)
    if amount == 1 or canonical not in ("tablet", "capsule", "drop", "puff", "spray", "patch"):
        return canonical if canonical in ALIASES else unit
    return "patches" if canonical == "patch" else f"{canonical}s"


def _number(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


@dataclass(frozen=True)
class Strength:
    """``amount`` of ``unit`` in ``per`` of ``per_unit`` (500 mg per 1 tablet)."""

    amount: Decimal
    unit: str
    per: Decimal
    per_unit: str


def parse_strength(strength: str, *, form: str) -> Strength | None:
    """A product's strength as a ratio, or None when it is not one plain amount (a
    combination "5 mg-325 mg", a percentage, "17 g/dose")."""
    if match := _PLAIN.match(strength or ""):
        amount, unit = _number(match.group(1)), canonical_unit(match.group(2))
        per_unit = FORM_UNITS.get(form)
        if amount and per_unit and unit != per_unit:
            return Strength(amount, unit, Decimal(1), per_unit)
        return None
    if match := _PER.match(strength or ""):
        amount, unit = _number(match.group(1)), canonical_unit(match.group(2))
        per = _number(match.group(3) or "1")
        per_unit = canonical_unit(match.group(4))
        if amount and per and unit != per_unit:
            return Strength(amount, unit, per, per_unit)
    return None


def _edges(product: Product) -> dict[str, dict[str, Decimal]]:
    """How many of the second unit one of the first is, for this product."""
    edges: dict[str, dict[str, Decimal]] = {}

    def link(a: str, b: str, factor: Decimal) -> None:
        edges.setdefault(a, {})[b] = factor
        edges.setdefault(b, {})[a] = 1 / factor

    for small, small_mg in MASS_IN_MG.items():
        for large, large_mg in MASS_IN_MG.items():
            if small != large:
                link(small, large, small_mg / large_mg)
    if strength := parse_strength(product.strength, form=product.form):
        link(strength.per_unit, strength.unit, strength.amount / strength.per)
    if product.drops_per_ml:
        link("mL", "drop", Decimal(product.drops_per_ml))
    return edges


def equivalents(amount: Decimal, *, unit: str, product: Product) -> dict[str, Decimal]:
    """``amount`` of ``unit`` in every unit it converts to for this product, by canonical
    unit (the unit itself included)."""
    start = canonical_unit(unit)
    edges = _edges(product)
    factors = {start: Decimal(1)}
    queue = [start]
    while queue:
        current = queue.pop(0)
        for neighbour, factor in edges.get(current, {}).items():
            if neighbour not in factors:
                factors[neighbour] = factors[current] * factor
                queue.append(neighbour)
    return {name: Decimal(amount) * factor for name, factor in factors.items()}


def spellings(unit: str) -> tuple[str, ...]:
    """Every lower-case way of writing this canonical unit (to match stored text)."""
    return tuple(dict.fromkeys((unit.casefold(), *ALIASES.get(unit, ()))))


def convert(amount: Decimal, *, from_unit: str, to_unit: str, product: Product) -> Decimal | None:
    """``amount`` of ``from_unit`` in ``to_unit`` for this product, or None when no
    conversion is known."""
    return equivalents(amount, unit=from_unit, product=product).get(canonical_unit(to_unit))


def counting_unit(*, dose_unit: str, product: Product) -> str:
    """What a new package for an order in ``dose_unit`` is counted in by default: the
    form's counting unit when the dose is a mass of it ("650 mg" of 325 mg tablets is
    counted in tablets), else the dose's own unit."""
    form_unit = FORM_UNITS.get(product.form)
    is_mass = canonical_unit(dose_unit) in MASS_IN_MG
    if (
        is_mass
        and form_unit
        and convert(1, from_unit=dose_unit, to_unit=form_unit, product=product)
    ):
        return form_unit
    return dose_unit


def units_mismatch(*, dose_unit: str, stock_unit: str, product: Product) -> str | None:
    """Why an order dosed in ``dose_unit`` cannot be taken from stock counted in
    ``stock_unit`` of this product, or None when it can."""
    if convert(Decimal(1), from_unit=dose_unit, to_unit=stock_unit, product=product) is not None:
        return None
    dose, stock = canonical_unit(dose_unit), canonical_unit(stock_unit)
    hint = ""
    if {dose, stock} == {"mL", "drop"}:
        hint = " Record the drops per mL on the product to convert them."
    return (
        f"The order's dose is in {dose} but {product} stock is counted in {stock}, and no "
        f"conversion between them is known.{hint}"
    )
