"""The med pass pages through the Django test client: who sees what, charting by form and
by htmx, the refusals and their status codes, and the query count of the two pages a
med tech opens most (the cart's residents and one resident's pass).

The views read the clock, so every test stands at ``AT`` (07:30 in Chicago on Friday
2026-11-20) with time_machine; the community's 08:00 dose is due then (window 07:00-09:00).
"""

import datetime as dt
import uuid
from decimal import Decimal
from types import SimpleNamespace

import pytest
import time_machine
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from demo.community import demo_community_seed
from inventory.models import MedCart, StockItem, StockTransaction
from mar import selectors
from mar.models import Administration, EffectivenessCheck, Notification, Order, ScheduledDose
from mar.services import administrations as charting
from mar.services.doses import doses_materialize, doses_sync_for_order
from medtech.models import AuditEvent
from residents.models import ConcernReport, Resident
from staff.models import User
from tests.factories import CertificationFactory, UserFactory
from tests.mar.conftest import NOW, Community

AT = NOW + dt.timedelta(minutes=30)  # 07:30 in Chicago
MINUTE = dt.timedelta(minutes=1)
HTMX = {"HTTP_HX_REQUEST": "true"}
# Normal readings for any vital an order asks for (no hold parameter is met by these).
NORMAL_VITALS = {
    "systolic": "128",
    "diastolic": "78",
    "pulse": "72",
    "temperature": "98.2",
    "respirations": "16",
    "spo2": "97",
    "blood_glucose": "132",
    "pain": "2",
    "weight": "152",
}


@pytest.fixture
def moment() -> dt.datetime:
    """07:30 in Chicago: the 08:00 dose is due."""
    return AT


def stocked_order(community: Community, **fields) -> Order:
    return community.stocked_order(now=None, **fields)


def prn_order(community: Community) -> Order:
    return community.prn_order(now=None)


@pytest.fixture
def order(community, clock) -> Order:
    return stocked_order(community, medication=community.medication)


@pytest.fixture
def dose(order) -> ScheduledDose:
    doses_sync_for_order(order=order, now=AT)
    return order.doses.order_by("scheduled_at", "id").first()  # Friday 08:00


@pytest.fixture
def signed_in(client, community) -> Client:
    client.force_login(community.tech)
    return client


def chart_form(status: str = "given", **fields) -> dict[str, str]:
    return {"idempotency_key": str(uuid.uuid4()), "status": status} | fields


def chart_url(dose: ScheduledDose) -> str:
    return reverse("mar:dose_chart", args=[dose.public_id])


def resident_url(community: Community) -> str:
    return reverse("mar:pass_resident", args=[community.resident.public_id])


def stock_left(order: Order) -> Decimal:
    return StockItem.objects.get(order=order).quantity_on_hand


# --- The pages -----------------------------------------------------------------------------


def test_it_lists_the_carts_residents_with_the_doses_due(signed_in, community, dose):
    response = signed_in.get(reverse("mar:pass_cart", args=[community.cart.public_id]))

    assert response.status_code == 200
    assert escape(community.resident.display_name) in response.text
    assert "1 due" in response.text
    assert "AM pass" in response.text


def test_the_cart_board_shows_a_prn_follow_up_due(signed_in, community, dose):
    prn = prn_order(community)
    charting.administration_record(
        user=community.tech,
        idempotency_key="board-followup-1",
        now=AT - 70 * MINUTE,
        entry=charting.ChartEntry(
            status="given", administered_at=AT - 70 * MINUTE, order=prn, prn_reason="Knee pain"
        ),
    )

    response = signed_in.get(reverse("mar:pass_cart", args=[community.cart.public_id]))

    assert response.status_code == 200
    assert "1 PRN follow-up due" in response.text
    assert "1 due" in response.text


