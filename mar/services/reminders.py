"""The jobs that make the system speak up: dose due, PRN follow-up, orders waiting for
their second check, certifications about to expire.

Every reminder is derived from what the database holds at the moment the job runs
and is stored at most once per recipient and subject, so a job that runs late,
twice, or after a worker died says everything exactly once.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db.models import DateTimeField, F, Q
from django.db.models.expressions import ExpressionWrapper
from django.db.models.functions import Coalesce

from inventory.selectors import on_duty_by_cart
from mar.models import Administration, Notification, Order, ScheduledDose
from mar.selectors import MINUTE
from mar.services.notifications import notifications_create
from residents.models import Facility
from staff.models import Certification, User
from staff.selectors import facility_ids_by_user, nurses_by_facility, staff_by_facility

ORDER_VERIFICATION_GRACE = dt.timedelta(hours=1)
MAX_REMINDER_LEAD = dt.timedelta(minutes=Facility.MAX_REMINDER_LEAD_MINUTES)
CERTIFICATION_WARNINGS_DAYS = (30, 7)


def reminders_dose_due(*, now: dt.datetime) -> None:
    """Tell the staff on duty for a cart about each dose a set time before its window opens."""
    opens_soon = ExpressionWrapper(
        F("window_start") - F("resident__facility__reminder_lead_minutes") * MINUTE,
        output_field=DateTimeField(),
    )
    doses = list(
        ScheduledDose.objects.annotate(remind_at=opens_soon)
        .filter(
            status=ScheduledDose.Status.PENDING,
            window_start__lte=now + MAX_REMINDER_LEAD,  # lets the pending-window index prune
            remind_at__lte=now,
            window_end__gt=now,
            resident__room__cart__isnull=False,
            resident__status="active",
            order__status=Order.Status.ACTIVE,
        )
        .values(
            "pk",
            "scheduled_at",
            "resident__facility_id",
            "resident__facility__time_zone",
            "resident__room__number",
            "resident__room__cart_id",
            "resident__first_name",
            "resident__last_name",
            "order__medication__generic_name",
            "order__medication__strength",
        )
        .order_by("scheduled_at", "pk")
    )
    on_duty = on_duty_by_cart(cart_ids={dose["resident__room__cart_id"] for dose in doses})
    notifications = []
    for dose in doses:
        local = dose["scheduled_at"].astimezone(ZoneInfo(dose["resident__facility__time_zone"]))
        for user_id in on_duty.get(dose["resident__room__cart_id"], []):
            notifications.append(
                Notification(
                    recipient_id=user_id,
                    facility_id=dose["resident__facility_id"],
                    kind=Notification.Kind.DOSE_DUE,
                    subject_key=f"dose:{dose['pk']}",
                    title=f"Due {local:%H:%M}: Room {dose['resident__room__number']}, "
                    f"{dose['resident__last_name']}, {dose['resident__first_name']}",
                    body=f"{dose['order__medication__generic_name']} "
                    f"{dose['order__medication__strength']}",
                    created_at=now,
                )
            )
    notifications_create(notifications=notifications)


def reminders_prn_followup(*, now: dt.datetime) -> None:
    """Ask for the effectiveness of a PRN dose once its follow-up time has passed."""
    followup_due = ExpressionWrapper(
        F("administered_at")
        + Coalesce(F("order__followup_minutes"), F("resident__facility__prn_followup_minutes"))
        * MINUTE,
        output_field=DateTimeField(),
    )
    given = list(
        Administration.objects.annotate(followup_due=followup_due)
        .filter(
            scheduled_dose__isnull=True,
            status=Administration.Status.GIVEN,
            is_entered_in_error=False,
            effectiveness__isnull=True,
            followup_due__lte=now,
            administered_at__gte=now - dt.timedelta(hours=24),
        )
        .values(
            "pk",
            "administered_at",
            "administered_by_id",
            "resident__facility_id",
            "resident__facility__time_zone",
            "resident__room__number",
            "resident__room__cart_id",
            "resident__first_name",
            "resident__last_name",
            "order__medication__generic_name",
        )
        .order_by("administered_at", "pk")
    )
    on_duty = on_duty_by_cart(cart_ids={row["resident__room__cart_id"] for row in given})
    notifications = []
    for row in given:
        local = row["administered_at"].astimezone(ZoneInfo(row["resident__facility__time_zone"]))
        recipients = {row["administered_by_id"], *on_duty.get(row["resident__room__cart_id"], [])}
        for user_id in sorted(recipients):
            notifications.append(
                Notification(
                    recipient_id=user_id,
                    facility_id=row["resident__facility_id"],
                    kind=Notification.Kind.PRN_FOLLOWUP,
                    subject_key=f"administration:{row['pk']}",
                    title=f"PRN follow-up due: Room {row['resident__room__number']}, "
                    f"{row['resident__last_name']}, {row['resident__first_name']}",
                    body=f"Was {row['order__medication__generic_name']} given at "
                    f"{local:%H:%M} effective?",
                    created_at=now,
                )
            )
    notifications_create(notifications=notifications)


def reminders_order_verification(*, now: dt.datetime) -> None:
    """Remind the other nurses of an order still waiting for its second check after an hour."""
    waiting = list(
        Order.objects.filter(
            status=Order.Status.PENDING_VERIFICATION,
            entered_at__lte=now - ORDER_VERIFICATION_GRACE,
        )
        .select_related("resident", "medication")
        .order_by("entered_at", "id")
    )
    nurses = nurses_by_facility(facility_ids={order.resident.facility_id for order in waiting})
    notifications = [
        Notification(
            recipient_id=nurse_id,
            facility_id=order.resident.facility_id,
            kind=Notification.Kind.ORDER_VERIFICATION,
            subject_key=f"order:{order.pk}",
            title=f"Order waiting for verification: {order.resident.display_name}",
            body=f"{order.medication}, entered more than an hour ago, is not scheduled "
            "until a second nurse verifies it.",
            created_at=now,
        )
        for order in waiting
        for nurse_id in nurses.get(order.resident.facility_id, [])
        if nurse_id != order.entered_by_id
    ]
    notifications_create(notifications=notifications)


def reminders_certification_expiry(*, today: dt.date, now: dt.datetime) -> None:
    """Warn the holder and their facilities' administrators 30 and 7 days before expiry."""
    expiring = list(
        Certification.objects.filter(
            expires_on__gte=today,
            expires_on__lte=today + dt.timedelta(days=max(CERTIFICATION_WARNINGS_DAYS)),
            user__is_active=True,
        )
        .filter(
            Q(kind=Certification.Kind.MEDICATION_AIDE) | Q(kind=Certification.Kind.NURSE_LICENSE)
        )
        .select_related("user")
        .order_by("expires_on", "id")
    )
    memberships = facility_ids_by_user(user_ids={c.user_id for c in expiring})
    administrators = staff_by_facility(
        facility_ids={f for ids in memberships.values() for f in ids},
        role=User.Role.ADMINISTRATOR,
    )
    notifications = []
    for certification in expiring:
        days_left = (certification.expires_on - today).days
        threshold = min(d for d in CERTIFICATION_WARNINGS_DAYS if days_left <= d)
        holder = certification.user
        for facility_id in memberships.get(holder.pk, []):
            for recipient_id in {holder.pk, *administrators.get(facility_id, [])}:
                notifications.append(
                    Notification(
                        recipient_id=recipient_id,
                        facility_id=facility_id,
                        kind=Notification.Kind.CERTIFICATION_EXPIRING,
                        subject_key=f"certification:{certification.pk}:{threshold}",
                        title=f"{certification.get_kind_display()} of {holder.signature_name} "
                        f"expires on {certification.expires_on:%b %-d, %Y}",
                        body=f"{days_left} days left. Without a current certification "
                        "charting is refused.",
                        created_at=now,
                    )
                )
    notifications_create(notifications=notifications)
