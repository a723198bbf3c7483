"""The stock pages: what each role may do, another community's 404, blind counts, and
query counts that do not grow with the cart."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory import services
from inventory.models import ControlledCount, ReorderRequest, StockItem, StockTransaction
from tests.factories import ResidentFactory, RoomFactory
from tests.inventory.conftest import NOW, PINS, TODAY, on_hand


@pytest.fixture
def signed_in(client):
    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


def test_the_start_page_lists_the_carts_and_what_needs_doing(room, signed_in):
    room.receive(quantity="4")

    page = signed_in(room.tech).get(reverse("inventory:index"))

    assert page.status_code == 200
    text = page.content.decode()
    assert "Cart A" in text
    assert "to reorder" in text


def test_the_cart_page_filters_by_resident_controlled_low_and_expiring(room, signed_in):
    room.receive(quantity="60")
    room.receive(room.controlled_order, quantity="4")
    client = signed_in(room.tech)
    url = reverse("inventory:cart_stock", args=[room.cart.public_id])

    everything = client.get(url).content.decode()
    controlled = client.get(url, {"controlled": "1"}).content.decode()
    low = client.get(url, {"low": "1"}, headers={"HX-Request": "true", "HX-Target": "stock-list"})

    assert "lisinopril" in everything
    assert "hydrocodone" in everything
    assert "lisinopril" not in controlled
    assert "Low: 2 days left" in controlled
    assert low.status_code == 200
    assert "<html" not in low.content.decode()
    assert "hydrocodone" in low.content.decode()
    assert "lisinopril" not in low.content.decode()


def test_the_cart_page_makes_the_same_queries_for_two_packages_or_twenty(room, signed_in):
    room.receive(quantity="60")
    room.receive(room.controlled_order, quantity="60")
    client = signed_in(room.nurse)
    url = reverse("inventory:cart_stock", args=[room.cart.public_id])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for number in range(9):
        resident = ResidentFactory(
            facility=room.facility,
            room=RoomFactory(facility=room.facility, unit=room.cart.unit, cart=room.cart),
        )
        other = room.order_for(room.medication, resident=resident)
        room.receive(other, quantity=str(10 + number))
        room.receive(other, quantity="5")

    with CaptureQueriesContext(connection) as many:
        page = client.get(url)

    assert page.content.decode().count('class="stock-row') == 20
    assert len(many) == len(few)


def test_the_cart_page_finds_packages_by_resident_drug_rx_and_lot(room, signed_in):
    room.receive(quantity="60", lot="LOTPLAIN1")
    room.receive(room.controlled_order, quantity="8", lot="LOTCTRL7")
    neighbour = ResidentFactory(
        facility=room.facility,
        last_name="Zebulon",
        room=RoomFactory(facility=room.facility, unit=room.cart.unit, cart=room.cart),
    )
    room.receive(room.order_for(room.medication, resident=neighbour, rx_number="RX999"))
    client = signed_in(room.tech)
    url = reverse("inventory:cart_stock", args=[room.cart.public_id])

    def found(query: str) -> str:
        return client.get(url, {"q": query}).content.decode()

    assert found("hydroco").count('class="stock-row') == 1
    assert found("RX999").count('class="stock-row') == 1
    assert "Zebulon" in found("zebul")
    assert found("lotctrl").count('class="stock-row') == 1
    assert found(room.resident.last_name).count('class="stock-row') == 2
    assert "matches these filters or “nothing-like-this”" in found("nothing-like-this")
    partial = client.get(
        url, {"q": "RX999"}, headers={"HX-Request": "true", "HX-Target": "stock-list"}
    )
    assert "<html" not in partial.content.decode()


def test_the_cart_page_groups_by_resident_and_pages_in_a_fixed_number_of_queries(
    room, signed_in, django_assert_max_num_queries
):
    client = signed_in(room.nurse)
    url = reverse("inventory:cart_stock", args=[room.cart.public_id])
    room.receive(quantity="60")
    client.get(url)  # warm-up: the session learns the time zone
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for number in range(12):
        resident = ResidentFactory(
            facility=room.facility,
            room=RoomFactory(facility=room.facility, unit=room.cart.unit, cart=room.cart),
        )
        for medication in (room.medication, room.controlled):
            room.receive(room.order_for(medication, resident=resident), quantity=str(5 + number))
    room.receive(room.controlled_order, quantity="7")  # the first resident's second: 26

    with django_assert_max_num_queries(len(one)):
        first = client.get(url).content.decode()
    with django_assert_max_num_queries(len(one)):
        second = client.get(url, {"page": "2"}).content.decode()

    assert "26 packages" in first and "page 1 of 2" in first
    assert first.count('class="stock-row') == 25
    assert second.count('class="stock-row') == 1
    assert first.count('class="stock-group-heading"') == 13
    assert first.count(room.resident.display_name) >= 1
    assert 'rel="next" href="?page=2"' in first
    assert 'rel="prev"' in second


def test_another_communitys_stock_is_not_found(room, signed_in):
    item = room.receive()
    client = signed_in(room.outsider)

    assert (
        client.get(reverse("inventory:cart_stock", args=[room.cart.public_id])).status_code == 404
    )
    assert client.get(reverse("inventory:item", args=[item.public_id])).status_code == 404
    assert client.get(reverse("inventory:item_log", args=[item.public_id])).status_code == 404
    assert client.post(reverse("inventory:waste", args=[item.public_id])).status_code == 404


def test_a_med_tech_wastes_but_does_not_return_adjust_or_transfer(room, signed_in):
    item = room.receive()
    client = signed_in(room.tech)

    for name in ("return", "adjust", "transfer"):
        assert client.get(reverse(f"inventory:{name}", args=[item.public_id])).status_code == 403
    page = client.get(reverse("inventory:item", args=[item.public_id])).content.decode()
    assert (
        "Record waste"
        in client.get(reverse("inventory:waste", args=[item.public_id])).content.decode()
    )
    assert "Return to pharmacy" not in page


def test_receiving_by_scanning_the_rx_number_picks_the_order(room, signed_in):
    client = signed_in(room.tech)
    url = reverse("inventory:receive", args=[room.cart.public_id])

    found = client.get(url, {"rx": "rx100300"}).content.decode()
    received = client.post(
        url,
        {
            "resident": room.resident.public_id,
            "order": room.controlled_order.public_id,
            "quantity": "30",
            "lot": "H55K2",
            "expires_on": (TODAY + dt.timedelta(days=90)).isoformat(),
            "rx_number": "RX100300",
            "package": "blister_card",
            "witness": room.nurse.public_id,
            "witness_secret": PINS["nurse"],
        },
    )

    assert re.search(rf'value="{room.controlled_order.public_id}"\s+required\s+checked', found)
    item = StockItem.objects.get()
    assert received.status_code == 302
    assert received.url == reverse("inventory:item", args=[item.public_id])
    assert item.transactions.get().witness == room.nurse


def test_a_wrong_witness_pin_keeps_the_form_and_says_why(room, signed_in):
    item = room.receive(room.controlled_order)

    page = signed_in(room.tech).post(
        reverse("inventory:waste", args=[item.public_id]),
        {
            "quantity": "1",
            "reason": "Dropped or contaminated",
            "witness": room.witness.public_id,
            "witness_secret": "135746",
        },
    )

    assert page.status_code == 400
    assert "Wrong PIN for" in page.content.decode()
    assert on_hand(item) == 30


def test_the_blind_count_shows_neither_the_record_nor_the_other_count(room, signed_in):
    room.receive(room.controlled_order, quantity="23")
    client = signed_in(room.tech)
    started = client.post(
        reverse("inventory:counts", args=[room.cart.public_id]),
        {"outgoing_user": room.tech.public_id, "incoming_user": room.witness.public_id},
    )
    count = ControlledCount.objects.get()
    line = count.lines.get()
    sign_url = reverse("inventory:count_sign", args=[count.public_id, "outgoing"])

    before = client.get(sign_url).content.decode()
    signed = client.post(sign_url, {f"line-{line.pk}": "22", "secret": PINS["tech"]})
    other_side = client.get(
        reverse("inventory:count_sign", args=[count.public_id, "incoming"])
    ).content.decode()
    overview = client.get(reverse("inventory:count", args=[count.public_id])).content.decode()

    assert started.url == reverse("inventory:count", args=[count.public_id])
    assert signed.status_code == 302
    for page in (before, other_side, overview):
        assert ">23<" not in page and 'value="23"' not in page
    assert ">22<" not in other_side and 'value="22"' not in other_side
    assert client.get(reverse("inventory:count_sheet", args=[count.public_id])).status_code == 302


def test_a_nurse_resolves_a_discrepancy_from_its_page(room, signed_in):
    item = room.receive(room.controlled_order, quantity="23")
    count = services.count_start(
        cart=room.cart, outgoing_user=room.tech, incoming_user=room.witness, by=room.tech, now=NOW
    )
    line = count.lines.get()
    for side, pin in (("outgoing", PINS["tech"]), ("incoming", PINS["witness"])):
        services.count_sign(count=count, side=side, quantities={line.pk: "22"}, secret=pin, now=NOW)
    client = signed_in(room.nurse)

    page = client.get(reverse("inventory:count", args=[count.public_id])).content.decode()
    resolved = client.post(
        reverse("inventory:count_resolve", args=[count.public_id]),
        {"note": "One tablet found in the bottom of the drawer", "adjust_to_count": ""},
    )
    sheet = client.get(reverse("inventory:count_sheet", args=[count.public_id]))

    assert "Resolve the discrepancy" in page
    assert resolved.status_code == 302
    count.refresh_from_db()
    assert count.status == ControlledCount.Status.RESOLVED
    assert on_hand(item) == 23
    assert "One tablet found" in sheet.content.decode()


def test_a_med_tech_cannot_resolve_a_discrepancy(room, signed_in):
    room.receive(room.controlled_order, quantity="23")
    count = services.count_start(
        cart=room.cart, outgoing_user=room.tech, incoming_user=room.witness, by=room.tech, now=NOW
    )
    line = count.lines.get()
    for side, pin in (("outgoing", PINS["tech"]), ("incoming", PINS["witness"])):
        services.count_sign(count=count, side=side, quantities={line.pk: "21"}, secret=pin, now=NOW)

    page = signed_in(room.tech).post(
        reverse("inventory:count_resolve", args=[count.public_id]), {"note": "Fine"}
    )

    assert page.status_code == 403
    count.refresh_from_db()
    assert count.status == ControlledCount.Status.DISCREPANCY


def test_a_nurse_marks_refills_requested_and_received(room, signed_in):
    room.receive(quantity="4")
    client = signed_in(room.nurse)

    client.post(
        reverse("inventory:reorder_request"),
        {"resident": room.resident.public_id, "medication": room.medication.public_id},
    )
    request = ReorderRequest.objects.get()
    listed = client.get(reverse("inventory:reorders")).content.decode()
    client.post(reverse("inventory:reorder_received", args=[request.public_id]))

    assert "Mark received" in listed
    request.refresh_from_db()
    assert request.status == ReorderRequest.Status.RECEIVED


def test_the_printable_running_log_names_who_and_the_witness(room, signed_in):
    item = room.receive(room.controlled_order, quantity="10")
    services.stock_transfer(item=item, to_cart=room.other_cart, by=room.nurse, now=NOW, quantity=2)
    client = signed_in(room.nurse)

    page = client.get(reverse("inventory:item_log", args=[item.public_id])).content.decode()
    expiry = client.get(reverse("inventory:expiry"))

    assert room.resident.display_name in page
    assert room.nurse.signature_name in page
    assert "Transferred out" in page
    assert StockTransaction.objects.filter(stock_item=item).count() == 2
    assert expiry.status_code == 200


def test_a_cart_with_a_count_open_hides_its_controlled_quantities_on_the_stock_pages(
    room, signed_in
):
    plain = room.receive(quantity="41")
    controlled = room.receive(room.controlled_order, quantity="23")
    client = signed_in(room.tech)
    stock_url = reverse("inventory:cart_stock", args=[room.cart.public_id])
    item_url = reverse("inventory:item", args=[controlled.public_id])
    log_url = reverse("inventory:item_log", args=[controlled.public_id])
    assert "<strong>23</strong>" in client.get(stock_url).content.decode()

    services.count_start(
        cart=room.cart, outgoing_user=room.tech, incoming_user=room.witness, by=room.tech, now=NOW
    )
    stock = client.get(stock_url).content.decode()
    item = client.get(item_url).content.decode()
    plain_item = client.get(reverse("inventory:item", args=[plain.public_id])).content.decode()
    log = client.get(log_url)

    assert "quantities are hidden until it closes" in stock
    assert "<strong>41</strong>" in stock
    assert ">23<" not in stock and "23 tablet" not in stock
    assert "On hand hidden until the shift count" in item
    assert ">23<" not in item
    assert ">41<" in plain_item
    assert log.status_code == 302 and log.url == item_url


def test_a_nurse_who_counted_cannot_resolve_the_discrepancy_another_nurse_can(room, signed_in):
    room.receive(room.controlled_order, quantity="23")
    count = services.count_start(
        cart=room.cart, outgoing_user=room.tech, incoming_user=room.nurse, by=room.tech, now=NOW
    )
    line = count.lines.get()
    for side, pin in (("outgoing", PINS["tech"]), ("incoming", PINS["nurse"])):
        services.count_sign(count=count, side=side, quantities={line.pk: "22"}, secret=pin, now=NOW)
    counter = signed_in(room.nurse)
    url = reverse("inventory:count_resolve", args=[count.public_id])

    page = counter.get(reverse("inventory:count", args=[count.public_id])).content.decode()
    refused = counter.post(url, {"note": "Looked again, all fine"})
    with pytest.raises(services.StockNotPermitted, match="did not count"):
        services.count_resolve(count=count, by=room.nurse, note="Fine", now=NOW)

    assert "Resolve the discrepancy" not in page
    assert "A nurse who did not count resolves" in page
    assert refused.status_code == 403
    assert "did not count" in refused.content.decode()
    count.refresh_from_db()
    assert count.status == ControlledCount.Status.DISCREPANCY

    resolved = signed_in(room.second_nurse).post(url, {"note": "One tablet found in the drawer"})

    assert resolved.status_code == 302
    count.refresh_from_db()
    assert count.status == ControlledCount.Status.RESOLVED
    assert count.resolved_by == room.second_nurse
