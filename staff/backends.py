"""The tablet PIN as a Django authentication backend.

Only so the PIN switch goes through ``django.contrib.auth.authenticate`` like every other
sign-in: django-axes (first in ``AUTHENTICATION_BACKENDS``) then counts wrong PINs with
wrong passwords, per username and address, and pauses both alike. The keyword is
``pin_secret``: Django cleanses credentials whose name contains "secret" before sending
them with ``user_login_failed``, so a typed PIN never reaches a receiver or a log.

A password sign-in never reaches this backend (its signature takes no ``password``), and
no session is ever bound to it (it has no ``get_user``; the PIN switch signs in through
``ModelBackend``).
"""

from __future__ import annotations

from django.http import HttpRequest

from staff.models import User
from staff.services import user_check_pin


class PinBackend:
    def authenticate(
        self, request: HttpRequest | None, *, username: str | None = None, pin_secret: str = ""
    ) -> User | None:
        if not username or not pin_secret:
            return None
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None or not user_check_pin(user=user, pin=pin_secret):
            return None
        return user
