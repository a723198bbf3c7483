"""PRN limits as pure functions: whether a dose at a moment keeps an order's minimum
interval and its maximum per 24 hours, given every other dose given under the order.

The answer does not depend on the order in which doses were documented: a late entry
between two recorded doses, or a time moved by an amendment, is checked against the
doses on both sides of it. The charting service (refusing), the pass screen ("allowed
again at") and the offline bundle all ask these functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

DAY = dt.timedelta(hours=24)


@dataclass(frozen=True)
class PrnLimits:
    min_interval: dt.timedelta
    max_per_24h: int | None

    @classmethod
    def of(cls, order) -> PrnLimits:
        """An order's limits (anything with ``prn_min_interval_minutes`` and
        ``prn_max_per_24h``): how the service, the pass page and the bundle read them."""
        return cls(
            min_interval=dt.timedelta(minutes=order.prn_min_interval_minutes or 0),
            max_per_24h=order.prn_max_per_24h,
        )


@dataclass(frozen=True)
class PrnStop:
    """Why a dose at ``at`` would break a limit, and when one could be given instead."""

    kind: str  # "interval" or "count"
    at: dt.datetime
    nearest: dt.datetime | None  # "interval": the dose it would be too close to
    count: int  # "count": doses already in the busiest 24 hours around ``at``
    allowed_at: dt.datetime


def _busiest_day(times: list[dt.datetime], at: dt.datetime) -> int:
    """The most doses in any 24-hour span [s, s + 24 h) that contains ``at``."""
    starts = [t for t in times if at - DAY < t <= at] + [at]
    return max(sum(1 for t in times if start <= t < start + DAY) for start in starts)


def _breaks(
    times: list[dt.datetime], at: dt.datetime, limits: PrnLimits
) -> tuple[str, dt.datetime | None, int] | None:
    close = [t for t in times if abs(at - t) < limits.min_interval]
    if close:
        return "interval", min(close, key=lambda t: abs(at - t)), 0
    if limits.max_per_24h:
        count = _busiest_day(times, at)
        if count >= limits.max_per_24h:
            return "count", None, count
    return None


def prn_stop(*, given: Iterable[dt.datetime], at: dt.datetime, limits: PrnLimits) -> PrnStop | None:
    """None if a dose may be given at ``at``; else what stops it and the first moment
    after ``at`` when it may be given."""
    times = sorted(given)
    broken = _breaks(times, at, limits)
    if broken is None:
        return None
    kind, nearest, count = broken
    # A limit stops holding only where a dose falls out of reach: an interval after it, or
    # 24 hours after it. The first such moment that breaks no limit is the answer.
    edges = sorted({t + limits.min_interval for t in times} | {t + DAY for t in times})
    allowed_at = next(
        (edge for edge in edges if edge > at and _breaks(times, edge, limits) is None),
        max(times) + max(limits.min_interval, DAY),
    )
    return PrnStop(kind=kind, at=at, nearest=nearest, count=count, allowed_at=allowed_at)


def prn_allowed_at(
    *, given: Iterable[dt.datetime], now: dt.datetime, limits: PrnLimits
) -> dt.datetime | None:
    """When the next dose may be given: None if now."""
    stop = prn_stop(given=given, at=now, limits=limits)
    return stop.allowed_at if stop else None


# --- What a person is told ----------------------------------------------------------------
# The words of a refusal, in one place: the charting service raises them, and the offline
# bundle carries them (filled for the bundle's moment, and with placeholders for the
# tablet's own queue), so a PRN refused offline reads as it does online.


def prn_too_soon_message(*, given_at: str, min_interval_minutes: int, allowed_at: str) -> str:
    return (
        f"Too soon: a dose was given at {given_at}, and this order needs "
        f"{min_interval_minutes} minutes between doses. Allowed again at {allowed_at}."
    )


def prn_too_many_message(*, count: int | str, at: str, max_per_24h: int, allowed_at: str) -> str:
    return (
        f"Too many: {count} doses within 24 hours of {at}, the most this order allows is "
        f"{max_per_24h}. Allowed again at {allowed_at}."
    )


def prn_stop_message(
    *, stop: PrnStop, zone: dt.tzinfo, min_interval_minutes: int, max_per_24h: int | None
) -> str:
    """Why a dose at ``stop.at`` is refused, with times in the facility's zone."""
    allowed = stop.allowed_at.astimezone(zone)
    if stop.kind == "interval":
        return prn_too_soon_message(
            given_at=f"{stop.nearest.astimezone(zone):%H:%M}",
            min_interval_minutes=min_interval_minutes,
            allowed_at=f"{allowed:%H:%M}",
        )
    return prn_too_many_message(
        count=stop.count,
        at=f"{stop.at.astimezone(zone):%H:%M}",
        max_per_24h=max_per_24h or 0,
        allowed_at=f"{allowed:%a %H:%M}",
    )
