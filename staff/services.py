"""Writes about staff: the tablet quick-switch PIN, PIN attempts, the tablet's lock.

The med cart's tablet is shared. Each person signs in once with a password; after
that the tablet remembers them (a signed cookie, see ``tablet_users_*``) and they
switch to themselves with a 4- to 6-digit PIN, so every dose is charted by the
person who gave it. A session can be locked (after inactivity or by the Lock
button) and is unlocked with a PIN.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from dataclasses import dataclass
from itertools import pairwise

from django.contrib.auth.hashers import check_password, make_password
from django.contrib.sessions.backends.base import SessionBase
from django.core import signing
from django.core.cache import cache

from staff.models import User

PIN_PATTERN = re.compile(r"[0-9]{4,6}")

# Session key holding the ISO time the session was locked; absent when unlocked.
SESSION_LOCKED_AT = "tablet_locked_at"

# How long and how many people a tablet remembers for PIN switching.
TABLET_REMEMBER_FOR = dt.timedelta(hours=12)
TABLET_MAX_USERS = 8
_TABLET_SALT = "staff.tablet_users"


class PinError(Exception):
    """A PIN could not be set or used. The message says what the person can do about it."""


class PinInvalid(PinError):
    pass


class PinMismatch(PinError):
    pass


class CurrentPasswordIncorrect(PinError):
    pass


class PinNotSet(PinError):
    pass


class PinIncorrect(PinError):
    pass


class PinLockedOut(PinError):
    def __init__(self, message: str, *, locked_until: dt.datetime) -> None:
        super().__init__(message)
        self.locked_until = locked_until


def _name(user: User) -> str:
    return user.get_full_name() or user.username


# --- Setting and checking a PIN ------------------------------------------------------------


def pin_validate(*, pin: str) -> None:
    """Raise PinInvalid unless ``pin`` is 4 to 6 digits and not trivially guessable."""
    if not PIN_PATTERN.fullmatch(pin):
        raise PinInvalid("A PIN is 4 to 6 digits, numbers only.")
    if len(set(pin)) == 1:
        raise PinInvalid("A PIN can't be one digit repeated (like 1111). Choose another.")
    steps = {(int(b) - int(a)) % 10 for a, b in pairwise(pin)}
    if steps in ({1}, {9}):
        raise PinInvalid("A PIN can't be a run of digits (like 1234 or 4321). Choose another.")


def user_set_pin(*, user: User, pin: str, password: str, pin_again: str | None = None) -> None:
    """Set or change the user's tablet PIN. Their current password proves it is them.

    Only a hash of the PIN is stored (Django's password hasher), never the PIN.
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
    user.save(update_fields=["pin_hash"])
    pin_attempts.reset(user=user)


def user_check_pin(*, user: User, pin: str) -> bool:
    """Whether ``pin`` is the user's PIN. A user without a PIN never matches."""
    if not user.pin_hash or not PIN_PATTERN.fullmatch(pin):
        return False
    return check_password(pin, user.pin_hash)


class PinAttempts:
    """Wrong PINs per user, in the cache (Redis): 5 within 15 minutes pause PIN sign-in
    for that user for 15 minutes. Password sign-in is not affected.

    Stored times come from the caller's ``now``; cache expiry only cleans up. A later
    change may put django-axes here: callers use only ``locked_until``,
    ``record_failure`` and ``reset``.
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
    if not user.pin_hash:
        raise PinNotSet(
            f"{name} has no PIN yet. Sign in with password, then set a PIN on the My PIN page."
        )
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
