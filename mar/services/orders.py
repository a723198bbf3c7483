"""Orders through their life: entered, verified (second check), held, resumed,
discontinued, changed. Each change re-syncs the order's future uncharted doses in
the same transaction, so the med pass never shows a dose the order no longer calls
for, and never loses one that was charted.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.urls import reverse

from mar import schedule
from mar.models import Medication, Notification, Order, OrderAcknowledgement
from mar.services.doses import FacilitySchedule, doses_sync_for_order
from mar.services.notifications import notifications_create
from mar.services.order_checks import (
    OrderChecks,
    allergy_matches,
    allergy_override_answer,
    order_checks,
    psychotropic_prn_end,
    real_reason,
)
from medtech.core import permissions
from medtech.core.audit import audit_write, snapshot
from medtech.core.errors import Conflict, DomainError, Invalid, NotPermitted
from residents.models import Allergy, Resident
from staff.models import User
from staff.selectors import nurses_by_facility


class OrderError(DomainError):
    """An order change that cannot be made; the message says why and what to do.
    ``field`` names the input at fault, when there is one."""


class OrderNotPermitted(NotPermitted, OrderError):
    pass


class OrderInvalid(Invalid, OrderError):
    pass


class OrderWrongState(Conflict, OrderError):
    pass


class AllergyConflict(OrderInvalid):
    """The medication matches one of the resident's allergies and no override was given."""


class NeedsAcknowledgement(OrderInvalid):
    """A warning about the order that the nurse has not answered yet."""


OPEN_STATUSES = (
    Order.Status.PENDING_VERIFICATION,
    Order.Status.ACTIVE,
    Order.Status.ON_HOLD,
)


ORDER_FIELDS = (
    "dose_amount",
    "dose_unit",
    "route",
    "instructions",
    "indication",
    "frequency",
    "administration_times",
    "days_of_week",
    "days_of_month",
    "interval",
    "is_time_critical",
    "window_minutes",
    "prn_min_interval_minutes",
    "prn_max_per_24h",
    "followup_minutes",
    "hold_parameters",
    "required_vitals",
    "starts_at",
    "ends_at",
    "prescriber",
    "rx_number",
    "allergy_override_reason",
)


def _require_nurse(user: User, action: str) -> None:
    permissions.require(
        user,
        permissions.Area.ORDER_ENTER,
        error=OrderNotPermitted,
        message=f"Only a nurse can {action} an order.",
    )


def _locked(order: Order) -> Order:
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("resident__facility", "medication")
        .get(pk=order.pk)
    )


def _validate_schedule(order: Order) -> None:
    """Check the frequency against the engine before the database sees it."""
    facility = order.resident.facility
    pass_times = FacilitySchedule.load([facility])[facility.pk].pass_times
    try:
        frequency = schedule.Frequency.from_order(order, pass_times=pass_times)
        if frequency.kind != schedule.FrequencyKind.PRN:
            schedule.window_minutes(
                frequency=frequency,
                is_time_critical=order.is_time_critical,
                override_minutes=order.window_minutes,
                facility_windows=schedule.FacilityWindows.from_facility(facility),
            )
    except ValueError as error:
        raise OrderInvalid(str(error)) from error
    if order.ends_at is not None and order.ends_at <= order.starts_at:
        raise OrderInvalid("The order must end after it starts.")
    if order.dose_amount is None or Decimal(order.dose_amount) <= 0:
        raise OrderInvalid("The dose must be more than zero.")
    if order.frequency == Order.Frequency.PRN and not (
        order.prn_min_interval_minutes is not None and order.prn_max_per_24h
    ):
        raise OrderInvalid("A PRN order needs a minimum interval and a maximum per 24 hours.")
    if order.frequency == Order.Frequency.PRN and order.prn_min_interval_minutes < 1:
        raise OrderInvalid(
            "A PRN order needs at least 1 minute between doses.", field="prn_min_interval_minutes"
        )


def _pass_times(order: Order) -> dict:
    facility = order.resident.facility
    return FacilitySchedule.load([facility])[facility.pk].pass_times


def _acknowledge(
    *,
    order: Order,
    kind: str,
    stage: str,
    warning: str,
    answer: str,
    by: User,
    now: dt.datetime,
    reason_code: str = "",
) -> OrderAcknowledgement:
    acknowledgement = OrderAcknowledgement.objects.create(
        order=order,
        kind=kind,
        stage=stage,
        warning=warning,
        reason_code=reason_code,
        answer=answer,
        acknowledged_by=by,
        acknowledged_at=now,
    )
    audit_write(
        actor=by,
        action="order.acknowledge",
        target=order,
        resident=order.resident,
        after={"kind": kind, "stage": stage, "warning": warning, "answer": answer},
        reason=answer,
        now=now,
    )
    return acknowledgement