def test_the_cart_board_shows_no_follow_up_before_its_time(signed_in, community):
    prn = prn_order(community)
    charting.administration_record(
        user=community.tech,
        idempotency_key="board-followup-2",
        now=AT - 20 * MINUTE,
        entry=charting.ChartEntry(
            status="given", administered_at=AT - 20 * MINUTE, order=prn, prn_reason="Knee pain"
        ),
    )

    response = signed_in.get(reverse("mar:pass_cart", args=[community.cart.public_id]))

    assert "follow-up due" not in response.text


def test_a_nurse_looks_at_any_carts_board_read_only_and_the_read_is_audited(
    client, community, dose
):
    client.force_login(community.nurse)
    start = client.get(reverse("mar:pass_start"))
    board_url = reverse("mar:pass_cart", args=[community.cart.public_id])

    board = client.get(board_url)

    assert "View board (read only)" in start.text
    assert board.status_code == 200
    assert "Read only." in board.text
    assert "nothing can be charted from this board" in board.text
    assert resident_url(community) not in board.text
    assert reverse("nurse:resident_record", args=[community.resident.public_id]) in board.text
    assert "data-offline-bundle" not in board.text
    assert "1 due" in board.text
    read = AuditEvent.objects.get(action="resident.read", actor=community.nurse)
    assert (read.resident_id, read.view) == (community.resident.pk, "mar:pass_cart")


def test_the_med_tech_who_handed_over_sees_the_board_read_only(client, community, dose):
    assignment = community.put_on_duty(community.tech)
    client.force_login(community.tech)
    board_url = reverse("mar:pass_cart", args=[community.cart.public_id])
    on_duty = client.get(board_url)
    assignment.ended_at = AT - 5 * MINUTE
    assignment.save()

    handed_over = client.get(board_url)

    assert "Read only." not in on_duty.text
    assert resident_url(community) in on_duty.text
    assert "Read only." in handed_over.text
    assert resident_url(community) not in handed_over.text
    record_url = reverse("nurse:resident_record", args=[community.resident.public_id])
    assert record_url not in handed_over.text
    assert "Take this cart" in handed_over.text
    assert AuditEvent.objects.filter(action="resident.read", actor=community.tech).count() == 1


def test_it_shows_a_residents_pass_with_the_dose_due_now(signed_in, community, dose):
    response = signed_in.get(resident_url(community))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "Due now" in response.text
    assert escape(str(community.medication)) in response.text
    assert f"{chart_url(dose)}?status=given" in response.text


@pytest.fixture
def elsewhere(db, clock) -> SimpleNamespace:
    """Another community's cart, resident, dose, PRN order and charted record."""
    other = Community()
    order = stocked_order(other)
    doses_sync_for_order(order=order, now=AT)
    dose = order.doses.order_by("scheduled_at", "id").first()
    prn = prn_order(other)
    record = charting.administration_record(
        user=other.tech,
        idempotency_key="elsewhere-1",
        now=AT - 20 * MINUTE,
        entry=charting.ChartEntry(
            status="given", administered_at=AT - 20 * MINUTE, order=prn, prn_reason="Knee pain 6/10"
        ),
    ).administration
    return SimpleNamespace(
        cart=other.cart.public_id,
        resident=other.resident.public_id,
        dose=dose.public_id,
        prn=prn.public_id,
        record=record.public_id,
    )


URLS_OF_ANOTHER_COMMUNITY = [
    ("get", "mar:pass_cart", "cart"),
    ("post", "mar:cart_take", "cart"),
    ("get", "mar:pass_resident", "resident"),
    ("get", "mar:concern_new", "resident"),
    ("post", "mar:concern_new", "resident"),
    ("get", "mar:dose_chart", "dose"),
    ("post", "mar:dose_chart", "dose"),
    ("get", "mar:prn_give", "prn"),
    ("post", "mar:prn_give", "prn"),
    ("post", "mar:record_undo", "record"),
    ("post", "mar:record_effectiveness", "record"),
]


