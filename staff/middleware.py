"""The shared tablet: its lock, and who has signed in on it.

``TabletLockMiddleware`` goes after django_htmx's HtmxMiddleware (and the
authentication middleware). While the session is locked (``staff.services.session_lock``)
every request except the lock screen, unlock, login, logout, /healthz and static files
is answered here, without reaching its view:

- htmx requests: **403 with ``HX-Trigger: locked``**. Not ``HX-Redirect``: htmx follows
  that at once, even on a 403, and the page with everything typed on it would be gone.
  ``static/js/tablet.js`` listens for the ``locked`` event and puts the lock overlay
  over the page instead.
- other requests that want JSON and not HTML (fetch, the API): 403,
  ``{"locked": true, "lock_url": ...}``.
- everything else (a full page): 302 to the lock screen with ``?next=`` this page.

When ``django.contrib.auth.login()`` runs during a request the session's lock is lifted
and, for a password sign-in (not a PIN switch, which must not stretch the 12 hours), the
person is added to the tablet's signed cookie ``tablet_users``, newest first; when
``logout()`` runs they are taken off the tablet.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme

from staff import services

TABLET_COOKIE = "tablet_users"
LOCKED_MESSAGE = "The screen is locked. Choose your name and enter your PIN to go on."


def tablet_users_from_request(
    request: HttpRequest, *, now: dt.datetime
) -> list[services.TabletUser]:
    """Who signed in on this browser in the last 12 hours, newest first."""
    return services.tablet_users_unsign(value=request.COOKIES.get(TABLET_COOKIE), now=now)


def set_tablet_cookie(response: HttpResponseBase, tablet_users: list[services.TabletUser]) -> None:
    if not tablet_users:
        response.delete_cookie(TABLET_COOKIE, samesite="Lax")
        return
    response.set_cookie(
        TABLET_COOKIE,
        services.tablet_users_sign(tablet_users=tablet_users),
        max_age=int(services.TABLET_REMEMBER_FOR.total_seconds()),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def on_sign_in(sender, request: HttpRequest | None = None, user=None, **kwargs) -> None:
    if request is None or user is None:
        return
    services.session_unlock(session=request.session)
    request.tablet_signed_in = user


def on_sign_out(sender, request: HttpRequest | None = None, user=None, **kwargs) -> None:
    if request is not None and user is not None:
        request.tablet_signed_out = user


def _exempt_paths() -> tuple[str, ...]:
    return tuple(
        reverse(name)
        for name in (
            "staff:lock",
            "staff:unlock",
            "login",
            "logout",
            "healthz",
            # A locked tablet still updates its service worker and reads the manifest.
            "mar:service_worker",
            "mar:manifest",
        )
    )


class TabletLockMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if services.session_is_locked(session=request.session) and not self._is_exempt(request):
            return self._locked_response(request)
        response = self.get_response(request)
        self._update_tablet_cookie(request, response)
        return response

    def _is_exempt(self, request: HttpRequest) -> bool:
        path = request.path
        return path in _exempt_paths() or path.startswith(settings.STATIC_URL)

    def _locked_response(self, request: HttpRequest) -> HttpResponseBase:
        lock_url = reverse("staff:lock")
        if is_htmx(request):
            response: HttpResponseBase = HttpResponse(
                LOCKED_MESSAGE, status=403, content_type="text/plain; charset=utf-8"
            )
            response["HX-Trigger"] = "locked"
        elif wants_json(request):
            response = JsonResponse(
                {"locked": True, "detail": LOCKED_MESSAGE, "lock_url": lock_url}, status=403
            )
        else:
            response = redirect(f"{lock_url}?{urlencode({'next': self._next(request)})}")
        add_never_cache_headers(response)
        return response

    def _next(self, request: HttpRequest) -> str:
        """Where to go once unlocked: this page, or for a form sent while locked, its page."""
        if request.method in ("GET", "HEAD"):
            return request.get_full_path()
        referer = request.headers.get("Referer", "")
        if url_has_allowed_host_and_scheme(
            referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            parts = urlsplit(referer)
            return f"{parts.path}?{parts.query}" if parts.query else parts.path
        return reverse("home")

    def _update_tablet_cookie(self, request: HttpRequest, response: HttpResponseBase) -> None:
        signed_in = getattr(request, "tablet_signed_in", None)
        if getattr(request, "tablet_pin_switch", False):
            signed_in = None  # already on the tablet; a PIN must not stretch its 12 hours
        signed_out = getattr(request, "tablet_signed_out", None)
        if signed_in is None and signed_out is None:
            return
        now = timezone.now()
        tablet_users = tablet_users_from_request(request, now=now)
        if signed_out is not None:
            tablet_users = services.tablet_users_remove(tablet_users=tablet_users, user=signed_out)
        if signed_in is not None:
            tablet_users = services.tablet_users_add(
                tablet_users=tablet_users, user=signed_in, now=now
            )
        set_tablet_cookie(response, tablet_users)
