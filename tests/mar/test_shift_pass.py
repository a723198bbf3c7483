"""Issue 20, items 1-5: the med pass taps over a shift, through the pages and the API.

Give all due (one confirm for a resident's plain due doses, each charted by the charting
service with its own key), Not given with nothing preselected, a crossed hold parameter
charted held in one tap with the readings taken, and a dose before its window offering
the nurse's override instead of Given. Every test stands at ``AT`` (07:30 in Chicago):
the community's 08:00 doses are due (window 07:00-09:00).
"""

from __future__ import annotations

import datetime as dt
import html
import re
import uuid

import pytest
from django.urls import reverse
from django.utils.html import escape
from rest_framework.test import APIClient

from inventory.models import StockItem
from mar.models import Administration, ScheduledDose
from mar.services import administrations as charting
from tests.factories import MedicationFactory, api_token
from tests.world import AT, Community, first_dose

HTMX = {"HTTP_HX_REQUEST": "true"}
HOLD_BELOW_100 = {
    "required_vitals": ["systolic"],
    "hold_parameters": [{"vital": "systolic", "comparator": "<", "limit": 100}],
}


@pytest.fixture
def moment() -> dt.datetime:
    return AT


@pytest.fixture
def signed_in(client, community):
    client.force_login(community.tech)
    return client


def plain_orders(community: Community, count: int) -> list:
    return [
        community.stocked_order(medication=MedicationFactory(generic_name=f"plainamine {n}"))
        for n in range(count)
    ]


def resident_url(community: Community) -> str:
    return reverse("mar:pass_resident", args=[community.resident.public_id])


def give_all_url(community: Community) -> str:
    return reverse("mar:pass_give_all", args=[community.resident.public_id])


def confirm_form(html: str) -> dict[str, list[str]]:
    """The Give all due screen's form as the browser posts it (every box ticked)."""
    doses = re.findall(r'name="dose" value="([0-9a-f-]{36})"', html)
    keys = dict(re.findall(r'name="key-([0-9a-f-]{36})" value="([^"]+)"', html))
    return {"dose": doses} | {f"key-{dose}": keys[dose] for dose in doses}


# --- 1. Give all due -------------------------------------------------------------------------


def test_give_all_lists_the_plain_due_doses_and_leaves_the_others_to_their_cards(
    signed_in, community
):
    plain = plain_orders(community, 6)
    vitals = community.stocked_order(
        medication=MedicationFactory(generic_name="lisinopril"), **HOLD_BELOW_100
    )
    controlled = community.stocked_order(
        medication=MedicationFactory(generic_name="oxycodone", dea_schedule="II")
    )

    page = signed_in.get(resident_url(community))
    assert "Give all due (6)" in page.text

    screen = signed_in.get(give_all_url(community), **HTMX)

    assert screen.status_code == 200
    form = confirm_form(screen.text)
    assert form["dose"] == [str(first_dose(order).public_id) for order in plain]
    assert len({form[f"key-{dose}"] for dose in form["dose"]}) == 6  # a key each
    for order in plain:  # the five rights of each dose
        assert escape(str(order.medication)) in screen.text
    assert "1 tablet</strong> · By mouth (PO) ·" in " ".join(screen.text.split())
    assert "08:00" in screen.text
    assert escape(community.resident.display_name) in screen.text
    assert "lisinopril" in screen.text and "it needs vitals before it is given" in screen.text
    assert "oxycodone" in screen.text and "witness" in screen.text
    assert str(first_dose(vitals).public_id) not in form["dose"]
    assert str(first_dose(controlled).public_id) not in form["dose"]


def test_no_give_all_where_every_package_is_scanned(signed_in, community):
    community.facility.requires_scan = True
    community.facility.save()
    plain_orders(community, 3)

    assert "Give all due" not in signed_in.get(resident_url(community)).text
    screen = signed_in.get(give_all_url(community), **HTMX)
    assert 'name="dose"' not in screen.text
    assert "the package must be scanned first" in screen.text


