"""What state a dose is in, the same on every screen and list and through every way in
(issue 17): a resident away (items 1), a late dose the nurse sees at once (11), a dose
whose only record was entered in error and whose order then stopped (15), and doses no
longer owed that must never be reported missed (17).

The tests stand at ``AT`` (07:30 in Chicago, Friday 2026-11-20): the 08:00 dose is due
(window 07:00-09:00, late until 11:00).
"""

import datetime as dt
import uuid

import pytest
from django.urls import reverse
from django.utils.html import escape

from mar.models import Administration, Notification, Order, ScheduledDose
from mar.services import administrations as charting
from mar.services import orders as order_services
from mar.services import stays
from mar.services.doses import doses_close_missed
from nurse.reports import facility_report
from nurse.selectors import resident_record
from printing.selectors import Month, monthly_mars
from residents import services as resident_services
from staff.models import User
from tests.api.conftest import AT, client_for, due_dose, prn_order, stocked_order
from tests.api.test_offline import offline_body, post_offline
from tests.api.test_offline import signature as offline_signature
from tests.mar.conftest import Community

HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)
LEFT_AT = AT - dt.timedelta(days=2)  # Wednesday 07:30


@pytest.fixture
def moment() -> dt.datetime:
    return AT


@pytest.fixture
def community(db) -> Community:
    community = Community(licensed_nurses=True)
    community.admin = community.colleague(
        User.Role.ADMINISTRATOR, certified=False, title="Administrator"
    )
    return community


@pytest.fixture
def colleague(community) -> User:
    """A med tech with a PIN, who charts on the cart's tablet while it is offline."""
    return community.colleague(pin="258013", first_name="Sam", initials="SO")


@pytest.fixture
def order(community) -> Order:
    return stocked_order(community)


@pytest.fixture
def dose(order) -> ScheduledDose:
    return due_dose(order)


@pytest.fixture
def in_hospital(community, dose):
    """The resident went to hospital two days ago and has not come back."""
    return resident_services.resident_leave(
        resident=community.resident,
        kind="hospital",
        started_at=LEFT_AT,
        by=community.admin,
        now=AT,
    )


def signed_in(client, user: User):
    client.force_login(user)
    return client


def chart(*, user, at=AT, status="given", **fields) -> charting.ChartResult:
    return charting.administration_record(
        user=user,
        idempotency_key=str(uuid.uuid4()),
        now=at,
        entry=charting.ChartEntry(status=status, administered_at=at, **fields),
    )


def chart_given(dose, *, user, at=AT, **fields) -> charting.ChartResult:
    return chart(user=user, at=at, scheduled_dose=dose, **fields)


def api_chart(user, dose, **fields):
    body = {
        "scheduled_dose": str(dose.public_id),
        "status": "given",
        "administered_at": AT.isoformat(),
    } | fields
    return client_for(user).post(
        "/api/v1/administrations/", body, format="json", HTTP_IDEMPOTENCY_KEY="tablet-1:0001"
    )


def api_dose_state(user, dose) -> str:
    response = client_for(user).get("/api/v1/doses/", {"resident": dose.resident.public_id})
    rows = response.json()["results"]
    return next(row for row in rows if row["id"] == str(dose.public_id))["status"]


def chart_url(dose) -> str:
    return reverse("mar:dose_chart", args=[dose.public_id])


# --- 1. A resident away: doses away everywhere, charting refused until they return ---------


def test_it_shows_an_away_residents_due_dose_as_away_on_the_pass_page_with_no_buttons(
    client, community, dose, in_hospital
):
    response = signed_in(client, community.tech).get(
        reverse("mar:pass_resident", args=[community.resident.public_id])
    )

    assert response.status_code == 200
    name = escape(community.resident.display_name)
    assert f"{name} is in hospital since Wed Nov 18 07:30" in response.text
    assert "Away: not due" in response.text
    assert "Due now" not in response.text
    assert f"{chart_url(dose)}?status=given" not in response.text


