import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mar.models import Administration, ExceptionReview, ScheduledDose
from mar.services.administrations import administration_mark_entered_in_error
from nurse.selectors import ExceptionFilters, exceptions_page, exceptions_unreviewed_count
from tests import clock
from tests.nurse.conftest import NOW, Ward

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(ward) -> Ward:
    ward.history(days=4)
    return ward


def test_it_lists_missed_refused_and_late_doses_newest_first(history):
    page = exceptions_page(user=history.nurse, now=NOW, filters=ExceptionFilters())

    kinds = {item.row.kind for item in page.items}
    times = [item.row.occurred_at for item in page.items]
    assert kinds == {"missed", "refused", "late"}
    assert times == sorted(times, reverse=True)
    assert page.total == len(page.items)


def test_it_does_not_highlight_refusals_with_doses_given_between(history):
    page = exceptions_page(user=history.nurse, now=NOW, filters=ExceptionFilters(kind="refused"))

    assert page.items
    assert not any(item.in_refusal_streak for item in page.items)


def test_it_marks_a_run_of_three_refusals(ward):
    ward.materialize(days=3)
    order = ward.orders[0]
    evening = [
        dose
        for dose in order.doses.filter(scheduled_at__lt=NOW).order_by("scheduled_at")
        if dose.scheduled_at.astimezone(ward.facility.zone).hour == 20
    ]
    for dose in evening[:3]:
        ward.chart(dose, status="refused", reason="Said no")
    morning = [
        dose
        for dose in order.doses.filter(scheduled_at__lt=NOW).order_by("scheduled_at")
        if dose.scheduled_at.astimezone(ward.facility.zone).hour == 8
    ]
    # Refusals in a row are of the same medication's doses in time order: skip mornings.
    ScheduledDose.objects.filter(pk__in=[d.pk for d in morning]).update(status="away")

    page = exceptions_page(user=ward.nurse, now=NOW, filters=ExceptionFilters(kind="refused"))

    assert [item.in_refusal_streak for item in page.items] == [True, True, True]


def test_it_breaks_the_run_when_a_dose_is_given_between_refusals(ward):
    ward.materialize(days=3)
    doses = list(ward.orders[0].doses.filter(scheduled_at__lt=NOW).order_by("scheduled_at"))
    ward.chart(doses[0], status="refused", reason="No")
    ward.chart(doses[1], status="refused", reason="No")
    ward.chart(doses[2])
    ward.chart(doses[3], status="refused", reason="No")

    page = exceptions_page(user=ward.nurse, now=NOW, filters=ExceptionFilters(kind="refused"))

    assert not any(item.in_refusal_streak for item in page.items)


def test_it_filters_by_unit_cart_resident_staff_and_dates(history):
    first, second = history.residents[:2]
    by_unit = exceptions_page(
        user=history.nurse, now=NOW, filters=ExceptionFilters(unit=history.units[0].pk)
    )
    by_cart = exceptions_page(
        user=history.nurse, now=NOW, filters=ExceptionFilters(cart=history.carts[1].public_id)
    )
    by_resident = exceptions_page(
        user=history.nurse, now=NOW, filters=ExceptionFilters(resident=second.public_id)
    )
    by_staff = exceptions_page(
        user=history.nurse, now=NOW, filters=ExceptionFilters(staff=history.tech.public_id)
    )
    by_nobody = exceptions_page(
        user=history.nurse, now=NOW, filters=ExceptionFilters(staff=history.nurse.public_id)
    )
    one_day = exceptions_page(
        user=history.nurse,
        now=NOW,
        filters=ExceptionFilters(date_from=NOW.date(), date_to=NOW.date()),
        zone=history.facility.zone,
    )

    assert {i.row.resident for i in by_unit.items} == {first.public_id}
    assert {i.row.resident for i in by_cart.items} == {second.public_id}
    assert {i.row.resident for i in by_resident.items} == {second.public_id}
    assert {i.row.kind for i in by_staff.items} == {"refused", "late"}
    assert by_nobody.items == []
    local_days = {i.row.occurred_at.astimezone(history.facility.zone).date() for i in one_day.items}
    assert local_days <= {NOW.date()}


def test_it_never_shows_another_communitys_exceptions(history):
    page = exceptions_page(user=history.other_nurse, now=NOW, filters=ExceptionFilters())

    assert page.items == []
    assert exceptions_unreviewed_count(user=history.other_nurse, now=NOW) == 0