def _refuse_stops(checks: OrderChecks) -> None:
    if checks.stops:
        raise OrderInvalid(" ".join(checks.stops), field="dose_amount")


def _require_dose_acknowledgement(checks: OrderChecks, *, acknowledged: bool) -> None:
    if checks.dose_warnings and not acknowledged:
        raise NeedsAcknowledgement(
            " ".join(checks.dose_warnings)
            + " Confirm the dose with the prescriber, then acknowledge the warning.",
            field="dose_warnings_acknowledged",
        )


def _entry_answers(
    *,
    order: Order,
    checks: OrderChecks,
    allergy_override_code: str,
    dose_warnings_acknowledged: bool,
    start_in_past_reason: str,
    drug_warnings_reason: str = "",
) -> dict[str, tuple[str, str]]:
    """The entering nurse's answers to the checks' warnings, by kind: (warning, answer).
    Refuses (writing nothing) when one is missing or is not a real reason."""
    _refuse_stops(checks)
    answers: dict[str, tuple[str, str]] = {}
    if checks.allergies:
        override = allergy_override_answer(
            reason_code=allergy_override_code, reason=order.allergy_override_reason
        )
        if override is None:
            names = ", ".join(allergy.allergen for allergy in checks.allergies)
            raise AllergyConflict(
                f"{order.medication} matches {order.resident.display_name}'s allergy to "
                f"{names}. Check with the prescriber; to enter it anyway, override with a "
                "reason: choose one from the list, or write a sentence (three words or more).",
                field="allergy_override_reason",
            )
        order.allergy_override_reason = override
        answers[OrderAcknowledgement.Kind.ALLERGY] = (checks.allergy_warning, override)
    else:
        order.allergy_override_reason = ""
    _require_dose_acknowledgement(checks, acknowledged=dose_warnings_acknowledged)
    if checks.dose_warnings:
        answers[OrderAcknowledgement.Kind.DOSE_RANGE] = (
            " ".join(checks.dose_warnings),
            "Acknowledged the dose warning at entry.",
        )
    if checks.past_start:
        if not real_reason(start_in_past_reason):
            raise NeedsAcknowledgement(
                checks.past_start + " Write a sentence (three words or more).",
                field="start_in_past_reason",
            )
        answers[OrderAcknowledgement.Kind.PAST_START] = (
            checks.past_start,
            start_in_past_reason.strip(),
        )
    answers |= _drug_answers(checks, reason=drug_warnings_reason)
    return answers


def _drug_answers(checks: OrderChecks, *, reason: str) -> dict[str, tuple[str, str]]:
    """Duplicate therapy and interactions (``drugref``): answered with a reason, kept."""
    if not checks.drug_warnings:
        return {}
    if not real_reason(reason):
        raise NeedsAcknowledgement(
            " ".join(checks.drug_warnings)
            + " Check with the prescriber or pharmacist, then say why the order goes ahead "
            "(a sentence of three words or more).",
            field="drug_warnings_reason",
        )
    answers = {}
    if checks.duplicates:
        answers[OrderAcknowledgement.Kind.DUPLICATE] = (" ".join(checks.duplicates), reason.strip())
    if checks.interactions:
        answers[OrderAcknowledgement.Kind.INTERACTION] = (
            " ".join(checks.interactions),
            reason.strip(),
        )
    return answers