def test_give_all_charts_each_dose_through_the_charting_service_with_its_own_key(
    signed_in, community
):
    plain = plain_orders(community, 6)
    form = confirm_form(signed_in.get(give_all_url(community), **HTMX).text)

    response = signed_in.post(give_all_url(community), form, **HTMX)

    assert response.status_code == 200
    assert "Given: 6 doses" in response.text
    records = Administration.objects.filter(resident=community.resident)
    assert {(r.scheduled_dose.public_id.hex, r.status) for r in records} == {
        (uuid.UUID(dose).hex, "given") for dose in form["dose"]
    }
    assert {r.idempotency_key for r in records} == {form[f"key-{d}"] for d in form["dose"]}
    assert all(r.administered_by == community.tech and r.source == "tablet" for r in records)
    assert all(StockItem.objects.get(order=order).quantity_on_hand == 29 for order in plain)
    assert not ScheduledDose.objects.filter(
        pk__in=[first_dose(order).pk for order in plain], status="pending"
    ).exists()


def test_a_retry_of_the_same_confirm_charts_nothing_twice(signed_in, community, clock):
    plain_orders(community, 3)
    form = confirm_form(signed_in.get(give_all_url(community), **HTMX).text)
    signed_in.post(give_all_url(community), form, **HTMX)
    clock.shift(dt.timedelta(seconds=20))

    again = signed_in.post(give_all_url(community), form, **HTMX)

    assert again.status_code == 200
    assert "Given: 3 doses" in again.text
    assert "give-all-refused" not in again.text
    assert Administration.objects.filter(resident=community.resident).count() == 3


def test_each_refused_dose_is_named_and_the_others_are_charted(signed_in, community):
    plain = plain_orders(community, 3)
    form = confirm_form(signed_in.get(give_all_url(community), **HTMX).text)
    charting.administration_record(  # another tablet charts the second dose meanwhile
        user=community.colleague(),
        idempotency_key="other-tablet",
        now=AT,
        entry=charting.ChartEntry(
            status="given", administered_at=AT, scheduled_dose=first_dose(plain[1])
        ),
    )

    response = signed_in.post(give_all_url(community), form, **HTMX)

    assert "Given: 2 doses" in response.text
    refused = re.search(r'data-testid="give-all-refused">(.*?)</div>', response.text, re.S)
    assert refused and escape(str(plain[1].medication)) in refused.group(1)
    assert Administration.objects.filter(administered_by=community.tech).count() == 2


def test_a_dose_that_needs_vitals_is_never_charted_in_a_batch(signed_in, community):
    vitals = community.stocked_order(**HOLD_BELOW_100)
    dose = first_dose(vitals)

    response = signed_in.post(
        give_all_url(community), {"dose": [str(dose.public_id)], f"key-{dose.public_id}": "k1"}
    )

    assert response.status_code == 302
    assert not Administration.objects.exists()
    followed = signed_in.get(response["Location"])
    assert "Chart it on its own: it needs vitals before it is given." in followed.text


def test_give_all_with_nothing_ticked_charts_nothing(signed_in, community):
    plain_orders(community, 2)

    response = signed_in.post(give_all_url(community), {}, **HTMX)

    assert response.status_code == 400
    assert "No dose was ticked" in response.text
    assert not Administration.objects.exists()


def test_give_all_of_another_communitys_resident_is_not_found(signed_in, db):
    other = Community()
    assert signed_in.get(give_all_url(other)).status_code == 404
    assert signed_in.post(give_all_url(other), {}).status_code == 404


# --- 2. Not given: nothing preselected, a reason code always chosen ---------------------------


def test_not_given_preselects_no_reason(signed_in, community):
    dose = first_dose(community.stocked_order())
    page = signed_in.get(resident_url(community))
    chart = reverse("mar:dose_chart", args=[dose.public_id])
    assert f"{chart}?status=not_given" in page.text

    for status in ("not_given", "refused"):  # an old link preselects nothing either
        panel = signed_in.get(f"{chart}?status={status}", **HTMX)
        assert "Why was it not given?" in panel.text
        assert not re.search(r'name="status"[^>]*checked', panel.text)