def test_it_counts_an_away_residents_doses_as_away_not_due_on_the_cart_list(
    client, community, dose, in_hospital
):
    response = signed_in(client, community.tech).get(
        reverse("mar:pass_cart", args=[community.cart.public_id])
    )

    assert "1 away" in response.text
    assert "1 due" not in response.text


def test_it_answers_away_for_the_dose_in_the_api_and_the_offline_bundle(
    community, dose, in_hospital
):
    community.put_on_duty(community.tech, at=AT)
    bundle = client_for(community.tech).get(f"/api/v1/offline/carts/{community.cart.public_id}/")

    assert api_dose_state(community.tech, dose) == "away"
    assert [row["state"] for row in bundle.json()["doses"]] == ["away"]


def test_it_shows_the_dose_as_away_on_the_nurses_record_and_the_printed_mar(
    community, dose, in_hospital
):
    record = resident_record(resident=community.resident, now=AT)
    mar = monthly_mars(residents=[community.resident], month=Month(dt.date(2026, 11, 1)), now=AT)[0]

    cells = [cell for row in record.grid for day in row.cells for cell in day]
    assert [(cell.time, cell.code) for cell in cells] == [("08:00", "Away"), ("20:00", "Away")]
    grid = [cell for block in mar.orders for row in block.rows for cell in row.cells]
    assert [cell.text for cell in grid if cell.text] == ["A"] * dose.order.doses.count()


def test_it_lists_the_away_dose_as_away_on_the_nurses_review_once_its_window_passed(
    client, community, dose, in_hospital, clock
):
    clock.move_to(AT + 2 * HOUR)  # before the closing job has run

    away = signed_in(client, community.nurse).get(reverse("nurse:review"), {"kind": "away"})
    missed = client.get(reverse("nurse:review"), {"kind": "missed"})
    late = client.get(reverse("nurse:review"), {"kind": "late"})

    assert "Not given, resident away" in away.text
    assert "Nothing here" in missed.text
    assert "Nothing here" in late.text


def test_it_refuses_charting_on_the_page_while_the_resident_is_in_hospital(
    client, community, dose, in_hospital
):
    response = signed_in(client, community.tech).post(
        chart_url(dose), {"idempotency_key": str(uuid.uuid4()), "status": "given"}
    )

    assert response.status_code == 422
    assert "is in hospital since Wed Nov 18 07:30" in response.text
    assert not Administration.objects.exists()


def test_it_refuses_charting_through_the_api_naming_the_stay(community, dose, in_hospital):
    response = api_chart(community.tech, dose)

    assert response.status_code == 422
    name = community.resident.display_name
    assert f"{name} is in hospital since Wed Nov 18 07:30" in response.json()["detail"]
    assert not Administration.objects.exists()


def test_it_refuses_a_prn_dose_and_a_refusal_while_the_resident_is_on_leave(community, dose):
    prn = prn_order(community)
    resident_services.resident_leave(
        resident=community.resident, kind="leave", started_at=AT - HOUR, by=community.admin, now=AT
    )

    with pytest.raises(charting.OrderNotChartable, match="on leave of absence since Fri Nov 20"):
        chart(user=community.tech, order=prn, prn_reason="Knee pain")
    with pytest.raises(charting.OrderNotChartable, match="on leave of absence"):
        chart(user=community.tech, scheduled_dose=dose, status="refused")
    assert not Administration.objects.exists()


def test_it_refuses_a_dose_synced_from_the_offline_queue_and_tells_the_nurses(
    community, dose, in_hospital, colleague
):
    body = offline_body(dose)
    key = "offline-away-1"

    response = post_offline(
        client_for(community.tech),
        body,
        key=key,
        charted_by=colleague,
        sig=offline_signature(key=key, user=colleague, body=body, pin="258013"),
    )

    assert response.status_code == 422
    assert "is in hospital since" in response.json()["detail"]
    assert response.json()["conflict"] is True
    assert not Administration.objects.exists()
    assert Notification.objects.filter(kind=Notification.Kind.CHARTING_CONFLICT).count() == 2


