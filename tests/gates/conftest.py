"""The medication-error gates, each tried through every way in: the tablet's page, the
REST API and the offline sync (a queued dose sent through the API with its headers).

``ways.chart(way, ...)`` sends the same chart each way and answers the status code and
what the person is told (the page's alert, the API's ``detail``), so a test can assert
that every way refuses with the same words and stores nothing.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import uuid
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse

from mar.models import Order, ScheduledDose
from staff.models import User
from tests.api.conftest import client_for
from tests.world import AT, Community, dose_due

WAYS = ["page", "api", "offline"]
URL = "/api/v1/administrations/"


@pytest.fixture
def moment() -> dt.datetime:
    return AT


@dataclass(frozen=True)
class Answer:
    status: int
    text: str  # what the person is told

    @property
    def recorded(self) -> bool:
        return self.status in (200, 201, 302)


class Ways:
    """Charting one way or another as ``user`` (the community's med tech by default)."""

    def __init__(self, community: Community) -> None:
        self.community = community
        self.zone = community.facility.zone

    def chart(
        self,
        way: str,
        *,
        dose: ScheduledDose | None = None,
        order: Order | None = None,
        user: User | None = None,
        at: dt.datetime = AT,
        status: str = "given",
        vitals: dict | None = None,
        **fields,
    ) -> Answer:
        user = user or self.community.tech
        if way == "page":
            return self._page(user, dose, order, at, status, vitals or {}, fields)
        body = {"status": status, "administered_at": at.isoformat(), **fields}
        body |= {"scheduled_dose": str(dose.public_id)} if dose else {"order": str(order.public_id)}
        if vitals:
            body["vitals"] = {name: float(value) for name, value in vitals.items()}
        headers = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
        if way == "offline":
            headers |= {
                "HTTP_X_OFFLINE_QUEUED_AT": at.isoformat(),
                "HTTP_X_OFFLINE_CHARTED_BY": str(user.public_id),
            }
        response = client_for(user).post(
            URL, json.dumps(body), content_type="application/json", **headers
        )
        return Answer(response.status_code, response.json().get("detail", ""))

    def _page(self, user, dose, order, at, status, vitals, fields) -> Answer:
        client = Client()
        client.force_login(user)
        form = {"idempotency_key": str(uuid.uuid4()), "status": status}
        form |= {f"vital_{name}": value for name, value in vitals.items()}
        if at != AT:
            form["given_at"] = f"{at.astimezone(self.zone):%H:%M}"
        for name, value in fields.items():
            form[name] = "" if value is None else str(value)
        url = (
            reverse("mar:dose_chart", args=[dose.public_id])
            if dose
            else reverse("mar:prn_give", args=[order.public_id])
        )
        response = client.post(url, form)
        alert = re.search(r'class="alert alert-danger" role="alert">(.*?)</p>', response.text, re.S)
        errors = re.findall(r'class="field-error">(.*?)</p>', response.text, re.S)
        text = alert.group(1) if alert else " ".join(errors)
        return Answer(response.status_code, html.unescape(text).strip())


@pytest.fixture
def community(db) -> Community:
    return Community(licensed_nurses=True)


@pytest.fixture
def ways(community) -> Ways:
    return Ways(community)


def stocked(community: Community, quantity: str = "30", **fields) -> Order:
    return community.stocked_order(quantity=quantity, stock_in_dose_unit=True, **fields)


def prn(community: Community, **fields) -> Order:
    return community.prn_order(**{"indication": "Pain"} | fields)


due = dose_due  # the order's dose due at AT (the 08:00 one of a twice-daily order)


def colleague(community: Community, **fields) -> User:
    return community.colleague(**fields)
