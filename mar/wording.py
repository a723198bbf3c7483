"""The one place that turns an order, a dose, a route and a schedule into words.

Every page (through the ``wording`` template filters), the printed documents and the API's
display strings read an order through these functions, so the med tech's card, the nurse's
record and the printed MAR say the same thing the same way: "2 tablets by mouth",
"1 drop in the eye (ophthalmic)", "Every 2 days at 08:00", "Needs blood glucose before
giving". Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import ngettext

from mar import schedule, units
from mar.models import Medication, Route, Vital

# Units counted one by one, with their singular and plural, for Django's pluralization.
_COUNTED = {
    "tablet": ("tablet", "tablets"),
    "capsule": ("capsule", "capsules"),
    "drop": ("drop", "drops"),
    "puff": ("puff", "puffs"),
    "spray": ("spray", "sprays"),
    "patch": ("patch", "patches"),
    "suppository": ("suppository", "suppositories"),
    "dose": ("dose", "doses"),
    "application": ("application", "applications"),
    "vial": ("vial", "vials"),
    "ampule": ("ampule", "ampules"),
    "packet": ("packet", "packets"),
    "box": ("box", "boxes"),
    "bottle": ("bottle", "bottles"),
    "inhaler": ("inhaler", "inhalers"),
    "tube": ("tube", "tubes"),
    "pen": ("pen", "pens"),
    "lozenge": ("lozenge", "lozenges"),
    "applicator": ("applicator", "applicators"),
    "syringe": ("syringe", "syringes"),
    "actuation": ("actuation", "actuations"),
    "card": ("card", "cards"),
}
_COUNTED_ALIASES = {"doses": "dose", "vials": "vial", "packets": "packet", "boxes": "box"}

# How a route reads after a dose: "2 tablets by mouth", "1 drop in the eye (ophthalmic)".
ROUTE_WORDS = {
    Route.ORAL: "by mouth",
    Route.SUBLINGUAL: "under the tongue (sublingual)",
    Route.TOPICAL: "on the skin (topical)",
    Route.TRANSDERMAL: "patch on the skin (transdermal)",
    Route.OPHTHALMIC: "in the eye (ophthalmic)",
    Route.OTIC: "in the ear (otic)",
    Route.NASAL: "in the nose (nasal)",
    Route.INHALED: "inhaled",
    Route.SUBCUTANEOUS: "under the skin (SubQ)",
    Route.INTRAMUSCULAR: "into the muscle (IM)",
    Route.RECTAL: "rectally (PR)",
    Route.ENTERAL: "by feeding tube",
}

# A vital as a sentence names it: "Needs blood glucose before giving".
VITAL_WORDS = {
    Vital.SYSTOLIC: "blood pressure",
    Vital.DIASTOLIC: "blood pressure",
    Vital.PULSE: "pulse",
    Vital.TEMPERATURE: "temperature",
    Vital.RESPIRATIONS: "respirations",
    Vital.SPO2: "oxygen saturation (SpO2)",
    Vital.BLOOD_GLUCOSE: "blood glucose",
    Vital.PAIN: "pain score",
    Vital.WEIGHT: "weight",
}

# A product's form as its label should read for the route it is given by: a DuoNeb
# solution breathed in is not an "oral solution".
_FORM_BY_ROUTE = {
    (Medication.Form.SOLUTION, Route.INHALED): "inhalation solution",
    (Medication.Form.SOLUTION, Route.OPHTHALMIC): "ophthalmic solution",
    (Medication.Form.SOLUTION, Route.OTIC): "otic solution",
    (Medication.Form.SOLUTION, Route.NASAL): "nasal solution",
    (Medication.Form.SOLUTION, Route.TOPICAL): "topical solution",
    (Medication.Form.SOLUTION, Route.SUBCUTANEOUS): "solution for injection",
    (Medication.Form.SOLUTION, Route.INTRAMUSCULAR): "solution for injection",
    (Medication.Form.SUSPENSION, Route.INHALED): "inhalation suspension",
    (Medication.Form.SUSPENSION, Route.OPHTHALMIC): "ophthalmic suspension",
}
_PLAIN_FORMS = {Medication.Form.SOLUTION: "solution"}


def number_words(amount: Decimal | int | float) -> str:
    """``Decimal("2.000")`` -> "2", ``Decimal("0.50")`` -> "0.5"."""
    return format(Decimal(str(amount)).normalize(), "f")


def unit_words(amount: Decimal | int | float, unit: str) -> str:
    """The unit as it reads after ``amount``: "tablet", "tablets", "suppositories", "mL"."""
    canonical = units.canonical_unit(unit)
    canonical = _COUNTED_ALIASES.get(canonical, canonical)
    if canonical not in _COUNTED:
        return canonical if canonical in units.ALIASES else (unit or "").strip()
    singular, plural = _COUNTED[canonical]
    return ngettext(singular, plural, 1 if Decimal(str(amount)) == 1 else 2)


def dose_words(amount: Decimal | int | float | None, unit: str) -> str:
    """A dose or a quantity: "1 tablet", "2 tablets", "12 suppositories", "0.5 mL"."""
    if amount is None:
        return ""
    return f"{number_words(amount)} {unit_words(amount, unit)}"


def route_words(route: str) -> str:
    """How the route reads after a dose ("by mouth"); an unknown code as its own label."""
    try:
        return ROUTE_WORDS[Route(route)]
    except ValueError:
        return str(route).replace("_", " ")


def route_label(route: str) -> str:
    """The route's name on its own, for a column headed "Route" ("By mouth (PO)")."""
    try:
        return str(Route(route).label)
    except ValueError:
        return str(route).replace("_", " ")


