"""What the charting services share and what the other services borrow from charting:
its refusals, the clock skew it tolerates, the vital signs it knows and the hold-parameter
test. ``administrations`` (charting), ``concerns`` and ``followups`` import this module;
it imports none of them, so they form no cycle.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from mar.models import Administration, Order, Vital
from medtech.core.errors import Conflict, DomainError, Invalid, NotPermitted, Refused

# How far past the server's clock a time from a tablet may be before it is refused.
CLOCK_SKEW = dt.timedelta(minutes=5)

VITAL_RANGES: dict[str, tuple[Decimal, Decimal]] = {
    Vital.SYSTOLIC: (Decimal(40), Decimal(300)),
    Vital.DIASTOLIC: (Decimal(20), Decimal(200)),
    Vital.PULSE: (Decimal(20), Decimal(250)),
    Vital.TEMPERATURE: (Decimal(90), Decimal(110)),
    Vital.RESPIRATIONS: (Decimal(4), Decimal(60)),
    Vital.SPO2: (Decimal(50), Decimal(100)),
    Vital.BLOOD_GLUCOSE: (Decimal(10), Decimal(800)),
    Vital.PAIN: (Decimal(0), Decimal(10)),
    Vital.WEIGHT: (Decimal(40), Decimal(700)),
}
COMPARATORS = {
    "<": lambda value, limit: value < limit,
    "<=": lambda value, limit: value <= limit,
    ">": lambda value, limit: value > limit,
    ">=": lambda value, limit: value >= limit,
}


def initials_dotted(initials: str) -> str:
    return "".join(f"{letter}." for letter in initials if letter.isalpha())


class ChartingError(DomainError):
    """Charting refused; the message tells the person what happened and what to do."""


class ChartingNotPermitted(NotPermitted, ChartingError):
    pass


class ChartingInvalid(Invalid, ChartingError):
    """Bad input: the field it concerns is in ``field``."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class OrderNotChartable(Refused, ChartingError):
    pass


class DoseAlreadyCharted(Conflict, ChartingError):
    def __init__(self, existing: Administration) -> None:
        by = existing.administered_by
        local = existing.administered_at.astimezone(existing.resident.facility.zone)
        super().__init__(
            f"Already charted by {initials_dotted(by.initials)} at {local:%H:%M} "
            f"({existing.get_status_display().lower()})."
        )
        self.existing = existing


class IdempotencyKeyReused(Refused, ChartingError):
    """The same key was sent before with a different request."""


class ChartingMismatch(Refused, ChartingError):
    """What the request says about the dose differs from the record: the resident, the
    medication, the dose or the route. Refused (422), never silently ignored."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class OverridableStop(Refused, ChartingError):
    """A rule that a nurse may override with a reason for this one dose."""


class TooEarly(OverridableStop):
    pass


class TooClose(OverridableStop):
    """Too close to another dose of the same scheduled order, or in another dose's slot."""


class PrnLimitReached(Refused, ChartingError):
    def __init__(self, message: str, *, allowed_at: dt.datetime) -> None:
        super().__init__(message)
        self.allowed_at = allowed_at


class HoldParameterMet(OverridableStop):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__(
            "; ".join(reasons) + ". Chart the dose as held, or ask a nurse to override."
        )
        self.reasons = reasons


class NoStock(Refused, ChartingError):
    pass


class ScanMismatch(Refused, ChartingError):
    pass


def hold_parameter_reasons(*, order: Order, vitals: dict[str, str]) -> list[str]:
    """Which of the order's hold parameters the vitals meet, as people say them."""
    reasons = []
    for rule in order.hold_parameters or []:
        name, comparator, limit = rule.get("vital"), rule.get("comparator"), rule.get("limit")
        if name in vitals and comparator in COMPARATORS:
            value, bound = Decimal(vitals[name]), Decimal(str(limit))
            if COMPARATORS[comparator](value, bound):
                reasons.append(
                    f"{name.replace('_', ' ')} {vitals[name]} {comparator} {limit}: hold"
                )
    return reasons
