"""Give all due: one confirm for one resident's plain due doses.

Each dose still goes through ``administration_record`` with its own ``ChartEntry`` and its
own idempotency key, exactly as if it had been confirmed on its own card: every rule of
charting applies to each one, and each record is its own legal record in its own
transaction.

Per-dose results, not all-or-nothing: the med tech confirms after handing the resident
the cup. If one dose is refused (another tablet charted it a moment ago, the last tablet
left the cart), the others were given all the same, and leaving them uncharted would
turn a given dose into a missed one, or invite a second dose. So every dose that can be
charted is, and each refused one is named with its reason and stays on the list to chart
on its own. A retry of the same confirm (same keys) charts nothing twice: each dose's
key finds the record it made.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mar.models import Administration, Order, ScheduledDose
from mar.selectors import DoseCard, ResidentPass
from mar.services.administrations import (
    ChartEntry,
    ChartingError,
    IdempotencyKeyReused,
    administration_record,
)
from staff.models import User

# A dose in these card states may join the batch (inside its window, or late but still
# chartable); before its window opens it needs a nurse's override, one by one.
GIVE_ALL_STATES = frozenset({"due", "late"})


def give_all_exclusion(*, order: Order, requires_scan: bool) -> str:
    """Why a dose of ``order`` is charted on its own card, never in a batch ("" if it
    may be batched): anything the med tech must do or say for this one dose."""
    if order.is_prn:
        return "a PRN dose needs its reason"
    if requires_scan:
        return "the package must be scanned first"
    if order.vitals_needed:
        return "it needs vitals before it is given"
    if order.medication.dea_schedule:
        return "a controlled drug is charted with its witness"
    return ""


def give_all_cards(*, pass_: ResidentPass, requires_scan: bool) -> list[DoseCard]:
    """The resident's due (and late) doses that "Give all due" offers, in the page's order:
    plain doses on the cart, nothing to do or say for any one of them."""
    return [
        card
        for group in ("late", "due")
        for card in pass_.groups[group]
        if card.state in GIVE_ALL_STATES
        and card.record is None
        and card.dose.order_id not in pass_.out_of_stock_order_ids
        and not give_all_exclusion(order=card.dose.order, requires_scan=requires_scan)
    ]


@dataclass(frozen=True)
class GiveAllResult:
    dose: ScheduledDose
    administration: Administration | None  # None: refused, see ``refusal``
    created: bool = False  # False with a record: charted already by this same confirm
    refusal: str = ""


def administration_record_all(
    *,
    user: User,
    now: dt.datetime,
    doses: list[tuple[ScheduledDose, str]],
    source: str = Administration.Source.TABLET,
) -> list[GiveAllResult]:
    """Chart each ``(dose, idempotency key)`` given at ``now``, one by one through
    ``administration_record``; a dose that may not be batched, or that the charting
    service refuses, is reported with why and nothing is written for it."""
    results = []
    for dose, key in doses:
        facility = dose.resident.facility
        if why := give_all_exclusion(order=dose.order, requires_scan=facility.requires_scan):
            refusal = f"Chart it on its own: {why}."
            results.append(GiveAllResult(dose=dose, administration=None, refusal=refusal))
            continue
        entry = ChartEntry(
            status=Administration.Status.GIVEN, administered_at=now, scheduled_dose=dose
        )
        try:
            result = administration_record(
                user=user, idempotency_key=key, now=now, entry=entry, source=source
            )
        except IdempotencyKeyReused as error:
            # The same confirm sent again: the request differs only by its clock, and the
            # record this key made for this dose stands.
            record = Administration.objects.filter(
                administered_by=user, idempotency_key=key, scheduled_dose=dose
            ).first()
            results.append(
                GiveAllResult(dose=dose, administration=record)
                if record
                else GiveAllResult(dose=dose, administration=None, refusal=str(error))
            )
        except ChartingError as error:
            results.append(GiveAllResult(dose=dose, administration=None, refusal=str(error)))
        else:
            record, created = result.administration, result.created
            results.append(GiveAllResult(dose=dose, administration=record, created=created))
    return results
