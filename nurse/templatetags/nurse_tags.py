"""Template tags of the nurse's screens."""

from django import template
from django.utils import timezone

from nurse import selectors as nurse_selectors

register = template.Library()


@register.simple_tag
def unreviewed_exceptions(user) -> int:
    """How many exceptions of the user's communities no nurse has reviewed yet (0 for
    anyone who does not review them). One query."""
    return nurse_selectors.exceptions_unreviewed_count(user=user, now=timezone.now())