def sig_words(order: Any, *, amount: Decimal | None = None) -> str:
    """An order's dose and route as a sentence: "2 tablets by mouth". ``amount`` is a
    charted dose's own amount when it differs from the order's."""
    dose = dose_words(order.dose_amount if amount is None else amount, order.dose_unit)
    return f"{dose} {route_words(order.route)}"


def form_words(medication: Any, *, route: str | None = None) -> str:
    """A product's form in lower case for the route it is given by ("inhalation
    solution" for a DuoNeb that is breathed in, "tablet")."""
    form = medication.form
    route = route or getattr(medication, "default_route", None)
    if (form, route) in _FORM_BY_ROUTE:
        return _FORM_BY_ROUTE[(form, route)]
    if form in _PLAIN_FORMS and route and route != Route.ORAL:
        return _PLAIN_FORMS[form]
    try:
        return str(Medication.Form(form).label).lower()
    except ValueError:
        return str(form)


def vitals_words(vitals: Iterable[str]) -> str:
    """The vitals to take, in words and once each: "blood pressure and pulse"."""
    names = list(dict.fromkeys(VITAL_WORDS.get(v, str(v).replace("_", " ")) for v in vitals))
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def needs_vitals_words(vitals: Iterable[str]) -> str:
    """ "Needs blood glucose before giving", or "" when none are needed."""
    words = vitals_words(vitals)
    return f"Needs {words} before giving" if words else ""


def frequency_words(order: Any, *, pass_times: Mapping[str, time] | None = None) -> str:
    """How often, in words: "Every 6 hours", "Every 2 days at 08:00", "As needed".

    The facility's named pass times ("AM") are read as their clock times when given; an
    order the schedule engine cannot read still says what it can, never a field's code.
    """
    try:
        return schedule.describe(schedule.Frequency.from_order(order, pass_times=pass_times or {}))
    except (ValueError, TypeError):
        pass
    interval = order.interval or 1
    at = ", ".join(order.administration_times or ())
    suffix = f" at {at}" if at else ""
    match order.frequency:
        case "every_n_hours":
            return ngettext("Every hour", "Every %(n)d hours", interval) % {"n": interval}
        case "every_n_days":
            every = "Every day" if interval == 1 else f"Every {interval} days"
            return f"{every}{suffix}"
        case "prn":
            return "As needed"
        case _:
            return f"{order.get_frequency_display()}{suffix}"


def end_words(ends_at: datetime | None, *, zone: ZoneInfo) -> str:
    """When an order ends, as the nurse entered it: "Tue Dec 8, 2026 (last day)" for an
    order stopping at the midnight after its last day, else "Tue Dec 8, 2026 at 20:00"."""
    if ends_at is None:
        return "Open-ended"
    local = ends_at.astimezone(zone)
    if local.time() == time(0):
        last_day = local.date() - timedelta(days=1)
        return f"{last_day:%a %b} {last_day.day}, {last_day.year} (last day)"
    return f"{local:%a %b} {local.day}, {local.year} at {local:%H:%M}"