def test_not_given_without_a_reason_code_is_refused_saying_so(signed_in, community):
    dose = first_dose(community.stocked_order())

    response = signed_in.post(
        reverse("mar:dose_chart", args=[dose.public_id]),
        {"idempotency_key": "k-1", "reason": ""},
        **HTMX,
    )

    assert response.status_code == 400
    assert "Choose why it was not given" in response.text
    assert "Why was it not given?" in response.text  # the not-given panel again, not Given
    assert not Administration.objects.exists()


def test_the_api_refuses_a_chart_without_its_status(community):
    dose = first_dose(community.stocked_order())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(community.tech)}")

    response = client.post(
        reverse("api:administrations"),
        {"scheduled_dose": str(dose.public_id), "administered_at": AT.isoformat()},
        format="json",
        HTTP_IDEMPOTENCY_KEY="tablet-1:0001",
    )

    assert response.status_code == 400
    assert response.json()["field"] == "status"
    assert not Administration.objects.exists()


# --- 3. A crossed hold parameter: one tap charts it held with the readings ------------------


def test_a_scheduled_dose_past_its_hold_parameter_is_charted_held_in_one_tap(signed_in, community):
    dose = first_dose(community.stocked_order(**HOLD_BELOW_100))
    chart = reverse("mar:dose_chart", args=[dose.public_id])

    stopped = signed_in.post(
        chart,
        {
            "idempotency_key": "k-given",
            "status": "given",
            "vital_systolic": "92",
            "vital_diastolic": "60",
        },
        **HTMX,
    )

    assert stopped.status_code == 422
    assert "Chart it held (systolic 92 &lt; 100: hold)" in stopped.text
    held_form = re.search(r'<form[^>]*class="chart-held".*?</form>', stopped.text, re.S).group(0)
    fields = {
        name: html.unescape(value)
        for name, value in re.findall(r'name="([a-z_]+)" value="([^"]*)"', held_form)
    }
    assert fields["status"] == "held" and fields["vital_systolic"] == "92"

    charted = signed_in.post(chart, fields, **HTMX)  # the one tap

    assert charted.status_code == 200
    record = Administration.objects.get(scheduled_dose=dose)
    assert (record.status, record.reason) == (
        "held",
        "systolic 92 < 100: hold",
    )
    assert record.vitals["systolic"] == "92" and record.vitals["diastolic"] == "60"


# --- 4. Before the window opens: "opens at", and the nurse's override ------------------------


def test_a_dose_before_its_window_says_when_it_opens_and_offers_the_override(signed_in, community):
    order = community.stocked_order(administration_times=["09:00", "21:00"])
    dose = first_dose(order)
    chart = reverse("mar:dose_chart", args=[dose.public_id])

    page = signed_in.get(resident_url(community))

    card = re.search(rf'id="dose-{dose.public_id}".*?</article>', page.text, re.S).group(0)
    assert "Opens at 08:00" in card  # twice a day: a window of an hour either side
    assert "Early: nurse override" in card
    assert ">Given</a>" not in card
    panel = signed_in.get(f"{chart}?status=given", **HTMX)
    assert "This dose&#x27;s window opens at 08:00" in panel.text
    assert "Nurse override" in panel.text and "Override and chart" in panel.text
    assert "Confirm given" not in panel.text  # it would only be refused


def test_an_override_granted_from_the_nurses_device_opens_a_plain_confirm(signed_in, community):
    dose = first_dose(community.stocked_order(administration_times=["09:00", "21:00"]))
    charting.dose_override_request(
        user=community.tech, what_stopped="early", now=AT, scheduled_dose=dose
    )
    charting.dose_override_grant(
        nurse=community.nurse, reason="Leaving for dialysis", now=AT, scheduled_dose=dose
    )

    panel = signed_in.get(
        reverse("mar:dose_chart", args=[dose.public_id]) + "?status=given", **HTMX
    )

    assert "Override and chart" not in panel.text
    assert "Confirm given" in panel.text
