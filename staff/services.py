"""Writes about staff: the tablet quick-switch PIN, PIN attempts, the tablet's lock.

The med cart's tablet is shared. Each person signs in once with a password; after
that the tablet remembers them (a signed cookie, see ``tablet_users_*``) and they
switch to themselves with a 4- to 6-digit PIN, so every dose is charted by the
person who gave it. A session can be locked (after inactivity or by the Lock
button) and is unlocked with a PIN.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import secrets
import uuid
from dataclasses import dataclass
from itertools import pairwise

from argon2.low_level import Type, hash_secret_raw
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.sessions.backends.base import SessionBase
from django.core import signing
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from medtech import security
from medtech.core.audit import audit_write
from medtech.core.errors import Invalid
from staff.models import User
from staff.selectors import user_signing_refusal

PIN_PATTERN = re.compile(r"[0-9]{6,8}")
# What a person may type as a PIN (a signature tells a PIN from a password by it): the
# old 4- and 5-digit PINs too, so their owner hears that the PIN must be set again.
PIN_LIKE = re.compile(r"[0-9]{4,8}")

# Session key holding the ISO time the session was locked; absent when unlocked.
SESSION_LOCKED_AT = "tablet_locked_at"

# How long and how many people a tablet remembers for PIN switching.
TABLET_REMEMBER_FOR = dt.timedelta(hours=12)
TABLET_MAX_USERS = 8
_TABLET_SALT = "staff.tablet_users"


class PinError(Invalid):
    """A PIN could not be set or used. The message says what the person can do about it."""


class PinInvalid(PinError):
    pass


class PinMismatch(PinError):
    pass


class CurrentPasswordIncorrect(PinError):
    pass


class PinNotSet(PinError):
    pass


class PinNeedsRenewal(PinNotSet):
    """A PIN from before PINs needed 6 digits (and Argon2id verifiers): set it again."""


class PinIncorrect(PinError):
    pass


class PinLockedOut(PinError):
    status = 429  # too many wrong PINs: try again after ``locked_until``

    def __init__(self, message: str, *, locked_until: dt.datetime) -> None:
        super().__init__(message)
        self.locked_until = locked_until


def _name(user: User) -> str:
    return user.get_full_name() or user.username


# --- Setting and checking a PIN ------------------------------------------------------------


def pin_validate(*, pin: str) -> None:
    """Raise PinInvalid unless ``pin`` is 6 to 8 digits and not trivially guessable."""
    if not PIN_PATTERN.fullmatch(pin):
        raise PinInvalid("A PIN is 6 to 8 digits, numbers only.")
    if len(set(pin)) == 1:
        raise PinInvalid("A PIN can't be one digit repeated (like 1111). Choose another.")
    steps = {(int(b) - int(a)) % 10 for a, b in pairwise(pin)}
    if steps in ({1}, {9}):
        raise PinInvalid("A PIN can't be a run of digits (like 123456 or 654321). Choose another.")


def pin_renewal_message(user: User) -> str:
    return (
        f"{_name(user)}'s PIN is from before PINs needed 6 digits and no longer works. "
        "Sign in with password, then set a new PIN on the My PIN page."
    )


def _require_current_pin(user: User) -> None:
    """PinNotSet or PinNeedsRenewal unless the user has a PIN that may be used."""
    if not user.pin_hash:
        raise PinNotSet(
            f"{_name(user)} has no PIN yet. Sign in with password, then set a PIN on the "
            "My PIN page."
        )
    if user.pin_needs_renewal:
        raise PinNeedsRenewal(pin_renewal_message(user))


# Argon2id cost of the offline PIN verifier (RFC 9106's second recommended option, one
# lane: what a tablet's browser computes in about half a second). A copied verifier costs
# about 0.4 core-seconds and 64 MiB of memory per guess: the 10**6 PINs of 6 digits, some
# 120 core-hours for one person's PIN, and memory-hard against GPUs. The settings
# PIN_OFFLINE_ITERATIONS / PIN_OFFLINE_MEMORY_KIB may change it (smaller in tests).
PIN_OFFLINE_ITERATIONS = 3
PIN_OFFLINE_MEMORY_KIB = 64 * 1024


@dataclass(frozen=True)
class PinOffline:
    salt: str
    iterations: int
    memory_kib: int
    verifier: str  # hex; the tablet compares what it derives from a typed PIN with this
    key: str  # hex; server only: HMAC key for doses charted offline under this PIN


def pin_offline_derive(
    *, pin: str, salt: str, iterations: int = 0, memory_kib: int = 0
) -> PinOffline:
    """What the tablet derives from a PIN too (static/js/offline/pin.js, hash-wasm's Argon2id):
    T = Argon2id(pin, salt, iterations, memory, 1 lane, 32 bytes); verifier =
    SHA-256("verify:" + T); key = SHA-256("sign:" + T). Neither can be computed from the
    other without the PIN."""
    iterations = iterations or getattr(settings, "PIN_OFFLINE_ITERATIONS", PIN_OFFLINE_ITERATIONS)
    memory_kib = memory_kib or getattr(settings, "PIN_OFFLINE_MEMORY_KIB", PIN_OFFLINE_MEMORY_KIB)
    stretched = hash_secret_raw(
        pin.encode(),
        salt.encode(),
        time_cost=iterations,
        memory_cost=memory_kib,
        parallelism=1,
        hash_len=32,
        type=Type.ID,
    )
    return PinOffline(
        salt=salt,
        iterations=iterations,
        memory_kib=memory_kib,
        verifier=hashlib.sha256(b"verify:" + stretched).hexdigest(),
        key=hashlib.sha256(b"sign:" + stretched).hexdigest(),
    )


@transaction.atomic
def user_set_pin(
    *,
    user: User,
    pin: str,
    password: str,
    pin_again: str | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Set or change the user's tablet PIN. Their current password proves it is them.

    Only a hash of the PIN is stored (Django's password hasher), never the PIN. The change
    is audited (without any PIN material) at ``now``; callers that predate the audit trail
    do not pass it, and get the clock's time.
    """
    # hashers.check_password, not user.check_password: no rehash of the password here.
    if not check_password(password, user.password):
        raise CurrentPasswordIncorrect(
            "That is not your current password. Type the password you sign in with."
        )
    pin_validate(pin=pin)
    if pin_again is not None and pin_again != pin:
        raise PinMismatch("The two PINs are different. Type the same PIN twice.")
    user.pin_hash = make_password(pin)
    offline = pin_offline_derive(pin=pin, salt=secrets.token_hex(16))
    user.pin_offline_salt = offline.salt
    user.pin_offline_iterations = offline.iterations
    user.pin_offline_memory_kib = offline.memory_kib
    user.pin_offline_verifier = offline.verifier
    user.pin_offline_key = offline.key
    user.save(
        update_fields=[
            "pin_hash",
            "pin_offline_salt",
            "pin_offline_iterations",
            "pin_offline_memory_kib",
            "pin_offline_verifier",
            "pin_offline_key",
        ]
    )
    audit_write(actor=user, action="user.pin_set", target=user, now=now or timezone.now())
    pin_attempts.reset(user=user)


def user_check_pin(*, user: User, pin: str) -> bool:
    """Whether ``pin`` is the user's PIN. A user without a PIN, or with one to set again,
    never matches."""
    if not user.pin_hash or user.pin_needs_renewal or not PIN_PATTERN.fullmatch(pin):
        return False
    return check_password(pin, user.pin_hash)


class PinAttempts:
    """Wrong PINs and passwords typed as a signature (a witness, a count; see
    ``user_signature_verify``), per user, in the cache (Redis): 5 within 15 minutes pause
    that user's signing for 15 minutes.

    Signing in (the password page, the API token, the lock screen's PIN switch) is
    counted by django-axes instead, per username and address (``user_pin_sign_in``):
    a signature inside a service has no request, hence no address. Stored times come
    from the caller's ``now``; cache expiry only cleans up.
    """

    max_failures = 5
    window = dt.timedelta(minutes=15)
    lockout = dt.timedelta(minutes=15)

    def _failures_key(self, user: User) -> str:
        return f"staff:pin-failures:{user.public_id}"

    def _lockout_key(self, user: User) -> str:
        return f"staff:pin-lockout:{user.public_id}"

    def locked_until(self, *, user: User, now: dt.datetime) -> dt.datetime | None:
        stamp = cache.get(self._lockout_key(user))
        if stamp is None:
            return None
        until = dt.datetime.fromtimestamp(stamp, tz=dt.UTC)
        return until if until > now else None

    def record_failure(self, *, user: User, now: dt.datetime) -> int:
        """Note a wrong PIN; return how many tries are left before the pause (0: paused)."""
        since = (now - self.window).timestamp()
        failures = [t for t in cache.get(self._failures_key(user), []) if t > since]
        failures.append(now.timestamp())
        if len(failures) >= self.max_failures:
            until = now + self.lockout
            cache.set(self._lockout_key(user), until.timestamp(), int(self.lockout.total_seconds()))
            cache.delete(self._failures_key(user))
            return 0
        cache.set(self._failures_key(user), failures, int(self.window.total_seconds()))
        return self.max_failures - len(failures)

    def reset(self, *, user: User) -> None:
        cache.delete_many([self._failures_key(user), self._lockout_key(user)])


pin_attempts = PinAttempts()


def _minutes(delta: dt.timedelta) -> str:
    minutes = max(1, math.ceil(delta.total_seconds() / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def user_pin_verify(*, user: User, pin: str, now: dt.datetime) -> None:
    """Check a PIN typed on the tablet, counting wrong ones. Raises a PinError if refused."""
    name = _name(user)
    _require_current_pin(user)
    if locked_until := pin_attempts.locked_until(user=user, now=now):
        raise PinLockedOut(
            f"Too many wrong PINs for {name}. PIN sign-in for them is paused for "
            f"{_minutes(locked_until - now)}. Sign in with password instead.",
            locked_until=locked_until,
        )
    if user_check_pin(user=user, pin=pin):
        pin_attempts.reset(user=user)
        return
    tries_left = pin_attempts.record_failure(user=user, now=now)
    if tries_left == 0:
        raise PinLockedOut(
            f"Wrong PIN {pin_attempts.max_failures} times for {name}. PIN sign-in for them is "
            f"paused for {_minutes(pin_attempts.lockout)}. Sign in with password instead.",
            locked_until=now + pin_attempts.lockout,
        )
    tries = "try" if tries_left == 1 else "tries"
    raise PinIncorrect(
        f"Wrong PIN for {name}. {tries_left} more {tries}, then PIN sign-in for them "
        f"pauses for {_minutes(pin_attempts.lockout)}."
    )


class SigningNotAllowed(PinError):
    """A shared or generic account, or a deactivated one: it never signs."""


def user_signature_verify(*, user: User, secret: str, now: dt.datetime) -> None:
    """A signature (a witness, a count): ``secret`` is ``user``'s PIN or password.

    Shared and generic accounts never sign (``staff.selectors.user_signing_refusal``).
    Wrong PINs and wrong passwords count towards the same 15-minute pause.
    """
    if refusal := user_signing_refusal(user=user):
        raise SigningNotAllowed(refusal)
    if PIN_LIKE.fullmatch(secret):
        user_pin_verify(user=user, pin=secret, now=now)
        return
    name = _name(user)
    if locked_until := pin_attempts.locked_until(user=user, now=now):
        raise PinLockedOut(
            f"Too many wrong PINs or passwords for {name}: signing for them is paused for "
            f"{_minutes(locked_until - now)}.",
            locked_until=locked_until,
        )
    if check_password(secret, user.password):
        pin_attempts.reset(user=user)
        return
    if pin_attempts.record_failure(user=user, now=now) == 0:
        raise PinLockedOut(
            f"Too many wrong PINs or passwords for {name}: signing for them is paused for "
            f"{_minutes(pin_attempts.lockout)}.",
            locked_until=now + pin_attempts.lockout,
        )
    raise PinIncorrect(f"That is not {name}'s password. {name} types their own PIN or password.")


def user_pin_sign_in(*, request: HttpRequest, user: User, pin: str, now: dt.datetime) -> None:
    """The lock screen's PIN switch: check ``pin`` as a sign-in of ``user`` from this
    request's device. Raises a PinError if refused.

    It goes through ``authenticate`` (``staff.backends.PinBackend``), so django-axes counts
    a wrong PIN like a wrong password: 5 for one username from one address pause every
    sign-in of that username there for 15 minutes. The PIN is neither stored nor logged.
    """
    name = _name(user)
    _require_current_pin(user)
    signed_in = authenticate(request, username=user.get_username(), pin_secret=pin)
    if signed_in is not None and signed_in.pk == user.pk:
        # A right PIN clears the wrong ones (a PIN switch's login() does it too).
        axes_reset(ip=request.META.get("REMOTE_ADDR"), username=user.get_username())
        return
    if getattr(request, "axes_locked_out", False):
        until = security.sign_in_paused_until(
            username=user.get_username(), ip_address=request.META.get("REMOTE_ADDR"), now=now
        )
        raise PinLockedOut(
            security.paused_message(request=request, username=user.get_username(), who=name),
            locked_until=until or now + settings.AXES_COOLOFF_TIME,
        )
    failures = getattr(request, "axes_failures_since_start", None) or 0
    tries_left = max(settings.AXES_FAILURE_LIMIT - failures, 1)
    tries = "try" if tries_left == 1 else "tries"
    raise PinIncorrect(
        f"Wrong PIN for {name}. {tries_left} more {tries}, then signing in as them on this "
        f"device pauses for {security.minutes_text(settings.AXES_COOLOFF_TIME)}."
    )


# --- The session's lock --------------------------------------------------------------------


def session_lock(*, session: SessionBase, now: dt.datetime) -> None:
    """Lock the session: until unlocked with a PIN it reaches only the lock screen."""
    session.setdefault(SESSION_LOCKED_AT, now.isoformat())


def session_unlock(*, session: SessionBase) -> None:
    session.pop(SESSION_LOCKED_AT, None)


def session_is_locked(*, session: SessionBase) -> bool:
    return SESSION_LOCKED_AT in session


# --- Who has signed in on this tablet (a signed cookie) ------------------------------------


@dataclass(frozen=True)
class TabletUser:
    """Someone who signed in on this browser, by public id (never the integer key)."""

    public_id: uuid.UUID
    signed_in_at: dt.datetime


def tablet_users_add(
    *, tablet_users: list[TabletUser], user: User, now: dt.datetime
) -> list[TabletUser]:
    """The tablet's list with ``user`` (re)added as the latest sign-in, newest first."""
    others = [t for t in tablet_users if t.public_id != user.public_id]
    return [TabletUser(public_id=user.public_id, signed_in_at=now), *others][:TABLET_MAX_USERS]


def tablet_users_remove(*, tablet_users: list[TabletUser], user: User) -> list[TabletUser]:
    return [t for t in tablet_users if t.public_id != user.public_id]


def tablet_users_sign(*, tablet_users: list[TabletUser]) -> str:
    """The cookie value: public ids and sign-in times, signed with the SECRET_KEY."""
    payload = [[str(t.public_id), int(t.signed_in_at.timestamp())] for t in tablet_users]
    return signing.dumps(payload, salt=_TABLET_SALT, compress=True)


def tablet_users_unsign(*, value: str | None, now: dt.datetime) -> list[TabletUser]:
    """The list in a cookie value, without entries older than 12 hours. Tampered: empty."""
    if not value:
        return []
    try:
        payload = signing.loads(
            value, salt=_TABLET_SALT, max_age=TABLET_REMEMBER_FOR.total_seconds()
        )
        tablet_users = [
            TabletUser(
                public_id=uuid.UUID(public_id),
                signed_in_at=dt.datetime.fromtimestamp(stamp, tz=dt.UTC),
            )
            for public_id, stamp in payload
        ]
    except (signing.BadSignature, TypeError, ValueError):
        return []
    oldest = now - TABLET_REMEMBER_FOR
    return [t for t in tablet_users if t.signed_in_at > oldest][:TABLET_MAX_USERS]
