"""Quantities as people say them: "1 tablet", "2 tablets", "0.5 mL"."""

from decimal import Decimal

from django import template

from inventory.selectors import quantity_text, unit_word

register = template.Library()


@register.filter
def with_unit(quantity: Decimal | None, unit: str) -> str:
    return "" if quantity is None else quantity_text(quantity, unit)


@register.filter
def unit_for(quantity: Decimal | None, unit: str) -> str:
    return unit if quantity is None else unit_word(quantity, unit)
