from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from staff import selectors, services

# The facility's auto-lock is read once per session (like its time zone); a change to
# the setting applies from each person's next sign-in or PIN switch.
SESSION_AUTO_LOCK_MINUTES = "tablet_auto_lock_minutes"


def _auto_lock_seconds(request: HttpRequest) -> int:
    minutes = request.session.get(SESSION_AUTO_LOCK_MINUTES)
    if minutes is None:
        minutes = selectors.auto_lock_minutes_for_user(user=request.user)
        request.session[SESSION_AUTO_LOCK_MINUTES] = minutes
    return minutes * 60


def tablet(request: HttpRequest) -> dict:
    """For base.html: is the screen locked, when to lock it, who the overlay offers.

    Costs no query unless a page shows the auto-lock time, and then once per session.
    """
    if not request.user.is_authenticated:
        return {}
    return {
        "screen_locked": services.session_is_locked(session=request.session),
        "tablet_auto_lock_seconds": SimpleLazyObject(lambda: _auto_lock_seconds(request)),
        "tablet_me": [selectors.tablet_person_for_user(user=request.user)],
        # base.html asks for a new PIN on every page until it is set (6 digits at least).
        "pin_needs_renewal": request.user.pin_needs_renewal,
    }