@transaction.atomic
def order_create(
    *,
    resident: Resident,
    medication: Medication,
    entered_by: User,
    now: dt.datetime,
    replaces: Order | None = None,
    allergy_override_code: str = "",
    dose_warnings_acknowledged: bool = False,
    start_in_past_reason: str = "",
    drug_warnings_reason: str = "",
    psychotropic_rationale: str = "",
    **fields: Any,
) -> Order:
    """Enter an order. It waits for a second nurse's check unless the facility turned
    that off, in which case it is active (and scheduled) at once.

    The order's checks (``mar.services.order_checks``) refuse a dose past the
    medication's maximum or in a unit its stock cannot be counted in; an allergy needs
    an override with a real reason (``allergy_override_code`` and/or the sentence in
    ``allergy_override_reason``), a dose past the usual range the nurse's
    acknowledgement, a start more than a week back a reason. Each answer is kept (who,
    when, what) as an ``OrderAcknowledgement``."""
    _require_nurse(entered_by, "enter")
    unknown = set(fields) - set(ORDER_FIELDS)
    if unknown:
        raise TypeError(f"Unknown order fields: {', '.join(sorted(unknown))}")
    facility = resident.facility
    if resident.status in (Resident.Status.DISCHARGED, Resident.Status.DECEASED):
        raise OrderWrongState(f"{resident.display_name} is {resident.get_status_display()}.")
    if not entered_by.memberships.filter(facility=facility).exists():
        raise OrderNotPermitted("You are not a member of this resident's community.")
    order = Order(
        resident=resident,
        medication=medication,
        entered_by=entered_by,
        entered_at=now,
        replaces=replaces,
        status=Order.Status.PENDING_VERIFICATION
        if facility.requires_second_check
        else Order.Status.ACTIVE,
        **fields,
    )
    _validate_schedule(order)
    checks = order_checks(order=order, now=now, pass_times=_pass_times(order))
    answers = _entry_answers(
        order=order,
        checks=checks,
        allergy_override_code=allergy_override_code,
        dose_warnings_acknowledged=dose_warnings_acknowledged,
        start_in_past_reason=start_in_past_reason,
        drug_warnings_reason=drug_warnings_reason,
    )
    if (
        end := psychotropic_prn_end(order=order, checks=checks, rationale=psychotropic_rationale)
    ) is not None:
        answers[OrderAcknowledgement.Kind.PSYCHOTROPIC] = _psychotropic_answer(
            order=order, checks=checks, end=end, rationale=psychotropic_rationale
        )
        order.ends_at = end
    order.save()
    audit_write(
        actor=entered_by,
        action="order.create",
        target=order,
        resident=resident,
        after=snapshot(order),
        reason=order.allergy_override_reason,
        now=now,
    )
    for kind, (warning, answer) in answers.items():
        _acknowledge(
            order=order,
            kind=kind,
            stage=OrderAcknowledgement.Stage.ENTRY,
            warning=warning,
            answer=answer,
            reason_code=allergy_override_code if kind == OrderAcknowledgement.Kind.ALLERGY else "",
            by=entered_by,
            now=now,
        )
    doses_sync_for_order(order=order, now=now)
    return order


def _psychotropic_answer(
    *, order: Order, checks: OrderChecks, end: dt.datetime, rationale: str
) -> tuple[str, str]:
    local = end.astimezone(order.resident.facility.zone)
    warning = (
        f"PRN psychotropic ({', '.join(checks.psychotropic)}): a PRN order ends after 14 days "
        "unless the prescriber documents a rationale and a duration (CMS F758)."
    )
    if end == order.ends_at and real_reason(rationale):
        return (
            warning,
            f"Prescriber's rationale, order ends {local:%b %-d, %Y}: {rationale.strip()}",
        )
    return warning, f"The order ends on {local:%b %-d, %Y %H:%M}."