def test_it_charts_the_dose_again_once_the_resident_is_marked_returned(
    community, dose, in_hospital
):
    resident_services.resident_return(
        resident=community.resident, returned_at=AT - 10 * MINUTE, by=community.admin, now=AT
    )

    response = api_chart(community.tech, dose)

    assert response.status_code == 201
    assert api_dose_state(community.tech, dose) == "charted"


def test_it_refuses_a_time_given_that_falls_inside_an_absence_already_ended(community, dose):
    resident_services.resident_leave(
        resident=community.resident,
        kind="hospital",
        started_at=AT - 3 * HOUR,
        by=community.admin,
        now=AT,
    )
    resident_services.resident_return(
        resident=community.resident, returned_at=AT - HOUR, by=community.admin, now=AT
    )

    with pytest.raises(charting.OrderNotChartable, match="was in hospital from Fri Nov 20 04:30"):
        chart_given(dose, user=community.tech, at=AT - 2 * HOUR, note="Late entry")


# --- 11. A late dose: on the nurse's list at once, and on the overdue board -------------------

LATE = AT + 2 * HOUR  # 09:30: the 08:00 dose's window closed at 09:00, missed at 11:00


def test_it_lists_a_late_uncharted_dose_on_the_review_at_once(client, community, dose, clock):
    clock.move_to(LATE)

    response = signed_in(client, community.nurse).get(reverse("nurse:review"), {"kind": "late"})

    assert "Late, not charted yet" in response.text
    assert "Nothing here" not in response.text
    assert 'data-testid="late-unrecorded"' in response.text


def test_it_lists_a_late_uncharted_dose_in_the_apis_exceptions(community, dose, clock):
    clock.move_to(LATE)

    response = client_for(community.nurse).get("/api/v1/exceptions/", {"kind": "late"})

    assert [row["id"] for row in response.json()["results"]] == [str(dose.public_id)]


def test_it_counts_a_late_uncharted_dose_on_the_report_tiles(client, community, dose, clock):
    clock.move_to(LATE)

    report = facility_report(facility=community.facility, now=LATE, days=1)
    response = signed_in(client, community.nurse).get(reverse("nurse:reports"))

    assert (report.totals.late_open, report.totals.missed) == (1, 0)
    assert 'data-testid="late-open-total"' in response.text


def test_it_shows_every_carts_overdue_doses_on_the_board_in_the_communitys_time(
    client, community, dose, clock
):
    clock.move_to(LATE)

    response = signed_in(client, community.nurse).get(reverse("nurse:overdue_board"))

    assert response.status_code == 200
    assert "1 not charted" in response.text
    assert escape(community.resident.display_name) in response.text
    assert community.cart.name in response.text
    assert "<strong>08:00</strong>" in response.text
    assert "chart by 11:00, then missed" in response.text


def test_the_overdue_board_is_for_nurses(client, community, dose):
    response = signed_in(client, community.tech).get(reverse("nurse:overdue_board"))

    assert response.status_code == 403


def test_it_keeps_the_overdue_board_at_a_fixed_number_of_queries(
    client, community, dose, clock, django_assert_num_queries
):
    clock.move_to(LATE)
    client = signed_in(client, community.nurse)
    client.get(reverse("nurse:overdue_board"))  # the session learns the time zone
    for _ in range(3):
        stocked_order(community)  # more doses, same queries

    with django_assert_num_queries(BOARD_QUERIES):
        client.get(reverse("nurse:overdue_board"))


# Session, user, the nurse's communities, the doses, the unread notifications in the header.
BOARD_QUERIES = 5


def test_it_refuses_to_acknowledge_a_late_dose_that_can_still_be_charted(community, dose):
    from mar.services.reviews import ReviewInvalid, exception_acknowledge

    with pytest.raises(ReviewInvalid, match="late and can still be charted"):
        exception_acknowledge(
            user=community.nurse, note="Told the tech", now=LATE, scheduled_dose=dose
        )


