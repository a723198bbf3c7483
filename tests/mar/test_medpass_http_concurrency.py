"""Many tablets charting the same dose at once, over real HTTP against pytest-django's
live_server (a threaded WSGI server: one thread, and one database connection, per
request) and real PostgreSQL.

Each simulated tablet is its own signed-in session (made with the test client's
``force_login``) with its own CSRF token (read from the cookie the resident's page
sets), and talks to the server with the standard library's http.client. All of them
wait at a barrier, then send at once.

These tests commit (``transaction=True``) and keep 50 connections busy, so they run on
one xdist worker together.
"""

from __future__ import annotations

import datetime as dt
import http.client
import threading
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from inventory.models import StockItem, StockTransaction
from mar.models import Administration, Order, ScheduledDose
from mar.services.doses import doses_sync_for_order
from staff.models import User
from tests import clock
from tests.factories import CertificationFactory, OrderFactory, StockItemFactory, UserFactory
from tests.mar.conftest import Community

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("concurrency"),
    pytest.mark.slow,
]

CLIENTS = 50
TECHS = 5
TIMEOUT_S = 30


@dataclass
class Tablet:
    """One signed-in browser: its session and CSRF cookies."""

    user: User
    sessionid: str
    csrftoken: str = ""

    @property
    def cookie(self) -> str:
        return f"sessionid={self.sessionid}; csrftoken={self.csrftoken}"


@dataclass(frozen=True)
class Answer:
    status: int
    body: str


class Server:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port

    def request(self, method: str, path: str, *, tablet: Tablet, form=None) -> Answer:
        """One request on its own connection, as a browser tab would send it with htmx."""
        headers = {"Cookie": tablet.cookie, "HX-Request": "true", "Connection": "close"}
        body = None
        if form is not None:
            body = urlencode(form)
            headers |= {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-CSRFToken": tablet.csrftoken,
            }
        conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT_S)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            answer = Answer(response.status, response.read().decode())
            cookies = SimpleCookie()
            for header in response.headers.get_all("Set-Cookie") or []:
                cookies.load(header)
            if "csrftoken" in cookies:
                tablet.csrftoken = cookies["csrftoken"].value
            return answer
        finally:
            conn.close()


def certified_techs(community: Community) -> list[User]:
    techs = [community.tech]
    for _ in range(TECHS - 1):
        tech = UserFactory(role=User.Role.MED_TECH, facility=community.facility)
        CertificationFactory(user=tech)
        techs.append(tech)
    return techs


def signed_in_tablets(techs: list[User]) -> list[Tablet]:
    """CLIENTS sessions, spread over the techs (each tech is signed in on several)."""
    tablets = []
    for index in range(CLIENTS):
        user = techs[index % len(techs)]
        client = Client()
        client.force_login(user)
        tablets.append(Tablet(user=user, sessionid=client.cookies["sessionid"].value))
    return tablets


def all_at_once(tablets: list[Tablet], send, *, per_tablet: int) -> tuple[list, float]:
    """Each tablet opens the resident's page (its CSRF cookie), waits for the others,
    then sends ``per_tablet`` requests one after another.

    Returns every answer (or the error a request raised instead) and the seconds from
    the barrier's release to the last answer.
    """
    released: list[float] = []
    barrier = threading.Barrier(
        len(tablets), action=lambda: released.append(time.perf_counter()), timeout=TIMEOUT_S
    )
    answers: list[Answer | str] = []
    lock = threading.Lock()

    def run(index: int, tablet: Tablet) -> None:
        mine: list[Answer | str] = []
        try:
            send(tablet, None)  # GET: the page the tablet charts from
            barrier.wait()
            for attempt in range(per_tablet):
                mine.append(send(tablet, f"tablet-{index}-{attempt}"))
        except Exception as error:  # pragma: no cover - shows up in the assertions
            mine.append(repr(error))
        finally:
            with lock:
                answers.extend(mine)

    threads = [
        threading.Thread(target=run, args=(index, tablet), daemon=True)
        for index, tablet in enumerate(tablets)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT_S * 2)
    assert not any(thread.is_alive() for thread in threads), "a client hung"
    assert released, "the tablets never all got their page"
    return answers, time.perf_counter() - released[0]


def status_counts(answers: list[Answer | str]) -> Counter:
    return Counter(answer.status if isinstance(answer, Answer) else answer for answer in answers)


@pytest.fixture
def community() -> Community:
    return Community()