@pytest.mark.parametrize(("method", "name", "kind"), URLS_OF_ANOTHER_COMMUNITY)
def test_it_answers_404_not_403_for_another_communitys_records(
    signed_in, community, elsewhere, method, name, kind
):
    url = reverse(name, args=[getattr(elsewhere, kind)])
    form = chart_form(
        prn_reason="Pain",
        reason="Wrong resident",
        result="effective",
        kind="adverse_reaction",
        description="Rash",
    )
    records_before = Administration.objects.count()

    response = getattr(signed_in, method)(url, form)

    assert response.status_code == 404
    assert Administration.objects.count() == records_before
    assert not Administration.objects.filter(is_entered_in_error=True).exists()
    assert not EffectivenessCheck.objects.exists()
    assert not ConcernReport.objects.exists()


@pytest.mark.parametrize(("method", "name", "kind"), URLS_OF_ANOTHER_COMMUNITY)
def test_it_sends_anonymous_visitors_to_sign_in(client, elsewhere, method, name, kind):
    url = reverse(name, args=[getattr(elsewhere, kind)])

    response = getattr(client, method)(url, chart_form())

    assert response.status_code == 302
    assert response.url.startswith(reverse("login") + "?next=")


# --- Charting a scheduled dose ---------------------------------------------------------------


def test_it_charts_a_dose_given_over_htmx_and_sends_back_the_refreshed_dose_list(
    signed_in, community, order, dose
):
    response = signed_in.post(chart_url(dose), chart_form(), **HTMX)

    dose.refresh_from_db()
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="pass-body">')
    assert "<html" not in response.text
    assert f"Given: {escape(str(community.medication))} at 07:30." in response.text
    assert dose.status == ScheduledDose.Status.CHARTED
    assert Administration.objects.get().administered_by == community.tech
    assert stock_left(order) == 29


def test_it_charts_a_dose_given_without_javascript_and_goes_back_to_the_resident(
    signed_in, community, order, dose
):
    response = signed_in.post(chart_url(dose), chart_form())
    page = signed_in.get(response.url)

    assert response.status_code == 302
    assert response.url == resident_url(community)
    assert f"Given: {escape(str(community.medication))} at 07:30." in page.text
    assert Administration.objects.get().status == "given"
    assert stock_left(order) == 29


def test_it_makes_no_second_record_when_the_same_request_is_sent_again(signed_in, order, dose):
    form = chart_form()

    first = signed_in.post(chart_url(dose), form, **HTMX)
    again = signed_in.post(chart_url(dose), form, **HTMX)

    assert (first.status_code, again.status_code) == (200, 200)
    assert Administration.objects.count() == 1
    assert StockTransaction.objects.filter(kind="administer").count() == 1
    assert stock_left(order) == 29


@pytest.fixture
def charted_by_a_colleague(community, dose) -> User:
    colleague = UserFactory(facility=community.facility, initials="JD")
    CertificationFactory(user=colleague)
    charting.administration_record(
        user=colleague,
        idempotency_key="colleague-tablet-1",
        now=AT - 5 * MINUTE,
        entry=charting.ChartEntry(
            status="given", administered_at=AT - 5 * MINUTE, scheduled_dose=dose
        ),
    )
    return colleague


def test_it_answers_409_naming_who_charted_the_dose_already(
    signed_in, order, dose, charted_by_a_colleague
):
    response = signed_in.post(chart_url(dose), chart_form())

    assert response.status_code == 409
    assert "Already charted by J.D. at 07:25 (given)." in response.text
    assert Administration.objects.count() == 1
    assert stock_left(order) == 29


def test_it_puts_an_htmx_refusal_in_the_doses_own_panel(signed_in, dose, charted_by_a_colleague):
    response = signed_in.post(chart_url(dose), chart_form(), **HTMX)

    assert response.status_code == 409
    assert response["HX-Retarget"] == f"#panel-{dose.public_id}"
    assert response["HX-Reswap"] == "innerHTML"
    assert "Already charted by J.D." in response.text
    assert "<html" not in response.text