# --- 15. A discontinued order's dose whose only record was entered in error ---------------


def test_it_cancels_a_discontinued_orders_dose_whose_record_was_entered_in_error(
    client, community, order, dose
):
    record = chart_given(dose, user=community.tech).administration
    charting.administration_mark_entered_in_error(
        administration=record, user=community.nurse, reason="Wrong resident", now=AT + MINUTE
    )

    order_services.order_discontinue(
        order=order, by=community.nurse, reason="Stopped by the physician", now=AT + 2 * MINUTE
    )

    dose.refresh_from_db()
    assert dose.status == ScheduledDose.Status.CANCELLED
    assert api_dose_state(community.tech, dose) == "cancelled"
    page = signed_in(client, community.tech).get(
        reverse("mar:pass_resident", args=[community.resident.public_id])
    )
    assert "Cancelled: the order was stopped" in page.text
    assert f"{chart_url(dose)}?status=given" not in page.text


def test_it_owes_a_cancelled_dose_again_when_its_held_order_resumes_inside_the_window(
    community, order, dose
):
    record = chart_given(dose, user=community.tech).administration
    charting.administration_mark_entered_in_error(
        administration=record, user=community.nurse, reason="Wrong resident", now=AT + MINUTE
    )
    order_services.order_hold(order=order, by=community.nurse, reason="NPO", now=AT + MINUTE)

    order_services.order_resume(order=order, by=community.nurse, now=AT + 5 * MINUTE)

    dose.refresh_from_db()
    assert dose.status == ScheduledDose.Status.PENDING


# --- 17. A dose no longer owed is never reported missed ---------------------------------------


@pytest.mark.parametrize("stop", ["hold", "discontinue"])
def test_it_never_reports_missed_a_late_dose_whose_order_was_stopped(community, order, dose, stop):
    if stop == "hold":
        order_services.order_hold(order=order, by=community.nurse, reason="NPO", now=LATE)
    else:
        order_services.order_discontinue(
            order=order, by=community.nurse, reason="Stopped", now=LATE
        )

    result = doses_close_missed(now=AT + 4 * HOUR)

    dose.refresh_from_db()
    assert dose.status == ScheduledDose.Status.CANCELLED
    assert result["missed"] == 0
    assert not Notification.objects.filter(kind=Notification.Kind.DOSE_MISSED).exists()


def test_it_never_reports_missed_a_discharged_residents_late_dose(community, dose):
    stays.resident_discharge(
        resident=community.resident,
        outcome="discharged",
        on_date=AT.date(),
        reason="Home with family",
        by=community.admin,
        now=LATE,
    )

    doses_close_missed(now=AT + 4 * HOUR)

    dose.refresh_from_db()
    assert dose.status == ScheduledDose.Status.CANCELLED
    assert not Notification.objects.filter(kind=Notification.Kind.DOSE_MISSED).exists()


def test_it_still_reports_missed_a_dose_missed_before_its_order_was_stopped(community, order, dose):
    order_services.order_hold(order=order, by=community.nurse, reason="NPO", now=AT + 4 * HOUR)

    doses_close_missed(now=AT + 5 * HOUR)

    dose.refresh_from_db()
    assert dose.status == ScheduledDose.Status.MISSED
    assert Notification.objects.filter(kind=Notification.Kind.DOSE_MISSED).count() == 2


def test_it_cancels_in_the_closing_job_a_dose_whose_order_stopped_without_a_resync(
    community, order, dose
):
    Order.objects.filter(pk=order.pk).update(
        status=Order.Status.ON_HOLD, status_reason="NPO", status_changed_at=LATE
    )

    result = doses_close_missed(now=AT + 4 * HOUR)

    assert result == {"missed": 0, "away": 0, "cancelled": 1}
    assert not Notification.objects.filter(kind=Notification.Kind.DOSE_MISSED).exists()
