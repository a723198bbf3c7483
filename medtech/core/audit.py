"""Writing to the audit trail (services) and searching it (selectors).

Every service that changes a record calls ``audit_write`` inside its own
transaction, so the audit row and the change commit or roll back together. Views
that show a resident's record call ``audit_read``. Sign-in events use
``audit_auth``. Pass ``request`` from the edge when there is one: the IP address
and device come from it; tasks and commands pass none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import QuerySet
from django.db.models.fields.files import FieldFile
from django.forms.models import model_to_dict
from django.http import HttpRequest

from medtech.core.scope import memberships

DEVICE_MAX = 200
# The kinds of AuditEvent (medtech.models.AuditEvent.Kind), by value: the core looks the
# model up by name, as it does every model, so that the project's models may import it.
READ, WRITE, AUTH = "read", "write", "auth"


def _events() -> models.Manager:
    return apps.get_model("medtech", "AuditEvent").objects


def request_origin(request: HttpRequest | None) -> tuple[str | None, str]:
    """The client's IP address and user agent (``REMOTE_ADDR``: set a trusted proxy's
    forwarded address into it at the edge, never trust a header here)."""
    if request is None:
        return None, ""
    ip = request.META.get("REMOTE_ADDR") or None
    device = (request.META.get("HTTP_USER_AGENT") or "")[:DEVICE_MAX]
    return ip, device


def snapshot(instance: models.Model, *, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The stored values of a record, for ``before`` and ``after``."""
    values = model_to_dict(instance, fields=list(fields) if fields is not None else None)
    # Files and images: keep the stored name, not the file object. (Only files: a choices
    # enum has a ``name`` too, its member name, which is not the stored value.)
    return {
        key: value.name if isinstance(value, FieldFile) else value for key, value in values.items()
    }


def changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    """Only the keys whose value changed, from both sides."""
    keys = [key for key in after.keys() | before.keys() if before.get(key) != after.get(key)]
    return {k: before.get(k) for k in sorted(keys)}, {k: after.get(k) for k in sorted(keys)}


def _actor_fields(actor: Any) -> dict[str, Any]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return {"actor": None, "actor_username": getattr(actor, "username", "") or ""}
    return {"actor": actor, "actor_username": actor.get_username()}


def _target_fields(target: models.Model | None) -> dict[str, str]:
    if target is None:
        return {"target_type": "", "target_id": ""}
    return {"target_type": target._meta.label_lower, "target_id": str(target.pk)}


def _scope(
    *, target: models.Model | None, resident: Any, facility: Any
) -> tuple[int | None, int | None]:
    """Resident and facility ids, taken from the target when not given."""
    resident_id = getattr(resident, "pk", resident)
    if resident_id is None and target is not None:
        is_resident = target._meta.label_lower == "residents.resident"
        resident_id = target.pk if is_resident else getattr(target, "resident_id", None)
    facility_id = getattr(facility, "pk", facility)
    if facility_id is None and resident is not None and hasattr(resident, "facility_id"):
        facility_id = resident.facility_id
    if facility_id is None and target is not None:
        facility_id = getattr(target, "facility_id", None)
    return resident_id, facility_id


def audit_write(
    *,
    actor: Any,
    action: str,
    now: dt.datetime,
    target: models.Model | None = None,
    resident: Any = None,
    facility: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    request: HttpRequest | None = None,
    kind: str = WRITE,
) -> models.Model:
    """Record a change: who, what (``action`` on ``target``), old and new values, why."""
    resident_id, facility_id = _scope(target=target, resident=resident, facility=facility)
    ip, device = request_origin(request)
    return _events().create(
        occurred_at=now,
        kind=kind,
        action=action,
        **_actor_fields(actor),
        **_target_fields(target),
        resident_id=resident_id,
        facility_id=facility_id,
        before=before,
        after=after,
        reason=reason,
        view=_view_name(request),
        ip_address=ip,
        device=device,
    )


def audit_read(
    *,
    actor: Any,
    resident: Any,
    view: str,
    now: dt.datetime,
    request: HttpRequest | None = None,
) -> models.Model:
    """Record that ``actor`` looked at ``resident``'s record on ``view``."""
    event = _read_event(actor=actor, resident=resident, view=view, now=now, request=request)
    event.save(force_insert=True)
    return event


def _read_event(*, actor: Any, resident: Any, view: str, now: dt.datetime, request) -> models.Model:
    """The unsaved audit row of one read of a resident's record."""
    resident_id, facility_id = _scope(target=None, resident=resident, facility=None)
    ip, device = request_origin(request)
    return apps.get_model("medtech", "AuditEvent")(
        occurred_at=now,
        kind=READ,
        action="resident.read",
        **_actor_fields(actor),
        target_type="residents.resident",
        target_id=str(resident_id),
        resident_id=resident_id,
        facility_id=facility_id,
        view=view,
        ip_address=ip,
        device=device,
    )


def audit_read_many(
    *,
    actor: Any,
    residents: Iterable[Any],
    view: str,
    now: dt.datetime,
    request: HttpRequest | None = None,
) -> None:
    """``audit_read`` for every resident a page shows at once (a cart's board): the same
    rows, written in one query."""
    rows = [
        _read_event(actor=actor, resident=resident, view=view, now=now, request=request)
        for resident in residents
    ]
    if rows:
        _events().bulk_create(rows)


def audit_auth(
    *,
    action: str,
    now: dt.datetime,
    actor: Any = None,
    username: str = "",
    reason: str = "",
    request: HttpRequest | None = None,
) -> models.Model:
    """Record a sign-in event (signed in, failed, locked out, PIN switch, signed out)."""
    ip, device = request_origin(request)
    fields = _actor_fields(actor)
    if username and not fields["actor_username"]:
        fields["actor_username"] = username[:150]
    return _events().create(
        occurred_at=now,
        kind=AUTH,
        action=action,
        **fields,
        reason=reason,
        view=_view_name(request),
        ip_address=ip,
        device=device,
    )


def _view_name(request: HttpRequest | None) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return getattr(request, "path", "")[:120] if request is not None else ""
    return (match.view_name or request.path)[:120]


def audit_events_search(
    *,
    actor_id: int | None = None,
    resident_id: int | None = None,
    facility_ids: Iterable[int] | None = None,
    kind: str | None = None,
    occurred_from: dt.datetime | None = None,
    occurred_until: dt.datetime | None = None,
) -> QuerySet:
    """Audit events, newest first, narrowed by whatever is given."""
    events = _events().select_related("actor", "resident", "facility")
    if facility_ids is not None:
        # Events tied to no facility (sign-ins, PINs, notifications) belong to the people
        # of those facilities; another community's sign-ins stay out of sight.
        facility_ids = list(facility_ids)
        members = memberships().filter(
            user_id=models.OuterRef("actor_id"), facility_id__in=facility_ids
        )
        events = events.filter(
            models.Q(facility_id__in=facility_ids)
            | models.Q(facility__isnull=True) & models.Exists(members)
        )
    if actor_id is not None:
        events = events.filter(actor_id=actor_id)
    if resident_id is not None:
        events = events.filter(resident_id=resident_id)
    if kind:
        events = events.filter(kind=kind)
    if occurred_from is not None:
        events = events.filter(occurred_at__gte=occurred_from)
    if occurred_until is not None:
        events = events.filter(occurred_at__lt=occurred_until)
    return events.order_by("-occurred_at", "-id")
