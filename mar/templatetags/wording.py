"""Template filters over ``mar.wording``: the one way every page says an order in words.

{% load wording %}
{{ order|sig }}                      2 tablets by mouth
{{ order.dose_amount|dose:order.dose_unit }}   2 tablets
{{ order.route|route }}              by mouth
{{ order|frequency:pass_times }}     Every 2 days at 08:00
{{ order.vitals_needed|needs_vitals }}   Needs blood glucose before giving
"""

from collections.abc import Iterable, Mapping
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from django import template
from django.utils import timezone

from mar import wording

register = template.Library()


@register.filter
def sig(order: Any) -> str:
    return wording.sig_words(order)


@register.filter
def dose(amount: Decimal | None, unit: str) -> str:
    return wording.dose_words(amount, unit)


@register.filter
def route(code: str) -> str:
    return wording.route_words(code)


@register.filter
def frequency(order: Any, pass_times: Mapping[str, time] | None = None) -> str:
    return wording.frequency_words(order, pass_times=pass_times or None)


@register.filter
def needs_vitals(vitals: Iterable[str]) -> str:
    return wording.needs_vitals_words(vitals)


@register.filter
def form_for(medication: Any, route_code: str | None = None) -> str:
    return wording.form_words(medication, route=route_code)


@register.filter
def ends(ends_at: datetime | None) -> str:
    """An order's end in the current time zone: "Tue Dec 8, 2026 (last day)"."""
    return wording.end_words(ends_at, zone=timezone.get_current_timezone())


@register.filter
def vitals(codes: Iterable[str]) -> str:
    return wording.vitals_words(codes)