@transaction.atomic
def order_verify(
    *,
    order: Order,
    verified_by: User,
    now: dt.datetime,
    allergy_acknowledged: bool = False,
    dose_warnings_acknowledged: bool = False,
    drug_warnings_reason: str = "",
) -> Order:
    """The second check: another nurse confirms the order against the prescription.

    The order's checks run again (an allergy or stock recorded since entry counts): an
    allergy match needs the entering nurse's override and this nurse's explicit
    acknowledgement, a dose past the usual range this nurse's acknowledgement too. Both
    are kept as ``OrderAcknowledgement`` rows."""
    _require_nurse(verified_by, "verify")
    order = _locked(order)
    if order.status != Order.Status.PENDING_VERIFICATION:
        raise OrderWrongState(f"This order is {order.get_status_display().lower()}.")
    if order.entered_by_id == verified_by.pk:
        raise OrderNotPermitted(
            "You entered this order, so a second nurse must verify it against the prescription."
        )
    checks = order_checks(order=order, now=now, pass_times=_pass_times(order), check_start=False)
    _refuse_stops(checks)
    if checks.allergies:
        if order.allergy_conflict_at is not None or not order.allergy_override_reason:
            raise AllergyConflict(
                f"{order.medication} matches {order.resident.display_name}'s allergy to "
                f"{', '.join(a.allergen for a in checks.allergies)} and no override is on "
                "file: review the allergy first (keep the order with a reason), or "
                "discontinue it.",
                field="allergy_acknowledged",
            )
        if not allergy_acknowledged:
            raise NeedsAcknowledgement(
                f"{checks.allergy_warning} Confirm you reviewed the allergy and the override "
                f"reason ({order.allergy_override_reason}).",
                field="allergy_acknowledged",
            )
    _require_dose_acknowledgement(checks, acknowledged=dose_warnings_acknowledged)
    drug_answers = _drug_answers(checks, reason=drug_warnings_reason)
    before = snapshot(order, fields=["status", "verified_by", "verified_at"])
    order.verified_by = verified_by
    order.verified_at = now
    order.status = Order.Status.ACTIVE
    order.status_changed_at = now
    order.status_changed_by = verified_by
    order.save(
        update_fields=[
            "verified_by",
            "verified_at",
            "status",
            "status_changed_at",
            "status_changed_by",
        ]
    )
    audit_write(
        actor=verified_by,
        action="order.verify",
        target=order,
        resident=order.resident,
        before=before,
        after=snapshot(order, fields=["status", "verified_by", "verified_at"]),
        now=now,
    )
    verification = OrderAcknowledgement.Stage.VERIFICATION
    if checks.allergies:
        _acknowledge(
            order=order,
            kind=OrderAcknowledgement.Kind.ALLERGY,
            stage=verification,
            warning=checks.allergy_warning,
            answer=f"Reviewed the allergy and the override reason: {order.allergy_override_reason}",
            by=verified_by,
            now=now,
        )
    if checks.dose_warnings:
        _acknowledge(
            order=order,
            kind=OrderAcknowledgement.Kind.DOSE_RANGE,
            stage=verification,
            warning=" ".join(checks.dose_warnings),
            answer="Acknowledged the dose warning at verification.",
            by=verified_by,
            now=now,
        )
    for kind, (warning, answer) in drug_answers.items():
        _acknowledge(
            order=order,
            kind=kind,
            stage=verification,
            warning=warning,
            answer=answer,
            by=verified_by,
            now=now,
        )
    doses_sync_for_order(order=order, now=now)
    return order


# --- An allergy recorded after the order ----------------------------------------------------


def orders_flag_allergy(*, allergy: Allergy, by: User, now: dt.datetime) -> list[Order]:
    """Check a newly recorded (or corrected) allergy against the resident's open orders.

    A matching order is flagged (``allergy_conflict_at``): no dose of it is given until a
    nurse reviews it (``order_allergy_review``) or discontinues it, and every nurse of
    the community is notified. Returns the orders flagged, for the person who recorded
    the allergy to be told. Runs inside the caller's transaction."""
    orders = list(
        Order.objects.filter(resident_id=allergy.resident_id, status__in=OPEN_STATUSES)
        .select_related("medication", "resident__facility")
        .order_by("id")
    )
    flagged = [
        order
        for order in orders
        if allergy_matches(allergens=[allergy], medication=order.medication)
    ]
    if not flagged:
        return []
    Order.objects.filter(pk__in=[o.pk for o in flagged], allergy_conflict_at__isnull=True).update(
        allergy_conflict_at=now
    )
    resident = flagged[0].resident
    nurses = nurses_by_facility(facility_ids={resident.facility_id}).get(resident.facility_id, [])
    notifications = []
    for order in flagged:
        order.allergy_conflict_at = order.allergy_conflict_at or now
        audit_write(
            actor=by,
            action="order.allergy_conflict",
            target=order,
            resident=resident,
            after={"allergy": allergy.allergen, "allergy_conflict_at": order.allergy_conflict_at},
            now=now,
        )
        notifications += [
            Notification(
                recipient_id=nurse_id,
                facility_id=resident.facility_id,
                kind=Notification.Kind.ALLERGY_CONFLICT,
                subject_key=f"order-allergy:{order.pk}:{allergy.pk}",
                title=f"New allergy to {allergy.allergen} matches {resident.display_name}'s "
                f"{order.medication}",
                body="No dose of this order is given until a nurse reviews it.",
                link=reverse("nurse:order_detail", args=[order.public_id]),
                created_at=now,
            )
            for nurse_id in nurses
        ]
    notifications_create(notifications=notifications)
    return flagged


