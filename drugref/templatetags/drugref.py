from django import template

from drugref.selectors import reference_date

register = template.Library()


@register.simple_tag
def drugref_date() -> str:
    """Which FDA NDC Directory the reference holds, for every place that shows its data
    (one query, only where it is shown)."""
    return reference_date()
