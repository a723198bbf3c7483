"""API tokens (django-rest-knox): one per sign-in, stored as a digest, ending on their own.

- ``POST /api/v1/auth/token/`` issues a new token for that device (``api_token_issue``);
  the token itself is shown once and never stored, only its SHA-512 digest.
- A token lives as long as the pages' idle limit (``SESSION_IDLE_MINUTES``), each use
  renewing it, and never past 12 hours after it was issued (``REST_KNOX`` in settings).
- It ends with ``POST /api/v1/auth/logout/`` (that token) or ``/logout-all/`` (every
  token of the person), when the person is deactivated (``user_deactivate``), and when
  their password changes: each token keeps a keyed digest of the password hash it was
  issued under (as Django's sessions do) and ``TokenAuthentication`` refuses it after.

Tokens are never listed or editable in the Django admin: nobody can read, make or move
one there, so an API call names the person who signed in for it.
"""

from __future__ import annotations

import datetime as dt
import hmac

from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.settings import knox_settings
from rest_framework import exceptions

from medtech.core.audit import audit_auth
from staff.models import ApiToken, User

_PASSWORD_SALT = "staff.tokens.password_check"  # noqa: S105 - a key salt, not a secret


def password_check(user: User) -> str:
    """A keyed digest of the user's password hash: changes whenever the password does."""
    return salted_hmac(_PASSWORD_SALT, user.password, algorithm="sha256").hexdigest()


def api_token_issue(
    *, user: User, now: dt.datetime, request: HttpRequest | None = None
) -> tuple[ApiToken, str]:
    """A new token for one device: (the stored row, the token to hand over once)."""
    # knox sweeps a person's expired tokens on every request; here, once per sign-in.
    ApiToken.objects.filter(user=user, expiry__lt=now).delete()
    token, key = ApiToken.objects.create(user=user, password_check=password_check(user))
    audit_auth(action="auth.api_token_issued", actor=user, request=request, now=now)
    return token, key


def api_token_revoke(
    *, token: ApiToken, now: dt.datetime, request: HttpRequest | None = None
) -> None:
    """End one token (the device signs out)."""
    user = token.user
    token.delete()
    audit_auth(action="auth.api_token_revoked", actor=user, request=request, now=now)


def api_tokens_revoke_all(
    *, user: User, now: dt.datetime, request: HttpRequest | None = None, reason: str = ""
) -> int:
    """End every token of ``user`` (signed out everywhere, or deactivated)."""
    ended = ApiToken.objects.filter(user=user).delete()[0]
    audit_auth(
        action="auth.api_tokens_revoked", actor=user, reason=reason, request=request, now=now
    )
    return ended


class TokenAuthentication(KnoxTokenAuthentication):
    """knox's check (digest, expiry, renewal on use, active user), plus: a token issued
    under an earlier password no longer opens anything."""

    def _cleanup_token(self, auth_token: ApiToken) -> bool:
        """Whether this token has expired (then it is deleted). knox would also sweep the
        person's other tokens here, one more query on every request; ``api_token_issue``
        sweeps them at sign-in instead."""
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False

    def validate_user(self, auth_token: ApiToken):
        user, token = super().validate_user(auth_token)
        if not hmac.compare_digest(token.password_check, password_check(user)):
            token.delete()
            raise exceptions.AuthenticationFailed(
                "The password changed since this token was issued. Sign in again."
            )
        return user, token


class TokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes ``Authorization: Token <token>``."""

    target_class = TokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=knox_settings.AUTH_HEADER_PREFIX
        )
