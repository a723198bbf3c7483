"""Sign-in protection shared by the password page, the Django admin, the API token
endpoint and the tablet's PIN switch (all of them go through ``django.contrib.auth.authenticate``,
which django-axes watches).

- 5 failed sign-ins for one username from one address pause that pair for 15 minutes
  (``AXES_*`` in settings). Each page answers a paused sign-in itself with status 429 and
  a message a person can act on; ``lockout_response`` (axes' ``AXES_LOCKOUT_CALLABLE``)
  keeps that answer and covers any other sign-in form (the admin's).
- Failed sign-ins and lockouts go to the audit trail (``on_sign_in_failed``,
  ``on_locked_out``), never with the password or PIN that was typed.
"""

from __future__ import annotations

import datetime as dt
import logging
import math

from axes.models import AccessAttempt
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from medtech.core.audit import audit_auth

logger = logging.getLogger(__name__)

# Wording shared by every place that refuses a paused sign-in.
PAUSED = "Too many failed sign-ins"


def sign_in_paused_until(*, username: str, ip_address: str | None, now: dt.datetime):
    """When the pause of ``username`` at ``ip_address`` ends, or None if there is none."""
    if not username:
        return None
    attempts = list(
        AccessAttempt.objects.filter(
            username=username,
            ip_address=ip_address,
            attempt_time__gte=now - settings.AXES_COOLOFF_TIME,
        )
        .order_by("-attempt_time", "-id")
        .values_list("attempt_time", "failures_since_start")
    )
    if sum(failures for _, failures in attempts) < settings.AXES_FAILURE_LIMIT:
        return None
    return attempts[0][0] + settings.AXES_COOLOFF_TIME


def minutes_text(delta: dt.timedelta) -> str:
    minutes = max(1, math.ceil(delta.total_seconds() / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def paused_message(*, request: HttpRequest, username: str, who: str = "this username") -> str:
    now = timezone.now()
    until = sign_in_paused_until(
        username=username, ip_address=request.META.get("REMOTE_ADDR"), now=now
    )
    wait = minutes_text((until - now) if until else settings.AXES_COOLOFF_TIME)
    return (
        f"{PAUSED} for {who} on this device: signing in is paused for {wait}. "
        "Ask an administrator if it cannot wait."
    )


def wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    is_api = request.path.startswith(("/api/", "/fhir/"))
    return is_api or ("application/json" in accept and "text/html" not in accept)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials=None
) -> HttpResponse:
    """Axes' answer to a paused sign-in: the page's own answer when it gave one (429),
    else JSON for the API and scripts, or the sign-in page with the message."""
    if original_response is not None and original_response.status_code == 429:
        return original_response
    username = (credentials or {}).get("username") or ""
    message = paused_message(request=request, username=username)
    if wants_json(request):
        return JsonResponse({"detail": message}, status=429)
    context = {"lockout_message": message, "next": ""}
    return render(request, "registration/login.html", context, status=429)


# --- Audit receivers (connected in medtech.apps) -------------------------------------------


def on_sign_in_failed(sender, credentials: dict, request: HttpRequest | None = None, **kwargs):
    """A wrong password or PIN (Django cleanses the secret out of ``credentials``)."""
    if request is None or getattr(request, "axes_locked_out", False):
        return  # a paused sign-in: on_locked_out records it
    method = "pin" if "pin_secret" in credentials else "password"
    audit_auth(
        action=f"auth.{method}_failed",
        username=str(credentials.get("username") or ""),
        reason=f"Wrong {'PIN' if method == 'pin' else 'username or password'}.",
        request=request,
        now=timezone.now(),
    )


def on_locked_out(sender, request: HttpRequest | None = None, username=None, **kwargs):
    """A sign-in refused because the username is paused at this address (and the 5th
    failure, which starts the pause)."""
    audit_auth(
        action="auth.locked_out",
        username=str(username or ""),
        reason=(
            f"{settings.AXES_FAILURE_LIMIT} failed sign-ins for this username from this "
            f"address: paused for {minutes_text(settings.AXES_COOLOFF_TIME)}."
        ),
        request=request,
        now=timezone.now(),
    )


def on_signed_in(sender, request: HttpRequest | None = None, user=None, **kwargs):
    """A person signed in (password page, admin or tablet PIN switch)."""
    if user is not None:
        audit_auth(action="auth.signed_in", actor=user, request=request, now=timezone.now())


def on_signed_out(sender, request: HttpRequest | None = None, user=None, **kwargs):
    """A person signed out (or was signed out by the idle or 12-hour limit)."""
    if user is not None:
        audit_auth(action="auth.signed_out", actor=user, request=request, now=timezone.now())
