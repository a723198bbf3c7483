"""Template tags of the nurse's screens."""

from django import template
from django.utils import timezone

from mar import selectors_nurse

register = template.Library()


@register.simple_tag
def unreviewed_exceptions(user) -> int:
    """How many exceptions of the user's communities no nurse has reviewed yet (0 for
    anyone who does not review them). One query."""
    return selectors_nurse.exceptions_unreviewed_count(user=user, now=timezone.now())
