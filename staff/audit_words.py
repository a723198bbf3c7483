"""The audit trail in words: who did what to whom, in the community's time.

An ``AuditEvent`` keeps codes (``auth.signed_in``, ``residents.resident 16``,
``mar:resident_month_pdf``, ``late_limit_minutes``); the audit search shows each as a
sentence a person reads: "Signed in", "Read the record of Whitfield, Mary", "Printed the
monthly MAR", "Late limit minutes", "Fri Nov 20, 2026 07:30 CST". The codes stay in the
row (and in the export) for anyone who needs them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist

# What each action says, as a person would write it.
ACTION_WORDS = {
    "auth.signed_in": "Signed in",
    "auth.signed_out": "Signed out",
    "auth.failed": "Failed to sign in",
    "auth.locked_out": "Locked out after failed sign-ins",
    "auth.api_token_issued": "Was issued an API token",
    "auth.api_token_revoked": "Revoked an API token",
    "auth.api_tokens_revoked": "Revoked all API tokens",
    "administration.record": "Charted a dose",
    "administration.amend": "Amended a charted dose",
    "administration.error": "Marked a dose entered in error",
    "administration.effectiveness": "Recorded a PRN dose's effect",
    "cart.create": "Created a cart",
    "certification.add": "Added a certification",
    "concern.report": "Reported a concern",
    "concern.acknowledge": "Acknowledged a concern",
    "count.start": "Started a controlled count",
    "count.sign": "Signed a controlled count",
    "count.resolve": "Resolved a count discrepancy",
    "count.cancel": "Cancelled a controlled count",
    "dose.override": "Overrode a charting rule",
    "dose.override_asked": "Asked a nurse for an override",
    "exception.acknowledge": "Reviewed an exception",
    "facility.update": "Changed the community's settings",
    "followup.open": "Opened a follow-up",
    "followup.complete": "Completed a follow-up",
    "followup.raise_overdue": "Raised an overdue follow-up",
    "medication.create": "Added a medication to the catalog",
    "notification.read": "Read a notification",
    "notification.read_all": "Read all notifications",
    "order.create": "Entered an order",
    "order.verify": "Verified an order",
    "order.acknowledge": "Answered an order warning",
    "order.allergy_conflict": "Flagged an order against a new allergy",
    "order.allergy_review": "Reviewed an order's allergy",
    "reorder.request": "Requested a reorder",
    "reorder.received": "Received a reorder",
    "resident.admit": "Admitted a resident",
    "resident.read": "Read the record",
    "resident.update": "Changed the resident's details",
    "resident.allergy_add": "Added an allergy",
    "resident.discharged": "Discharged a resident",
    "resident.leave": "Recorded a leave",
    "resident.return": "Recorded a return",
    "resident.move": "Moved a resident",
    "room.update": "Changed a room",
    "unit.create": "Created a unit",
    "user.create": "Added a staff member",
    "user.deactivate": "Deactivated a staff member",
    "user.pin_set": "Set a tablet PIN",
}

# Pages by their URL name, where "where" is a page a person knows.
VIEW_WORDS = {
    "nurse:resident_record": "the resident's record",
    "mar:pass_resident": "the med pass",
    "mar:resident_month_pdf": "the printed monthly MAR",
    "printing:resident_month_pdf": "the printed monthly MAR",
    "login": "the sign-in page",
}


def _sentence(code: str) -> str:
    words = code.replace(".", " ").replace(":", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def action_words(action: str) -> str:
    """ "auth.signed_in" -> "Signed in"; an action not listed reads as its words."""
    return ACTION_WORDS.get(action) or _sentence(action)


def view_words(view: str) -> str:
    """ "mar:resident_month_pdf" -> "the printed monthly MAR"; else the name in words."""
    if not view:
        return ""
    return VIEW_WORDS.get(view) or _sentence(view.split(":")[-1]).lower()


def _model(target_type: str) -> Any:
    try:
        return apps.get_model(target_type)
    except (LookupError, ValueError):
        return None


def target_words(target_type: str) -> str:
    """ "residents.resident" -> "resident", "mar.administration" -> "administration"."""
    model = _model(target_type)
    return str(model._meta.verbose_name) if model else _sentence(target_type).lower()


def field_words(target_type: str, name: str) -> str:
    """A changed field by its label: "late_limit_minutes" -> "Late limit minutes"."""
    model = _model(target_type)
    if model is not None:
        try:
            label = str(model._meta.get_field(name).verbose_name)
            return label[:1].upper() + label[1:]
        except FieldDoesNotExist:
            pass
    return _sentence(name)


def when_words(at: dt.datetime, zone: ZoneInfo) -> str:
    """ "Fri Nov 20, 2026 07:30:05 CST", in the community's time."""
    local = at.astimezone(zone)
    return f"{local:%a %b} {local.day}, {local:%Y %H:%M:%S} {local.tzname()}"


@dataclass(frozen=True)
class AuditLine:
    event: Any
    when: str
    what: str
    target: str
    where: str
    before: list[tuple[str, Any]]
    after: list[tuple[str, Any]]


def audit_lines(events, *, default_zone: ZoneInfo) -> list[AuditLine]:
    """The page's events as lines in words (no query: the events come with their actor,
    resident and facility)."""
    lines = []
    for event in events:
        zone = event.facility.zone if event.facility_id else default_zone
        what = action_words(event.action)
        if event.resident_id and event.action == "resident.read":
            what = f"{what} of {event.resident.display_name}"
        lines.append(
            AuditLine(
                event=event,
                when=when_words(event.occurred_at, zone),
                what=what,
                target=target_words(event.target_type) if event.target_type else "",
                where=view_words(event.view),
                before=[
                    (field_words(event.target_type, k), v) for k, v in (event.before or {}).items()
                ],
                after=[
                    (field_words(event.target_type, k), v) for k, v in (event.after or {}).items()
                ],
            )
        )
    return lines
