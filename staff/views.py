"""The shared tablet's pages: My PIN, the lock screen, lock and unlock.

URL contract (names in the ``staff`` namespace; see staff/middleware.py for what a
locked session gets elsewhere):

- ``GET  /tablet/lock/?next=<path>``  ``staff:lock``  the lock screen as a full page.
- ``POST /tablet/lock/`` (``next``)  locks the session now. Asked for JSON
  (``Accept: application/json``): 200 ``{"locked": true, "panel_html": ...}``, the lock
  panel with everyone remembered on this tablet; otherwise a redirect to the lock screen.
- ``POST /tablet/unlock/`` (``user``: public id, ``pin``, ``next``)  ``staff:unlock``.
  The same person as the session's: the lock is lifted, nothing else changes (no new
  session or CSRF token, so the page and what was typed on it stay usable). Another
  person: they are signed in (``django.contrib.auth.login``, a new session) and the page
  must be reloaded. JSON answers: 200 ``{"result": "unlocked" | "switched", "redirect":
  next}``; 400 (wrong PIN, no PIN, not listed) or 429 (that person's sign-in paused on
  this device after 5 failed ones, PINs and passwords alike: django-axes)
  ``{"error": <code>, "message": ...}``. Otherwise a redirect to ``next``, or the lock
  screen again with the message.
- ``GET/POST /me/pin/``  ``staff:pin``  set or change one's own PIN.
"""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from medtech.core.errors import http_status
from medtech.middleware import session_start
from medtech.security import paused_message
from staff import selectors, services
from staff.forms import PinForm, UnlockForm
from staff.middleware import tablet_users_from_request, wants_json

# The only authentication backend a PIN switch signs in through (explicit, so adding
# another backend later, e.g. django-axes, does not make login() ambiguous).
PIN_BACKEND = "django.contrib.auth.backends.ModelBackend"

_ERROR_CODES = {
    services.PinIncorrect: "pin_incorrect",
    services.PinNotSet: "pin_not_set",
    services.PinLockedOut: "pin_locked_out",
}


def _safe_next(request: HttpRequest, value: str | None) -> str:
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return reverse("home")


def _lock_context(
    request: HttpRequest,
    *,
    now: dt.datetime,
    next_url: str,
    error: str = "",
    chosen: uuid.UUID | None = None,
) -> dict:
    """Everyone who may unlock here: the tablet's people and the session's own user."""
    current = request.user if request.user.is_authenticated else None
    remembered = [t.public_id for t in tablet_users_from_request(request, now=now)]
    people = selectors.tablet_people(public_ids=remembered, current_user=current)
    if chosen is not None:
        selected = chosen
    elif current is not None:
        selected = current.public_id
    elif len(people) == 1:
        selected = people[0].public_id
    else:
        selected = None
    return {
        "people": people,
        "selected": selected,
        "next": next_url,
        "error": error,
        "screen_locked": True,
    }


class LoginView(auth_views.LoginView):
    """The password sign-in. A username paused after 5 failed sign-ins from this device
    (django-axes, see medtech.security) gets 429 and says for how long."""

    template_name = "registration/login.html"

    def form_invalid(self, form):
        if getattr(self.request, "axes_locked_out", False):
            message = paused_message(
                request=self.request, username=self.request.POST.get("username", "")
            )
            context = self.get_context_data(form=form, lockout_message=message)
            return self.render_to_response(context, status=429)
        return super().form_invalid(form)


@login_required
@require_http_methods(["GET", "POST"])
def pin_settings(request: HttpRequest) -> HttpResponse:
    form = PinForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_set_pin(
                user=request.user,
                pin=form.cleaned_data["pin"],
                pin_again=form.cleaned_data["pin_again"],
                password=form.cleaned_data["password"],
            )
        except services.CurrentPasswordIncorrect as error:
            form.add_error("password", str(error))
        except services.PinMismatch as error:
            form.add_error("pin_again", str(error))
        except services.PinInvalid as error:
            form.add_error("pin", str(error))
        else:
            messages.success(
                request, "Your PIN is saved. Use it to switch to yourself on the cart's tablet."
            )
            return redirect("home")
    return render(
        request,
        "staff/pin.html",
        {
            "form": form,
            "has_pin": bool(request.user.pin_hash),
            "needs_new_pin": request.user.pin_needs_renewal,
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
def lock(request: HttpRequest) -> HttpResponseBase:
    now = timezone.now()
    if request.method == "GET":
        context = _lock_context(
            request, now=now, next_url=_safe_next(request, request.GET.get("next"))
        )
        if not context["people"]:
            return redirect(f"{reverse('login')}?{urlencode({'next': context['next']})}")
        return render(request, "staff/lock.html", context)

    next_url = _safe_next(request, request.POST.get("next"))
    if not request.user.is_authenticated:
        if wants_json(request):
            return JsonResponse({"error": "signed_out", "login_url": reverse("login")}, status=401)
        return redirect(f"{reverse('login')}?{urlencode({'next': next_url})}")
    services.session_lock(session=request.session, now=now)
    if wants_json(request):
        context = _lock_context(request, now=now, next_url=next_url)
        panel = render_to_string("staff/lock.html#lock_panel", context, request=request)
        return JsonResponse({"locked": True, "panel_html": panel})
    return redirect(f"{reverse('staff:lock')}?{urlencode({'next': next_url})}")


@never_cache
@require_POST
def unlock(request: HttpRequest) -> HttpResponseBase:
    now = timezone.now()
    form = UnlockForm(request.POST)
    next_url = _safe_next(request, request.POST.get("next"))

    def refuse(code: str, message: str, status: int = 400) -> HttpResponseBase:
        if wants_json(request):
            return JsonResponse({"error": code, "message": message}, status=status)
        context = _lock_context(
            request, now=now, next_url=next_url, error=message, chosen=form.cleaned_data.get("user")
        )
        return render(request, "staff/lock.html", context, status=status)

    if not form.is_valid():
        first_error = next(iter(form.errors.values()))[0]
        return refuse("invalid", first_error)
    allowed = [t.public_id for t in tablet_users_from_request(request, now=now)]
    if request.user.is_authenticated:
        allowed.append(request.user.public_id)
    person = selectors.tablet_user_by_public_id(
        public_id=form.cleaned_data["user"], allowed=allowed
    )
    if person is None:
        return refuse(
            "not_listed",
            "That person has not signed in on this tablet in the last 12 hours. "
            "Sign in with password.",
        )
    try:
        services.user_pin_sign_in(
            request=request, user=person, pin=form.cleaned_data["pin"], now=now
        )
    except services.PinError as error:
        return refuse(_ERROR_CODES.get(type(error), "pin_refused"), str(error), http_status(error))

    if request.user.is_authenticated and request.user.pk == person.pk:
        services.session_unlock(session=request.session)
        result = "unlocked"
    else:
        request.tablet_pin_switch = True  # a PIN does not renew the tablet's 12 hours
        login(request, person, backend=PIN_BACKEND)
        # Nor the session's: its 12 hours count from the password sign-in on this tablet.
        signed_in_at = next(
            (
                t.signed_in_at
                for t in tablet_users_from_request(request, now=now)
                if t.public_id == person.public_id
            ),
            now,
        )
        session_start(session=request.session, now=now, started_at=signed_in_at)
        result = "switched"
    if wants_json(request):
        return JsonResponse({"result": result, "redirect": next_url})
    return redirect(next_url)
