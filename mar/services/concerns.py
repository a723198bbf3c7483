"""Concern reports: a med tech reports a suspected adverse reaction or change of
condition; the nurses are told at once, and it stays on their list until one of them
acknowledges it with a note."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from mar.models import Administration, Notification
from mar.services.charting_rules import CLOCK_SKEW, ChartingInvalid, ChartingNotPermitted
from mar.services.notifications import notifications_create, notifications_settle
from medtech.core import permissions
from medtech.core.audit import audit_write, snapshot
from medtech.core.scope import is_member
from residents.models import ConcernReport, Resident
from staff.models import User
from staff.selectors import nurses_by_facility


@transaction.atomic
def concern_report(
    *,
    resident: Resident,
    user: User,
    kind: str,
    description: str,
    observed_at: dt.datetime,
    now: dt.datetime,
    administration: Administration | None = None,
) -> ConcernReport:
    """A med tech reports a suspected adverse reaction or change of condition; every
    nurse of the community is told at once (in the app, and by e-mail without PHI)."""
    permissions.require(
        user, permissions.Area.CONCERN_REPORT, "report a concern", error=ChartingNotPermitted
    )
    if not is_member(user=user, facility_id=resident.facility_id):
        raise ChartingNotPermitted("You are not a member of this resident's community.")
    if kind not in ConcernReport.Kind.values:
        raise ChartingInvalid("Choose adverse reaction or change of condition.", field="kind")
    if not description.strip():
        raise ChartingInvalid("Describe what you saw.", field="description")
    if observed_at > now + CLOCK_SKEW:
        raise ChartingInvalid("It cannot have been observed in the future.", field="observed_at")
    if administration is not None and administration.resident_id != resident.pk:
        raise ChartingInvalid("That dose belongs to another resident.", field="administration")
    report = ConcernReport.objects.create(
        resident=resident,
        kind=kind,
        description=description.strip(),
        observed_at=observed_at,
        administration=administration,
        reported_by=user,
        reported_at=now,
    )
    audit_write(
        actor=user,
        action="concern.report",
        target=report,
        resident=resident,
        after=snapshot(report, fields=["kind", "description", "observed_at", "administration"]),
        now=now,
    )
    room = resident.room.number if resident.room else "no room"
    nurses = nurses_by_facility(facility_ids={resident.facility_id})
    notifications_create(
        notifications=[
            Notification(
                recipient_id=nurse_id,
                facility_id=resident.facility_id,
                kind=Notification.Kind.CONCERN_REPORTED,
                subject_key=f"concern:{report.pk}",
                title=f"{report.get_kind_display()}: Room {room}, {resident.display_name}",
                body=f"Reported by {user.signature_name}: {report.description[:300]}",
                created_at=now,
            )
            for nurse_id in nurses.get(resident.facility_id, [])
        ]
    )
    return report


@transaction.atomic
def concern_acknowledge(
    *, report: ConcernReport, user: User, note: str, now: dt.datetime
) -> ConcernReport:
    """A nurse of the resident's community takes the report off the open list."""
    report = ConcernReport.objects.select_for_update(of=("self",)).get(pk=report.pk)
    permissions.require(
        user,
        permissions.Area.EXCEPTION_ACK,
        error=ChartingNotPermitted,
        message="Only a nurse acknowledges a concern report.",
    )
    if not is_member(user=user, facility_id=report.resident.facility_id):
        raise ChartingNotPermitted("You are not a member of this resident's community.")
    if report.acknowledged_at is not None:
        raise ChartingInvalid(f"Already acknowledged by {report.acknowledged_by.signature_name}.")
    if not note.strip():
        raise ChartingInvalid("Write what you did about it.", field="note")
    report.acknowledged_by = user
    report.acknowledged_at = now
    report.acknowledgement_note = note.strip()
    report.save(update_fields=["acknowledged_by", "acknowledged_at", "acknowledgement_note"])
    notifications_settle(subject_keys=[f"concern:{report.pk}"], now=now)
    audit_write(
        actor=user,
        action="concern.acknowledge",
        target=report,
        resident=report.resident,
        before={"acknowledged_at": None},
        after={"acknowledged_at": now, "acknowledgement_note": report.acknowledgement_note},
        now=now,
    )
    return report