def test_it_charts_a_refused_dose_with_its_reason_code(signed_in, order, dose):
    response = signed_in.post(
        chart_url(dose), chart_form("refused", note="Said she would take it later")
    )

    record = Administration.objects.get()
    dose.refresh_from_db()
    assert response.status_code == 302
    assert (record.status, record.note) == ("refused", "Said she would take it later")
    assert dose.status == ScheduledDose.Status.CHARTED
    assert stock_left(order) == 30


def test_it_refuses_a_held_dose_without_a_reason_and_writes_nothing(signed_in, order, dose):
    response = signed_in.post(chart_url(dose), chart_form("held"), **HTMX)

    dose.refresh_from_db()
    assert response.status_code == 400
    assert "Say why the dose is held." in response.text
    assert response["HX-Retarget"] == f"#panel-{dose.public_id}"
    assert not Administration.objects.exists()
    assert dose.status == ScheduledDose.Status.PENDING
    assert stock_left(order) == 30


# --- PRN, follow-up, undo, concern ------------------------------------------------------------


def give_prn(client: Client, order: Order, **headers):
    form = {"idempotency_key": str(uuid.uuid4()), "prn_reason": "Knee pain 6/10"}
    return client.post(reverse("mar:prn_give", args=[order.public_id]), form, **headers)


def test_it_answers_422_with_the_time_a_prn_dose_is_allowed_again(signed_in, community, clock):
    prn = prn_order(community)
    first = give_prn(signed_in, prn)
    clock.shift(90 * MINUTE)

    too_soon = give_prn(signed_in, prn, **HTMX)

    assert first.status_code == 302
    assert too_soon.status_code == 422
    assert "Allowed again at 11:30." in too_soon.text
    assert too_soon["HX-Retarget"] == f"#prn-panel-{prn.public_id}"
    assert Administration.objects.count() == 1
    assert stock_left(prn) == 29


def test_it_asks_for_the_prn_follow_up_and_records_it(signed_in, community, clock):
    prn = prn_order(community)
    give_prn(signed_in, prn)
    record = Administration.objects.get()
    clock.shift(61 * MINUTE)

    page = signed_in.get(resident_url(community))
    response = signed_in.post(
        reverse("mar:record_effectiveness", args=[record.public_id]),
        {"result": "effective", "note": "Walking to lunch without a limp"},
        **HTMX,
    )

    check = EffectivenessCheck.objects.get()
    assert "PRN follow-up due" in page.text
    assert response.status_code == 200
    assert f"Follow-up charted for {escape(str(prn.medication))}." in response.text
    assert "PRN follow-up due" not in response.text
    assert (check.administration, check.result, check.recorded_by) == (
        record,
        "effective",
        community.tech,
    )


def test_it_keeps_a_refused_follow_up_in_the_dose_list_for_htmx(signed_in, community, clock):
    prn = prn_order(community)
    give_prn(signed_in, prn)
    record = Administration.objects.get()
    clock.shift(61 * MINUTE)

    response = signed_in.post(
        reverse("mar:record_effectiveness", args=[record.public_id]),
        {"result": "not_effective", "note": ""},
        **HTMX,
    )

    assert response.status_code == 400
    assert response.text.lstrip().startswith('<div id="pass-body">')
    assert "<html" not in response.text
    assert "Say what you observed when the dose was not effective." in response.text
    assert "PRN follow-up due" in response.text
    assert not EffectivenessCheck.objects.exists()


def test_it_refuses_an_undo_after_two_minutes_in_the_dose_list_for_htmx(
    signed_in, order, dose, clock
):
    signed_in.post(chart_url(dose), chart_form())
    record = Administration.objects.get()
    clock.shift(3 * MINUTE)

    response = signed_in.post(
        reverse("mar:record_undo", args=[record.public_id]), {"reason": "Oops"}, **HTMX
    )

    record.refresh_from_db()
    assert response.status_code == 403
    assert response.text.lstrip().startswith('<div id="pass-body">')
    assert "within 2 minutes" in response.text
    assert not record.is_entered_in_error
    assert stock_left(order) == 29