@transaction.atomic
def order_allergy_review(
    *,
    order: Order,
    by: User,
    now: dt.datetime,
    acknowledged: bool,
    reason_code: str = "",
    reason: str = "",
) -> Order:
    """A nurse's review of an order that an allergy recorded after it matches: they
    acknowledge the allergy and keep the order with a real reason (a coded choice or a
    sentence); doses can be given again. To stop it instead, discontinue the order."""
    _require_nurse(by, "review the allergy of")
    order = _locked(order)
    if order.allergy_conflict_at is None:
        raise OrderWrongState("No allergy recorded after this order waits for a review.")
    if order.status == Order.Status.DISCONTINUED:
        raise OrderWrongState("This order is discontinued.")
    if not acknowledged:
        raise NeedsAcknowledgement(
            "Tick that you reviewed the allergy before keeping the order.",
            field="allergy_acknowledged",
        )
    answer = allergy_override_answer(reason_code=reason_code, reason=reason)
    if answer is None:
        raise AllergyConflict(
            "Say why the order is kept despite the allergy: choose a reason from the list, or "
            "write a sentence (three words or more).",
            field="reason",
        )
    matches = allergy_matches(
        allergens=list(order.resident.allergies.order_by("allergen", "id")),
        medication=order.medication,
    )
    warning = ", ".join(a.allergen for a in matches) or "an allergy since corrected"
    before = snapshot(order, fields=["allergy_conflict_at", "allergy_override_reason"])
    order.allergy_conflict_at = None
    order.allergy_override_reason = answer
    order.save(update_fields=["allergy_conflict_at", "allergy_override_reason"])
    audit_write(
        actor=by,
        action="order.allergy_review",
        target=order,
        resident=order.resident,
        before=before,
        after=snapshot(order, fields=["allergy_conflict_at", "allergy_override_reason"]),
        reason=answer,
        now=now,
    )
    _acknowledge(
        order=order,
        kind=OrderAcknowledgement.Kind.ALLERGY,
        stage=OrderAcknowledgement.Stage.ALLERGY_RECORDED,
        warning=f"Allergy recorded after the order: {warning}.",
        answer=answer,
        reason_code=reason_code,
        by=by,
        now=now,
    )
    return order


def order_allergy_refusal(*, order: Order) -> str | None:
    """Why a dose of this order may not be given now because of an allergy recorded
    after it, or None. Charting asks before every dose given (no query: the order is
    loaded)."""
    if order.allergy_conflict_at is None:
        return None
    return (
        "An allergy recorded after this order was entered matches it: do not give it. "
        "A nurse must review the order first (keep it with a reason, or discontinue it)."
    )


STATUS_ACTIONS = {
    Order.Status.ON_HOLD: "order.hold",
    Order.Status.ACTIVE: "order.resume",
    Order.Status.DISCONTINUED: "order.discontinue",
}


def _set_status(
    *, order: Order, by: User, now: dt.datetime, status: str, reason: str, allowed_from: set[str]
) -> Order:
    order = _locked(order)
    if order.status not in allowed_from:
        raise OrderWrongState(f"This order is {order.get_status_display().lower()}.")
    before = snapshot(order, fields=["status", "status_reason"])
    order.status = status
    order.status_reason = reason
    order.status_changed_at = now
    order.status_changed_by = by
    order.save(update_fields=["status", "status_reason", "status_changed_at", "status_changed_by"])
    audit_write(
        actor=by,
        action=STATUS_ACTIONS[status],
        target=order,
        resident=order.resident,
        before=before,
        after=snapshot(order, fields=["status", "status_reason"]),
        reason=reason,
        now=now,
    )
    doses_sync_for_order(order=order, now=now)
    return order


@transaction.atomic
def order_hold(*, order: Order, by: User, reason: str, now: dt.datetime) -> Order:
    _require_nurse(by, "hold")
    if not reason.strip():
        raise OrderInvalid("Say why the order is on hold.")
    return _set_status(
        order=order,
        by=by,
        now=now,
        status=Order.Status.ON_HOLD,
        reason=reason.strip(),
        allowed_from={Order.Status.ACTIVE},
    )


@transaction.atomic
def order_resume(*, order: Order, by: User, now: dt.datetime) -> Order:
    _require_nurse(by, "resume")
    return _set_status(
        order=order,
        by=by,
        now=now,
        status=Order.Status.ACTIVE,
        reason="",
        allowed_from={Order.Status.ON_HOLD},
    )


@transaction.atomic
def order_discontinue(*, order: Order, by: User, reason: str, now: dt.datetime) -> Order:
    _require_nurse(by, "discontinue")
    if not reason.strip():
        raise OrderInvalid("Say why the order is discontinued.")
    return _set_status(
        order=order,
        by=by,
        now=now,
        status=Order.Status.DISCONTINUED,
        reason=reason.strip(),
        allowed_from={
            Order.Status.PENDING_VERIFICATION,
            Order.Status.ACTIVE,
            Order.Status.ON_HOLD,
        },
    )