def test_it_acknowledges_ticked_rows_with_one_note(client, history):
    page = exceptions_page(user=history.nurse, now=NOW, filters=ExceptionFilters())
    keys = [item.key for item in page.items[:3]]
    client.force_login(history.nurse)

    response = client.post(
        reverse("nurse:review_acknowledge"),
        {"keys": keys, "note": "Reviewed with the team", "family_notified": "on"},
    )

    assert response.status_code == 302
    reviews = ExceptionReview.objects.all()
    assert reviews.count() == 3
    assert all(r.family_notified and not r.physician_notified for r in reviews)
    assert exceptions_unreviewed_count(user=history.nurse, now=NOW) == page.total - 3


def test_it_acknowledges_one_row_with_its_own_button(client, history):
    page = exceptions_page(user=history.nurse, now=NOW, filters=ExceptionFilters(kind="missed"))
    item = page.items[0]
    client.force_login(history.nurse)

    client.post(
        reverse("nurse:review_acknowledge"),
        {"keys": [i.key for i in page.items], "only": item.key, "note": "Called the pharmacy"},
    )

    review = ExceptionReview.objects.get()
    assert review.scheduled_dose.public_id == item.row.id
    assert review.kind == "missed"


def test_it_changes_nothing_without_a_note_or_for_another_community(client, history):
    page = exceptions_page(user=history.nurse, now=NOW, filters=ExceptionFilters())
    client.force_login(history.nurse)

    client.post(reverse("nurse:review_acknowledge"), {"keys": [page.items[0].key], "note": ""})
    client.force_login(history.other_nurse)
    client.post(
        reverse("nurse:review_acknowledge"),
        {"keys": [page.items[0].key, "garbage", "administration:not-a-uuid"], "note": "x"},
    )

    assert not ExceptionReview.objects.exists()


def test_it_shows_the_list_to_nurses_and_administrators_only(client, history):
    url = reverse("nurse:review")
    client.force_login(history.tech)
    tech = client.get(url)
    client.force_login(history.admin)
    admin = client.get(url)
    client.force_login(history.nurse)
    nurse = client.get(url, {"kind": "refused", "status": "open", "unit": "x", "date_from": "no"})

    assert tech.status_code == 403
    assert admin.status_code == 200
    assert "Acknowledge ticked" not in admin.content.decode()
    assert nurse.status_code == 200
    assert "Some filters were not understood" in nurse.content.decode()


def test_it_shows_the_unreviewed_count_on_the_nurses_home(client, history):
    client.force_login(history.nurse)

    response = client.get(reverse("home"))

    count = exceptions_unreviewed_count(user=history.nurse, now=clock.now())
    assert count > 0
    assert f'aria-label="{count} not reviewed"' in response.content.decode()


def test_it_shows_an_overdue_follow_up_in_red(client, history):
    client.force_login(history.nurse)

    response = client.get(reverse("nurse:review"))

    html = response.content.decode()
    assert "followup-row followup-overdue" in html
    assert "OVERDUE" in html


def queries_for_list(client, user) -> int:
    client.force_login(user)
    client.get(reverse("nurse:review"))  # warm the session and content types
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("nurse:review"), {"status": "all"})
    assert response.status_code == 200
    return len(captured), response.content.decode().count('data-testid="exception-row"')


def test_it_makes_the_same_number_of_queries_for_more_rows(client, django_assert_num_queries):
    small = Ward(residents=1)
    small.history(days=2)
    small_queries, small_rows = queries_for_list(client, small.nurse)
    large = Ward(residents=4)
    large.history(days=5)
    client.force_login(large.nurse)
    client.get(reverse("nurse:review"))

    with django_assert_num_queries(small_queries):
        response = client.get(reverse("nurse:review"), {"status": "all"})

    large_rows = response.content.decode().count('data-testid="exception-row"')
    assert large_rows > small_rows * 3


def test_it_lists_an_entered_in_error_record_no_more(history):
    record = Administration.objects.filter(status="refused").order_by("id").first()

    administration_mark_entered_in_error(
        administration=record, user=history.nurse, reason="Wrong resident", now=NOW
    )

    page = exceptions_page(user=history.nurse, now=NOW, filters=ExceptionFilters(status="all"))
    assert record.public_id not in {item.row.id for item in page.items}


def test_the_note_for_ticked_rows_follows_the_rows_and_each_tick_box_has_a_finger_sized_label(
    client, history
):
    client.force_login(history.nurse)

    text = client.get(reverse("nurse:review")).content.decode()

    table_end = text.index("</table>")
    note = text.index('id="ack-note"')
    assert table_end < note < text.index("</form>", table_end)
    assert "Acknowledge the ticked rows above" in text
    rows = text.count('name="keys"')
    assert rows > 0
    assert text.count('<label class="row-check">') == rows + 1  # and "tick every row"