def test_it_undoes_a_dose_charted_in_error_and_puts_the_stock_back(
    signed_in, community, order, dose, clock
):
    signed_in.post(chart_url(dose), chart_form())
    record = Administration.objects.get()
    clock.shift(MINUTE)

    page = signed_in.get(resident_url(community))
    response = signed_in.post(
        reverse("mar:record_undo", args=[record.public_id]), {"reason": "Wrong resident"}
    )

    record.refresh_from_db()
    dose.refresh_from_db()
    assert reverse("mar:record_undo", args=[record.public_id]) in page.text
    assert response.status_code == 302
    assert record.is_entered_in_error
    assert record.amendments.get().reason == "Wrong resident"
    assert dose.status == ScheduledDose.Status.PENDING
    assert stock_left(order) == 30


def test_it_sends_a_concern_report_to_every_nurse_of_the_community(signed_in, community, clock):
    response = signed_in.post(
        reverse("mar:concern_new", args=[community.resident.public_id]),
        {"kind": "adverse_reaction", "description": "Hives on both forearms"},
    )

    report = ConcernReport.objects.get()
    alerts = Notification.objects.filter(kind=Notification.Kind.CONCERN_REPORTED)
    assert response.status_code == 302
    assert response.url == resident_url(community)
    assert (report.resident, report.reported_by) == (community.resident, community.tech)
    assert report.description == "Hives on both forearms"
    assert sorted(alerts.values_list("recipient_id", flat=True)) == sorted(
        [community.nurse.pk, community.second_nurse.pk]
    )
    assert set(alerts.values_list("subject_key", flat=True)) == {f"concern:{report.pk}"}


# --- Certification --------------------------------------------------------------------------


def test_it_shows_a_med_tech_with_an_expired_certification_why_and_no_given_buttons(
    signed_in, community, order, dose
):
    community.tech.certifications.update(expires_on=dt.date(2026, 11, 19))

    page = signed_in.get(resident_url(community))
    response = signed_in.post(chart_url(dose), chart_form(), **HTMX)

    assert "expired on Nov 19, 2026, so you cannot chart" in page.text
    assert "You cannot chart" in page.text
    assert f"{chart_url(dose)}?status=given" not in page.text
    assert ">Given</a>" not in page.text
    assert response.status_code == 403
    assert "expired on Nov 19, 2026" in response.text
    assert not Administration.objects.exists()


# --- Query counts -----------------------------------------------------------------------------

# The same at 10 and at 100 residents: they must grow with neither residents nor doses.
# Cart: session, user, cart, pass times, residents, their doses, PRN follow-ups waiting,
# on duty?, unread count.
CART_PAGE_QUERIES = 9
# Resident: session, user, resident, pass times, doses (with whether the cart holds each
# one's medication), orders without doses (PRN, awaiting verification, with the same),
# the records (the doses', PRN and recent ones: one query), allergies, membership with its
# current certification (one query), unread count, the audit row of the read.
RESIDENT_PAGE_QUERIES = 11


# Charting over htmx: session, user, dose; the service (BEGIN, dose lock, membership with
# its current certification, the doses before and after it with their given times (the
# spacing rule), record, stock take (one UPDATE ... RETURNING), ledger row, dose status,
# the dose's reminders settled for everyone, whether the resident was away at that time,
# audit row, chain lock, chain seal, COMMIT); then the refreshed dose list (no second
# permission check; pass times, doses, orders without doses, records, allergies) and the
# audit row of that read.
CHART_POST_QUERIES = 23


def test_it_charts_over_htmx_in_a_fixed_number_of_queries(
    signed_in, community, dose, django_assert_num_queries
):
    signed_in.get(resident_url(community))  # warm-up: the session learns the time zone

    with django_assert_num_queries(CHART_POST_QUERIES):
        response = signed_in.post(chart_url(dose), chart_form(), **HTMX)

    assert response.status_code == 200