def orders_end_for_stay(
    *, resident: Resident, by: User, reason: str, now: dt.datetime
) -> list[Order]:
    """The end of a stay (discharge or death) ends every open order, whoever records it
    (the administrator, not only a nurse); charted doses stay, future ones go. The
    caller checks who may end a stay and runs this inside its transaction."""
    open_statuses = {
        Order.Status.PENDING_VERIFICATION,
        Order.Status.ACTIVE,
        Order.Status.ON_HOLD,
    }
    orders = (
        Order.objects.filter(resident=resident, status__in=open_statuses)
        .select_related("resident__facility")
        .order_by("id")
    )
    return [
        _set_status(
            order=order,
            by=by,
            now=now,
            status=Order.Status.DISCONTINUED,
            reason=reason,
            allowed_from=open_statuses,
        )
        for order in orders
    ]


@transaction.atomic
def order_change(
    *,
    order: Order,
    by: User,
    reason: str,
    now: dt.datetime,
    allergy_override_code: str = "",
    dose_warnings_acknowledged: bool = False,
    drug_warnings_reason: str = "",
    psychotropic_rationale: str = "",
    **changes: Any,
) -> Order:
    """A change is never an edit: the old order is discontinued and a new one, linked
    to it, is entered with the changes (and goes through verification again, and
    through the checks of a new order)."""
    old = order_discontinue(order=order, by=by, reason=reason, now=now)
    medication = changes.pop("medication", old.medication)
    fields = {name: getattr(old, name) for name in ORDER_FIELDS} | changes
    fields["starts_at"] = max(fields["starts_at"], now)
    return order_create(
        resident=old.resident,
        medication=medication,
        entered_by=by,
        now=now,
        replaces=old,
        allergy_override_code=allergy_override_code,
        dose_warnings_acknowledged=dose_warnings_acknowledged,
        drug_warnings_reason=drug_warnings_reason,
        psychotropic_rationale=psychotropic_rationale,
        **fields,
    )


@transaction.atomic
@transaction.atomic
def order_enter(
    *,
    resident: Resident,
    by: User,
    now: dt.datetime,
    values: dict[str, Any],
    answers: dict[str, Any],
    medication: Medication | None = None,
    new_medication: dict[str, Any] | None = None,
    replaces: Order | None = None,
    change_reason: str = "",
) -> Order:
    """The nurse's order form in one step: a new order for ``resident``, or the changed
    order that replaces ``replaces`` (``change_reason`` says why). A product not in the
    catalog yet (``new_medication``) is added with it; if the order is refused, so is the
    product. ``values`` are the order's fields, ``answers`` the nurse's answers to its
    warnings (``order_create``)."""
    change_reason = change_reason.strip()
    if replaces is not None and not change_reason:
        raise OrderInvalid("Say why the order is changed.", field="change_reason")
    if medication is None:
        medication = medication_create(user=by, now=now, **(new_medication or {}))
    if replaces is None:
        return order_create(
            resident=resident, medication=medication, entered_by=by, now=now, **answers, **values
        )
    # A change starts now at the earliest: no reason for a start in the past applies.
    answers = {name: value for name, value in answers.items() if name != "start_in_past_reason"}
    return order_change(
        order=replaces,
        by=by,
        reason=change_reason,
        now=now,
        medication=medication,
        **answers,
        **values,
    )


def medication_create(
    *,
    user: User,
    generic_name: str,
    strength: str,
    form: str,
    now: dt.datetime,
    brand_name: str = "",
    default_route: str = "oral",
    ingredients: list[str] | None = None,
) -> Medication:
    """A new catalog entry, entered by a nurse with a new order; an existing identical
    product is returned instead of a duplicate."""
    _require_nurse(user, "add a medication to the catalog for")
    if not (generic_name.strip() and strength.strip()):
        raise OrderInvalid("A new medication needs its generic name and strength.")
    if form not in Medication.Form.values:
        raise OrderInvalid("Choose the medication's form.")
    medication, created = Medication.objects.get_or_create(
        generic_name=generic_name.strip(),
        brand_name=brand_name.strip(),
        strength=strength.strip(),
        form=form,
        defaults={
            "default_route": default_route,
            "ingredients": ingredients or [generic_name.strip().lower()],
        },
    )
    if created:
        audit_write(
            actor=user,
            action="medication.create",
            now=now,
            target=medication,
            after=snapshot(medication),
        )
    return medication