@pytest.fixture
def server(live_server) -> Server:
    # Django's test server listens with a backlog of 10 (WSGIServer.request_queue_size):
    # 50 tablets connecting in the same instant overflow it and connections are reset
    # before the server ever sees them. A second listen() on Linux raises the backlog of
    # the socket the server already listens on.
    live_server.thread.httpd.socket.listen(CLIENTS * 2)
    return Server(live_server.url)


def due_now_order(community: Community) -> Order:
    """A daily order at this very minute (facility time), so its dose is due now."""
    local_now = clock.now().astimezone(community.facility.zone)
    order = OrderFactory(
        resident=community.resident,
        medication=community.medication,
        administration_times=[f"{local_now:%H:%M}"],
        starts_at=clock.now() - dt.timedelta(days=7),
    )
    StockItemFactory(
        cart=community.cart,
        resident=community.resident,
        medication=order.medication,
        order=order,
        quantity_on_hand=Decimal("30"),
    )
    return order


def test_it_charts_a_dose_sent_200_times_from_50_tablets_exactly_once(server, community, request):
    order = due_now_order(community)
    doses_sync_for_order(order=order, now=clock.now())
    dose = ScheduledDose.objects.get(order=order, scheduled_at__lte=clock.now())
    techs = certified_techs(community)
    tablets = signed_in_tablets(techs)
    page = reverse("mar:pass_resident", args=[community.resident.public_id])
    chart = reverse("mar:dose_chart", args=[dose.public_id])

    def send(tablet: Tablet, key: str | None) -> Answer:
        if key is None:
            return server.request("GET", page, tablet=tablet)
        return server.request(
            "POST", chart, tablet=tablet, form={"idempotency_key": key, "status": "given"}
        )

    answers, seconds = all_at_once(tablets, send, per_tablet=200 // CLIENTS)

    request.node.user_properties.append(("burst_seconds", round(seconds, 2)))
    statuses = status_counts(answers)
    conflicts = [answer for answer in answers if getattr(answer, "status", None) == 409]
    record = Administration.objects.get(scheduled_dose=dose)
    ledger = StockTransaction.objects.get(kind=StockTransaction.Kind.ADMINISTER)
    assert statuses == {200: 1, 409: 199}, statuses
    assert not [status for status in statuses if isinstance(status, int) and status >= 500]
    assert all("Already charted by" in answer.body for answer in conflicts)
    initials = "".join(
        f"{letter}." for letter in record.administered_by.initials if letter.isalpha()
    )
    assert all(f"Already charted by {initials} at" in answer.body for answer in conflicts)
    assert record.administered_by in techs
    assert (ledger.administration, ledger.quantity) == (record, -order.dose_amount)
    assert StockItem.objects.get(order=order).quantity_on_hand == Decimal("29")


def test_it_gives_one_of_50_prn_doses_sent_at_once_and_refuses_the_rest(server, community, request):
    prn = OrderFactory(
        resident=community.resident,
        frequency=Order.Frequency.PRN,
        administration_times=[],
        prn_min_interval_minutes=240,
        prn_max_per_24h=4,
        indication="Knee pain",
    )
    StockItemFactory(
        cart=community.cart,
        resident=community.resident,
        medication=prn.medication,
        order=prn,
        quantity_on_hand=Decimal("30"),
    )
    tablets = signed_in_tablets(certified_techs(community))
    page = reverse("mar:pass_resident", args=[community.resident.public_id])
    give = reverse("mar:prn_give", args=[prn.public_id])

    def send(tablet: Tablet, key: str | None) -> Answer:
        if key is None:
            return server.request("GET", page, tablet=tablet)
        form = {"idempotency_key": key, "prn_reason": "Knee pain 6/10"}
        return server.request("POST", give, tablet=tablet, form=form)

    answers, seconds = all_at_once(tablets, send, per_tablet=1)

    request.node.user_properties.append(("burst_seconds", round(seconds, 2)))
    statuses = status_counts(answers)
    refusals = [answer for answer in answers if getattr(answer, "status", None) == 422]
    assert statuses == {200: 1, 422: 49}, statuses
    assert all("Too soon" in answer.body for answer in refusals)
    assert all("Allowed again at" in answer.body for answer in refusals)
    assert Administration.objects.filter(order=prn).count() == 1
    assert StockItem.objects.get(order=prn).quantity_on_hand == Decimal("29")
