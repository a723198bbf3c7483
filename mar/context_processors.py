from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from mar import selectors


def notifications(request: HttpRequest) -> dict:
    """The unread count for the bell on every page, counted only if the page shows it."""
    if not request.user.is_authenticated:
        return {}
    return {
        "unread_count": SimpleLazyObject(
            lambda: selectors.notifications_unread_count(user=request.user)
        )
    }