def _chart_first_due_dose_of_each(residents, *, user: User) -> None:
    """Chart one due dose given per resident in the building (with normal vitals where the
    order needs them), so the pages show given and due doses and records with their staff."""
    for row in residents:
        if row.resident.status != Resident.Status.ACTIVE:
            continue  # away: nothing is charted for them
        dose = (
            ScheduledDose.objects.filter(
                resident=row.resident,
                status=ScheduledDose.Status.PENDING,
                window_start__lte=NOW,
                window_end__gte=NOW,
            )
            .select_related("order")
            .order_by("scheduled_at", "id")
            .first()
        )
        if dose is None:
            continue
        charting.administration_record(
            user=user,
            idempotency_key=f"bench-{dose.pk}",
            now=NOW,
            entry=charting.ChartEntry(
                status="given",
                administered_at=NOW,
                scheduled_dose=dose,
                vitals={name: NORMAL_VITALS[name] for name in dose.order.vitals_needed},
                scanned_code=dose.order.rx_number,
            ),
        )


def _give_a_prn_dose_to(resident, *, user: User) -> None:
    """A PRN dose 90 minutes ago, so its follow-up is due on the pass page."""
    prn = (
        Order.objects.filter(
            resident=resident, frequency=Order.Frequency.PRN, status=Order.Status.ACTIVE
        )
        .order_by("id")
        .first()
    )
    charting.administration_record(
        user=user,
        idempotency_key=f"prn-{prn.pk}",
        now=NOW,
        entry=charting.ChartEntry(
            status="given",
            administered_at=NOW - 90 * MINUTE,
            order=prn,
            prn_reason="As needed",
            note="Charted after the fact",
            vitals={name: NORMAL_VITALS[name] for name in prn.vitals_needed},
            scanned_code=prn.rx_number,
        ),
    )


def _page_queries(residents: int, assert_max_queries, ceiling: int) -> dict[str, int]:
    """Build the demo community at this size, chart some of the pass, measure both pages;
    then roll the community back so the next size starts from the same empty database."""
    counts = {}
    with time_machine.travel(NOW, tick=False), transaction.atomic():
        demo_community_seed(now=NOW, residents=residents)
        doses_materialize(now=NOW)
        tech = User.objects.get(username="tech1")
        cart = MedCart.objects.get(assignments__user=tech, assignments__ended_at__isnull=True)
        _, rows = selectors.cart_residents(cart=cart, now=NOW)
        _chart_first_due_dose_of_each(rows, user=tech)
        with_prn = [
            row
            for row in rows
            if row.resident.orders.filter(frequency=Order.Frequency.PRN).exists()
        ]
        busiest = max(with_prn, key=lambda row: row.due + row.late + row.given + row.upcoming)
        _give_a_prn_dose_to(busiest.resident, user=tech)
        client = Client()
        client.force_login(tech)
        cart_url = reverse("mar:pass_cart", args=[cart.public_id])
        pass_url = reverse("mar:pass_resident", args=[busiest.resident.public_id])
        client.get(cart_url)  # warm-up: the session learns the facility's time zone

        with assert_max_queries(ceiling) as cart_queries:
            cart_page = client.get(cart_url)
        with assert_max_queries(ceiling) as pass_queries:
            pass_page = client.get(pass_url)

        assert cart_page.status_code == pass_page.status_code == 200
        assert cart_page.text.count('class="resident-row') == len(rows) >= residents // 2
        assert "PRN follow-up due" in pass_page.text
        assert "Due now" in pass_page.text
        counts = {"cart": len(cart_queries), "pass": len(pass_queries)}
        transaction.set_rollback(True)
    return counts


@pytest.mark.slow
def test_its_pages_make_the_same_number_of_queries_for_10_and_100_residents(
    db, django_assert_max_num_queries
):
    ceiling = max(CART_PAGE_QUERIES, RESIDENT_PAGE_QUERIES)

    small = _page_queries(10, django_assert_max_num_queries, ceiling)
    large = _page_queries(100, django_assert_max_num_queries, ceiling)

    assert small == large
    assert small == {"cart": CART_PAGE_QUERIES, "pass": RESIDENT_PAGE_QUERIES}
