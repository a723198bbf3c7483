import contextlib
import datetime as dt
import ipaddress
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_vary_headers


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's, except that a request whose session cookie names a session that no
    longer exists leaves the browser's cookie alone.

    Django deletes the cookie whenever the session ends the request empty. That is right
    after a sign-out in this request, but wrong for a request that was already on its way
    with the old cookie while another request replaced the session: on a shared tablet a
    PIN switch signs the next person in (new session, new cookie) while the lock request
    or a poll is still in flight with the previous person's cookie; its answer would then
    delete the new person's cookie and sign the tablet out under them.
    """

    def process_response(self, request, response):
        session = getattr(request, "session", None)
        stale = (
            session is not None
            and settings.SESSION_COOKIE_NAME in request.COOKIES
            and not session.modified
            and session.is_empty()
        )
        if not stale:
            return super().process_response(request, response)
        if session.accessed:
            patch_vary_headers(response, ("Cookie",))
        return response


class ClientAddressMiddleware:
    """Behind ``TRUSTED_PROXY_COUNT`` reverse proxies, put the client's address (the one
    the outermost trusted proxy appended to X-Forwarded-For) into ``REMOTE_ADDR``, so the
    sign-in lockout and the audit trail see the person's address, not the proxy's. With
    no trusted proxy the header is ignored: anyone can send it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        count = settings.TRUSTED_PROXY_COUNT
        if count > 0:
            forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
            hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
            if len(hops) >= count:
                with contextlib.suppress(ValueError):  # not an address: keep REMOTE_ADDR
                    request.META["REMOTE_ADDR"] = str(ipaddress.ip_address(hops[-count]))
        return self.get_response(request)


class NoStoreMiddleware:
    """Nothing shown to a signed-in person (a resident's record, the MAR, the API's JSON,
    a PDF) is kept by the browser's cache or a proxy: ``Cache-Control: no-store``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        signed_in = request.user.is_authenticated
        response = self.get_response(request)
        if signed_in or request.user.is_authenticated:
            add_never_cache_headers(response)
        return response


# --- Automatic logoff ---------------------------------------------------------------------

SESSION_STARTED_AT = "auth_started_at"  # epoch seconds of the sign-in
SESSION_ACTIVE_AT = "auth_active_at"  # epoch seconds of the person's last request
# Requests the page sends by itself (polls, the automatic lock) carry this header and do
# not count as activity (templates/mar/notifications.html, templates/print/job.html,
# static/js/tablet.js).
BACKGROUND_HEADER = "X-Background-Request"
# The last activity is written at most this often (one session write, not one per request);
# a session may so be signed out up to this much before 10 full idle minutes, never after.
ACTIVITY_RESOLUTION = dt.timedelta(seconds=15)
IDLE_MESSAGE = "You were signed out after {minutes} minutes without activity. Sign in again."
ABSOLUTE_MESSAGE = "You were signed out {hours} hours after signing in. Sign in again."


def session_start(*, session, now: dt.datetime, started_at: dt.datetime | None = None) -> None:
    """A sign-in: the 12 hours count from ``started_at`` (default now), idleness from now."""
    session[SESSION_STARTED_AT] = int((started_at or now).timestamp())
    session[SESSION_ACTIVE_AT] = int(now.timestamp())


def session_expiry(*, session, now: dt.datetime) -> str | None:
    """Why the session must end now ("idle" or "absolute"), or None while it is good."""
    started = session.get(SESSION_STARTED_AT)
    active = session.get(SESSION_ACTIVE_AT)
    stamp = now.timestamp()
    absolute, idle = settings.SESSION_ABSOLUTE_TIMEOUT, settings.SESSION_IDLE_TIMEOUT
    if absolute and started is not None and stamp - started >= absolute.total_seconds():
        return "absolute"
    if idle and active is not None and stamp - active >= idle.total_seconds():
        return "idle"
    return None


def on_sign_in(sender, request=None, user=None, **kwargs) -> None:
    """user_logged_in: every sign-in (password, PIN switch, the admin) starts the clocks."""
    if request is not None and hasattr(request, "session"):
        session_start(session=request.session, now=timezone.now())


def is_background(request) -> bool:
    return request.headers.get(BACKGROUND_HEADER) == "1"


class SessionTimeoutMiddleware:
    """Sign a session out 10 minutes after the person's last request (``SESSION_IDLE_TIMEOUT``)
    and 12 hours after sign-in (``SESSION_ABSOLUTE_TIMEOUT``).

    After an idle logoff the person stays remembered on the tablet, so their PIN brings
    them back (the lock screen for a page, the lock overlay for an htmx request, which
    answers 403 with ``HX-Trigger: locked`` like a locked session). After 12 hours they
    sign in with their password again.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = timezone.now()
            session = request.session
            if SESSION_STARTED_AT not in session:
                session_start(session=session, now=now)  # a session from before this rule
            expired = session_expiry(session=session, now=now)
            if expired is not None:
                if answer := self._sign_out(request, expired):
                    return answer
            elif not is_background(request):
                active = session.get(SESSION_ACTIVE_AT, 0)
                if now.timestamp() - active >= ACTIVITY_RESOLUTION.total_seconds():
                    session[SESSION_ACTIVE_AT] = int(now.timestamp())
        return self.get_response(request)

    def _sign_out(self, request, expired: str):
        logout(request)
        if expired == "idle":
            # Still on the tablet: staff.middleware takes a signed-out person off it.
            request.tablet_signed_out = None
            text = IDLE_MESSAGE.format(
                minutes=int(settings.SESSION_IDLE_TIMEOUT.total_seconds() // 60)
            )
        else:
            text = ABSOLUTE_MESSAGE.format(
                hours=int(settings.SESSION_ABSOLUTE_TIMEOUT.total_seconds() // 3600)
            )
        if request.headers.get("HX-Request") == "true":
            response = HttpResponse(text, status=403, content_type="text/plain; charset=utf-8")
            if expired == "idle":
                response["HX-Trigger"] = "locked"
            else:
                response["HX-Redirect"] = reverse("login")
            return response
        accept = request.headers.get("Accept", "")
        if "application/json" in accept and "text/html" not in accept:
            return None  # the view answers a signed-out request (401/403 JSON)
        messages.info(request, text)
        if expired == "idle" and request.method in ("GET", "HEAD"):
            lock_url = reverse("staff:lock")
            return redirect(f"{lock_url}?{urlencode({'next': request.get_full_path()})}")
        return None
