"""What is checked about an order before anyone gives it, in one place: the allergies it
matches, its dose against the medication's range, its dose unit against the resident's
stock, a start far in the past.

``order_checks`` is the one function: order entry and verification
(``mar.services.orders``) refuse on its stops and ask the nurse to answer its warnings,
and the nurse's order page shows the same result while the form is filled in. The
answers a nurse must give are checked here too (``allergy_override_answer``,
``real_reason``), so the page and the API accept exactly the same.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from drugref import checks as drug_checks
from drugref import rules as drug_rules
from mar import schedule, units
from mar.models import Medication, Order, OrderAcknowledgement
from residents.models import Allergy

PAST_START_LIMIT = dt.timedelta(days=7)
REASON_WORDS = 3


@dataclass(frozen=True)
class DoseLimits:
    unit: str
    usual_single: Decimal | None
    max_single: Decimal | None
    usual_daily: Decimal | None
    max_daily: Decimal | None


def _limits(unit: str, *values: int) -> DoseLimits:
    return DoseLimits(unit, *(Decimal(value) for value in values))


# When a medication has no limits of its own: by the unit its doses are counted in
# (usual single, maximum single, usual a day, maximum a day). Mass units have none: a
# milligram limit belongs to a drug, not to a form.
DEFAULT_LIMITS = {
    "tablet": _limits("tablet", 3, 10, 12, 30),
    "capsule": _limits("capsule", 3, 10, 12, 30),
    "mL": _limits("mL", 30, 100, 120, 400),
    "drop": _limits("drop", 2, 10, 16, 48),
    "units": _limits("units", 50, 150, 150, 400),
    "puff": _limits("puff", 4, 8, 16, 32),
    "spray": _limits("spray", 2, 4, 8, 16),
    "patch": _limits("patch", 2, 4, 3, 6),
    "suppository": _limits("suppository", 1, 2, 2, 4),
}


def dose_limits(*, medication: Medication, dose_unit: str) -> DoseLimits | None:
    """The medication's own limits, or the defaults of the dose's unit (or of the form's
    counting unit), or None when there is nothing to compare with."""
    if medication.dose_limit_unit:
        return DoseLimits(
            medication.dose_limit_unit,
            medication.usual_max_single_dose,
            medication.max_single_dose,
            medication.usual_max_daily_dose,
            medication.max_daily_dose,
        )
    unit = units.canonical_unit(dose_unit)
    return DEFAULT_LIMITS.get(unit) or DEFAULT_LIMITS.get(units.FORM_UNITS.get(medication.form, ""))


@dataclass(frozen=True)
class OrderChecks:
    """``stops`` refuse the order whatever is answered; the rest need a nurse's answer:
    an allergy override with a reason, an acknowledgement of the dose warnings, a reason
    for a start more than a week back."""

    stops: tuple[str, ...] = ()
    allergies: tuple[Allergy, ...] = ()
    dose_warnings: tuple[str, ...] = ()
    past_start: str = ""
    # From the drug reference (drugref.checks): why each allergy matches, the other open
    # orders sharing an ingredient, listed interactions with them, psychotropic kinds.
    allergy_reasons: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()
    interactions: tuple[str, ...] = ()
    psychotropic: tuple[str, ...] = ()

    @property
    def allergy_warning(self) -> str:
        if not self.allergies:
            return ""
        if self.allergy_reasons:
            return f"Matches the resident's allergies: {'; '.join(self.allergy_reasons)}."
        names = ", ".join(allergy.allergen for allergy in self.allergies)
        return f"Matches the resident's allergy to {names}."

    @property
    def drug_warnings(self) -> tuple[str, ...]:
        """The warnings a nurse answers with a reason at entry and at verification."""
        return self.duplicates + self.interactions


def _amount(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.001')).normalize():,f}"


def _dose_text(amount: Decimal, unit: str) -> str:
    return f"{_amount(amount)} {units.unit_label(unit, amount)}"


def _range_findings(
    *, order: Order, doses_per_day: int, limits: DoseLimits
) -> tuple[list[str], list[str]]:
    single = units.convert(
        order.dose_amount, from_unit=order.dose_unit, to_unit=limits.unit, product=order.medication
    )
    if single is None:
        return [], []  # the unit check says why
    ordered = _dose_text(Decimal(order.dose_amount), order.dose_unit)
    same_unit = units.canonical_unit(order.dose_unit) == units.canonical_unit(limits.unit)
    single_text = ordered if same_unit else f"{ordered} ({_dose_text(single, limits.unit)})"
    daily = single * doses_per_day
    often = "once a day" if doses_per_day == 1 else f"{doses_per_day} times a day"
    if order.is_prn:
        often = f"up to {often} (PRN)"
    daily_text = f"{single_text} {often}, {_dose_text(daily, limits.unit)} a day,"
    stops: list[str] = []
    warnings: list[str] = []
    for amount, text, usual, maximum, what in (
        (single, f"{single_text} in one dose", limits.usual_single, limits.max_single, ""),
        (daily, daily_text, limits.usual_daily, limits.max_daily, " a day"),
    ):
        if maximum is not None and amount > maximum:
            stops.append(
                f"{order.medication}: {text} is above the maximum of "
                f"{_dose_text(maximum, limits.unit)}{what}. Check the order with the prescriber."
            )
        elif usual is not None and amount > usual:
            warnings.append(
                f"{order.medication}: {text} is above the usual maximum of "
                f"{_dose_text(usual, limits.unit)}{what}."
            )
    return stops, warnings


def _stock_units_refusal(order: Order) -> str:
    """The order's dose unit against the units the resident's stock of this medication
    is counted in (stock received for an earlier order stays on the cart)."""
    if order.medication.pk is None:
        return ""
    stock_units = (
        order.medication.stock_items.filter(
            resident_id=order.resident_id,
            quantity_on_hand__gt=0,
        )
        .order_by("unit")
        .values_list("unit", flat=True)
        .distinct()
    )
    for stock_unit in stock_units:
        if refusal := units.units_mismatch(
            dose_unit=order.dose_unit, stock_unit=stock_unit, product=order.medication
        ):
            return (
                f"{refusal} Order the dose in {stock_unit}, or return that stock to the "
                "pharmacy first."
            )
    return ""


def allergy_matches(*, allergens: list[Allergy], medication: Medication) -> list[Allergy]:
    """The allergies that the medication matches: a name or ingredient (either contains
    the other, ignoring case), or a class in the drug reference (``drugref.checks``)."""
    findings = drug_checks.allergy_findings(allergies=allergens, medication=medication)
    return [finding.allergy for finding in findings]


def _other_open_orders(order: Order) -> list[Order]:
    return list(
        Order.objects.filter(
            resident_id=order.resident_id,
            status__in=["pending_verification", "active", "on_hold"],
        )
        .exclude(pk__in=[pk for pk in (order.pk, order.replaces_id) if pk])
        .select_related("medication")
        .order_by("entered_at", "id")
    )


def _drug_findings(order: Order, allergens: list[Allergy]):
    """Allergy findings, duplicate-therapy and interaction warnings, psychotropic kinds."""
    others = _other_open_orders(order)
    found = drug_checks.profiles([order.medication, *(o.medication for o in others)])
    drug = found[id(order.medication)]
    pairs = [(other, found[id(other.medication)]) for other in others]
    allergy = drug_checks.allergy_findings(
        allergies=allergens, medication=order.medication, drug=drug
    )
    duplicates = drug_checks.duplicate_warnings(
        medication=order.medication, drug=drug, others=pairs
    )
    interactions = drug_checks.interaction_warnings(drug=drug, others=pairs)
    return allergy, duplicates, interactions, drug_checks.psychotropic_kinds(drug)


def order_checks(
    *, order: Order, now: dt.datetime, pass_times: dict, check_start: bool = True
) -> OrderChecks:
    """Everything that stands between this (possibly unsaved) order and its doses.

    ``check_start``: whether a start more than a week back needs a reason (at entry; a
    verification does not ask again)."""
    stops: list[str] = []
    if units.canonical_unit(order.dose_unit) == "":
        stops.append("Give the dose's unit.")
    try:
        frequency = schedule.Frequency.from_order(order, pass_times=pass_times)
    except ValueError:
        frequency = None  # the schedule's own check says why
    dose_warnings: list[str] = []
    limits = dose_limits(medication=order.medication, dose_unit=order.dose_unit)
    if frequency is not None and limits is not None and order.dose_amount:
        per_day = schedule.doses_per_day_at_most(frequency, prn_max_per_24h=order.prn_max_per_24h)
        range_stops, dose_warnings = _range_findings(
            order=order, doses_per_day=per_day, limits=limits
        )
        stops += range_stops
    if refusal := _stock_units_refusal(order):
        stops.append(refusal)
    past_start = ""
    if check_start and order.starts_at and order.starts_at < now - PAST_START_LIMIT:
        local = order.starts_at.astimezone(order.resident.facility.zone)
        past_start = (
            f"The order starts on {local:%b %-d, %Y}, more than a week ago. Say why (for "
            "example, copying an order that was running on paper)."
        )
    allergy, duplicates, interactions, psychotropic = _drug_findings(
        order, list(order.resident.allergies.order_by("allergen", "id"))
    )
    return OrderChecks(
        stops=tuple(stops),
        allergies=tuple(finding.allergy for finding in allergy),
        dose_warnings=tuple(dose_warnings),
        past_start=past_start,
        allergy_reasons=tuple(finding.text for finding in allergy),
        duplicates=tuple(duplicates),
        interactions=tuple(interactions),
        psychotropic=tuple(psychotropic),
    )


def psychotropic_prn_end(
    *, order: Order, checks: OrderChecks, rationale: str = ""
) -> dt.datetime | None:
    """The CMS limit (F758): a PRN psychotropic order ends 14 days after it starts unless
    the prescriber documented a rationale and a duration (then the order's own end is
    kept). None when the rule does not apply."""
    if not (order.is_prn and checks.psychotropic and order.starts_at):
        return None
    limit = order.starts_at + dt.timedelta(days=drug_rules.PSYCHOTROPIC_PRN_DAYS)
    if order.ends_at is not None and (order.ends_at <= limit or real_reason(rationale)):
        return order.ends_at
    return limit


def real_reason(text: str) -> bool:
    """A reason a person wrote, not a placeholder: three words or more (".", "ok" and
    "n/a" are not reasons)."""
    return len(re.findall(r"[^\W\d_]{2,}", text or "")) >= REASON_WORDS


def allergy_override_answer(*, reason_code: str, reason: str) -> str | None:
    """The override as it is kept on the order ("Prescriber aware: ...; <their words>"),
    or None when it is not a real reason: a coded choice, or a sentence of a few words
    (always a sentence for "other")."""
    Reason = OrderAcknowledgement.Reason
    reason = (reason or "").strip()
    if reason_code and reason_code not in Reason.values:
        return None
    if reason_code and reason_code != Reason.OTHER:
        label = Reason(reason_code).label
        return f"{label}. {reason}" if reason else label
    return reason if real_reason(reason) else None
