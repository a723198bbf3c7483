"""Every URL of the project, for every role, for a user of another community and for
nobody signed in, gives the answer the permission matrix (``medtech.core.permissions``) says.

``ROUTES`` has one entry per URL pattern (pages, API, FHIR; not the Django admin's own
nor static files). Each names the matrix area the URL belongs to, how to call it and
what a permitted caller gets. From those the test derives every other answer:

- a role outside the area: 403
- a user of another community (of a role inside the area) on a URL naming one of this
  community's records: 404; on a list or a form without a record: what a permitted caller
  gets (they see their own community's rows only)
- nobody signed in: the sign-in page (302) for pages, 401 for the API and FHIR

A URL pattern without an entry fails ``test_every_url_pattern_has_an_entry``; the lead
adds it to ``ROUTES`` with the answer the matrix gives it.

POSTs are sent without a body, each inside a savepoint rolled back afterwards, so one
caller's write never changes what the next one sees.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from medtech.core import permissions
from medtech.core.permissions import Area
from staff.models import User
from tests.security.conftest import MONTH, World

ROLES = permissions.ROLES
CATCH_ALLS = {"api:?": "/api/", "fhir:?": "/fhir/r4/"}  # unnamed patterns: unknown paths
EXCLUDED_NAMESPACES = {"admin"}  # the Django admin's own views; static files are not routed


@dataclass(frozen=True)
class Route:
    """How to call one URL pattern and what a permitted caller gets.

    ``area``: the matrix area, or None for URLs open to anyone (sign-in, health).
    ``args``: URL kwarg -> attribute of the ``World`` (a record of community A, whose
    ``public_id`` is used), or a function of (world, caller) for per-caller ids, or a
    plain string. ``ok``: the status a permitted caller gets; a dict gives it per role.
    ``api``: answers 401 (not the sign-in page) to nobody signed in.
    """

    area: Area | None
    method: str = "get"
    args: dict[str, Any] = field(default_factory=dict)
    ok: int | dict[str, int] = 200
    api: bool = False
    query: str = ""

    def ok_for(self, role: str) -> int:
        return self.ok[role] if isinstance(self.ok, dict) else self.ok

    @property
    def names_a_record(self) -> bool:
        return any(not isinstance(value, str) or value in RECORDS for value in self.args.values())


RECORDS = {"cart", "resident", "dose", "prn", "record", "concern", "item", "count", "reorder"}
RECORDS |= {"job", "facility", "order", "followup"}


def tech_certification(world: World, caller: User | None) -> int:
    return world.users["med_tech"].certifications.order_by("id").values_list("id", flat=True)[0]


def tech_id(world: World, caller: User | None) -> str:
    return str(world.users["med_tech"].public_id)


def own_notification(world: World, caller: User | None) -> int:
    # The caller's own alert; anyone else (another community's user) gets the A nurse's.
    if caller is not None and caller.facilities.filter(pk=world.facility.pk).exists():
        return world.notification_of(caller)
    return world.notification_of(world.users["nurse"])


NURSE_ONLY = {"med_tech": 403, "nurse": 200, "administrator": 403}

ROUTES: dict[str, Route] = {
    # --- Open to anyone -----------------------------------------------------------------
    "login": Route(None),
    "healthz": Route(None),
    "favicon": Route(None),  # the icon browsers ask for at the root
    "api:token": Route(None, method="post", ok=400, api=True),
    # Ends the token it is sent with: a session has none to end.
    "api:logout": Route(None, method="post", ok=401, api=True),
    "api:?": Route(None, args={"": "no/such/thing/"}, ok=404, api=True),
    "fhir:?": Route(None, args={"": "Observation/1"}, ok=404, api=True),
    "fhir:metadata": Route(None, api=True),  # the CapabilityStatement, open as FHIR expects
    "mar:manifest": Route(None),
    "mar:service_worker": Route(None),
    # --- Every signed-in user, their own things -----------------------------------------
    "home": Route(Area.MED_PASS),
    "logout": Route(None, method="post", ok=302),
    "staff:pin": Route(Area.TABLET),
    "api:logout_all": Route(Area.TABLET, method="post", ok=204, api=True),
    # The API's schema and Swagger UI: any signed-in person (the UI is a page: sign-in).
    "api:schema": Route(Area.RECORDS_READ, api=True),
    "api:docs": Route(Area.RECORDS_READ),
    "staff:lock": Route(Area.TABLET, method="post", ok=302),
    "staff:unlock": Route(None, method="post", ok=400),  # the lock screen's PIN switch
    "mar:notifications": Route(Area.NOTIFICATIONS),
    "mar:notification_bell": Route(Area.NOTIFICATIONS),
    "mar:notifications_read_all": Route(Area.NOTIFICATIONS, method="post", ok=302),
    "mar:notification_read": Route(
        Area.NOTIFICATIONS,
        method="post",
        args={"notification_id": own_notification},
        ok=302,
    ),
    # --- Med pass -----------------------------------------------------------------------
    "mar:pass_start": Route(Area.MED_PASS, query="?choose=1"),
    "mar:cart_hand_over": Route(Area.MED_PASS, method="post", ok=302),
    "mar:pass_cart": Route(Area.MED_PASS, args={"cart_id": "cart"}),
    "mar:cart_take": Route(Area.MED_PASS, method="post", args={"cart_id": "cart"}, ok=302),
    "mar:pass_resident": Route(Area.MED_PASS, args={"resident_id": "resident"}),
    "mar:concern_new": Route(Area.CONCERN_REPORT, args={"resident_id": "resident"}),
    "mar:dose_chart": Route(Area.CHART, args={"dose_id": "dose"}),
    "mar:pass_give_all": Route(Area.CHART, args={"resident_id": "resident"}),
    "mar:prn_give": Route(Area.CHART, args={"order_id": "prn"}),
    "mar:override_ask": Route(Area.CHART, method="post", ok=400),
    "mar:override_dose": Route(Area.NURSE_OVERRIDE, args={"dose_id": "dose"}),
    "mar:override_prn": Route(Area.NURSE_OVERRIDE, args={"order_id": "prn"}),
    # Who charted it (within 2 minutes) or a nurse; a refusal without htmx is a redirect
    # back to the pass with the message.
    "mar:record_undo": Route(Area.CHART, method="post", args={"record_id": "record"}, ok=302),
    "mar:record_effectiveness": Route(
        Area.CHART, method="post", args={"record_id": "record"}, ok=302
    ),
    # --- Nurse review -------------------------------------------------------------------
    "nurse:concerns": Route(Area.CONCERN_REVIEW),
    "nurse:concern_acknowledge": Route(
        Area.EXCEPTION_ACK, method="post", args={"report_id": "concern"}, ok=302
    ),
    # The supervising nurse's screens: orders, the review, the record, reports.
    "nurse:orders_pending": Route(Area.EXCEPTIONS_READ),
    "nurse:order_detail": Route(Area.EXCEPTIONS_READ, args={"order_id": "order"}),
    "nurse:order_new": Route(Area.ORDER_ENTER, args={"resident_id": "resident"}),
    "nurse:order_verify": Route(
        Area.ORDER_ENTER, method="post", args={"order_id": "order"}, ok=400
    ),
    "nurse:order_hold": Route(Area.ORDER_ENTER, method="post", args={"order_id": "order"}, ok=400),
    # No allergy recorded after the order waits for a review.
    "nurse:order_allergy_review": Route(
        Area.ORDER_ENTER, method="post", args={"order_id": "order"}, ok=409
    ),
    "nurse:order_resume": Route(
        Area.ORDER_ENTER, method="post", args={"order_id": "order"}, ok=409
    ),
    "nurse:order_discontinue": Route(
        Area.ORDER_ENTER, method="post", args={"order_id": "order"}, ok=400
    ),
    "nurse:resident_record": Route(Area.EXCEPTIONS_READ, args={"resident_id": "resident"}),
    "nurse:administration_detail": Route(Area.EXCEPTIONS_READ, args={"record_id": "record"}),
    "nurse:review": Route(Area.EXCEPTIONS_READ),
    "nurse:overdue_board": Route(Area.EXCEPTIONS_READ),
    "nurse:review_acknowledge": Route(Area.EXCEPTION_ACK, method="post", ok=302),
    "nurse:followup_done": Route(
        Area.EXCEPTION_ACK, method="post", args={"followup_id": "followup"}, ok=302
    ),
    "nurse:reports": Route(Area.EXCEPTIONS_READ),
    "nurse:report_csv": Route(Area.EXCEPTIONS_READ, args={"name": "on-time-daily"}),
    # --- Administration: residents, the community's settings, staff, the audit trail -----
    "residents:list": Route(Area.RESIDENTS_READ),
    "residents:stay": Route(Area.RESIDENTS_READ, args={"resident_id": "resident"}),
    "printing:face_sheet": Route(Area.RESIDENTS_READ, args={"resident_id": "resident"}),
    "residents:photo": Route(Area.MED_PASS, args={"resident_id": "resident"}),
    "residents:admit": Route(Area.ADMIN_SCREENS),
    "residents:move": Route(
        Area.ADMIN_SCREENS, method="post", args={"resident_id": "resident"}, ok=400
    ),
    "residents:leave": Route(
        Area.ADMIN_SCREENS, method="post", args={"resident_id": "resident"}, ok=400
    ),
    "residents:return": Route(
        Area.ADMIN_SCREENS, method="post", args={"resident_id": "resident"}, ok=400
    ),
    "residents:discharge": Route(
        Area.ADMIN_SCREENS, method="post", args={"resident_id": "resident"}, ok=400
    ),
    "residents:allergy_add": Route(
        Area.ADMIN_SCREENS, method="post", args={"resident_id": "resident"}, ok=400
    ),
    "residents:facility_settings": Route(Area.ADMIN_SCREENS),
    "residents:unit_add": Route(
        Area.ADMIN_SCREENS, method="post", args={"facility_id": "facility"}, ok=400
    ),
    "residents:cart_add": Route(
        Area.ADMIN_SCREENS, method="post", args={"facility_id": "facility"}, ok=400
    ),
    "residents:room_save": Route(
        Area.ADMIN_SCREENS, method="post", args={"facility_id": "facility"}, ok=400
    ),
    "staff_manage:list": Route(Area.ADMIN_SCREENS),
    "staff_manage:new": Route(Area.ADMIN_SCREENS),
    "staff_manage:expiring": Route(Area.ADMIN_SCREENS),
    "staff_manage:detail": Route(Area.ADMIN_SCREENS, args={"user_id": tech_id}),
    "staff_manage:certification_add": Route(
        Area.ADMIN_SCREENS, method="post", args={"user_id": tech_id}, ok=400
    ),
    "staff_manage:deactivate": Route(
        Area.ADMIN_SCREENS, method="post", args={"user_id": tech_id}, ok=400
    ),
    "staff_manage:certification_document": Route(
        Area.ADMIN_SCREENS, args={"certification_id": tech_certification}
    ),
    "audit_search": Route(Area.AUDIT),
    # --- Printing -----------------------------------------------------------------------
    "printing:print_home": Route(Area.PRINT_CART_SHEET),
    "printing:resident_month_pdf": Route(
        Area.PRINT_RECORDS, args={"resident_id": "resident", "month": MONTH.key}
    ),
    "printing:community_month_print": Route(
        Area.PRINT_RECORDS,
        method="post",
        args={"facility_id": "facility", "month": MONTH.key},
        ok=302,
    ),
    "printing:print_job": Route(Area.PRINT_RECORDS, args={"job_id": "job"}),
    "printing:print_job_file": Route(Area.PRINT_RECORDS, args={"job_id": "job"}, ok=404),
    "printing:downtime_sheet_pdf": Route(Area.PRINT_CART_SHEET, args={"cart_id": "cart"}),
    "printing:count_sheet_pdf": Route(Area.PRINT_RECORDS, args={"cart_id": "cart"}),
    # --- Inventory ----------------------------------------------------------------------
    "inventory:index": Route(Area.INVENTORY_READ),
    "inventory:reorders": Route(Area.INVENTORY_READ),
    "inventory:reorder_request": Route(Area.STOCK_MANAGE, method="post", ok=404),
    "inventory:reorder_received": Route(
        Area.STOCK_MANAGE, method="post", args={"request_id": "reorder"}, ok=302
    ),
    "inventory:expiry": Route(Area.INVENTORY_READ),
    "inventory:cart_stock": Route(Area.INVENTORY_READ, args={"cart_id": "cart"}),
    "inventory:receive": Route(Area.STOCK_HANDLE, args={"cart_id": "cart"}),
    "inventory:counts": Route(Area.INVENTORY_READ, args={"cart_id": "cart"}),
    "inventory:item": Route(Area.INVENTORY_READ, args={"item_id": "item"}),
    "inventory:item_log": Route(Area.INVENTORY_READ, args={"item_id": "item"}),
    "inventory:waste": Route(Area.STOCK_HANDLE, args={"item_id": "item"}),
    "inventory:return": Route(Area.STOCK_MANAGE, args={"item_id": "item"}),
    "inventory:adjust": Route(Area.STOCK_MANAGE, args={"item_id": "item"}),
    "inventory:transfer": Route(Area.STOCK_MANAGE, args={"item_id": "item"}),
    "inventory:count": Route(Area.INVENTORY_READ, args={"count_id": "count"}),
    "inventory:count_sign": Route(
        Area.STOCK_HANDLE, args={"count_id": "count", "side": "outgoing"}
    ),
    "inventory:count_cancel": Route(
        Area.STOCK_HANDLE, method="post", args={"count_id": "count"}, ok=302
    ),
    "inventory:count_resolve": Route(
        Area.COUNT_RESOLVE, method="post", args={"count_id": "count"}, ok=400
    ),
    # Not signed by both yet: back to the count (it would not be blind).
    "inventory:count_sheet": Route(Area.INVENTORY_READ, args={"count_id": "count"}, ok=302),
    # --- API ----------------------------------------------------------------------------
    "api:residents": Route(Area.RECORDS_READ, api=True),
    "api:resident": Route(Area.RECORDS_READ, args={"id": "resident"}, api=True),
    "api:resident_mar": Route(
        Area.PRINT_RECORDS, args={"id": "resident"}, api=True, query=f"?month={MONTH.key}"
    ),
    "api:orders": Route(Area.RECORDS_READ, api=True),
    "api:order": Route(Area.RECORDS_READ, args={"id": "order"}, api=True),
    "api:order_verify": Route(
        Area.ORDER_ENTER, method="post", args={"id": "order"}, ok=409, api=True
    ),
    "api:order_allergy_review": Route(
        Area.ORDER_ENTER, method="post", args={"id": "order"}, ok=400, api=True
    ),
    "api:order_hold": Route(
        Area.ORDER_ENTER, method="post", args={"id": "order"}, ok=400, api=True
    ),
    "api:order_resume": Route(
        Area.ORDER_ENTER, method="post", args={"id": "order"}, ok=409, api=True
    ),
    "api:order_discontinue": Route(
        Area.ORDER_ENTER, method="post", args={"id": "order"}, ok=400, api=True
    ),
    "api:doses": Route(Area.RECORDS_READ, api=True),
    "api:administrations": Route(Area.RECORDS_READ, api=True),
    "api:administration": Route(Area.RECORDS_READ, args={"id": "record"}, api=True),
    "api:administration_amendments": Route(
        Area.CHART, method="post", args={"id": "record"}, ok=400, api=True
    ),
    "api:administration_effectiveness": Route(
        Area.CHART, method="post", args={"id": "record"}, ok=400, api=True
    ),
    "api:overrides": Route(Area.NURSE_OVERRIDE, method="post", ok=400, api=True),
    "api:exceptions": Route(Area.EXCEPTIONS_READ, api=True),
    "api:exception_acknowledge": Route(
        Area.EXCEPTION_ACK, method="post", args={"id": "concern"}, ok=400, api=True
    ),
    "api:stock": Route(Area.INVENTORY_READ, api=True),
    # The drug reference: read by staff, picked into the catalog by nurses.
    "api:drugref_search": Route(Area.RECORDS_READ, api=True, ok=400),
    "api:drugref_scan": Route(Area.RECORDS_READ, api=True, ok=400),
    "api:drugref_pick": Route(Area.ORDER_ENTER, method="post", ok=400, api=True),
    "drugref:search": Route(Area.ORDER_ENTER),
    "drugref:pick": Route(Area.ORDER_ENTER, method="post", args={"product_id": "none"}, ok=404),
    "api:stock_item": Route(Area.INVENTORY_READ, args={"id": "item"}, api=True),
    "api:stock_transactions": Route(
        Area.STOCK_HANDLE, method="post", args={"id": "item"}, ok=400, api=True
    ),
    # Only for who has taken the cart (the world's med tech): its residents and PIN verifiers.
    "api:offline_bundle": Route(
        Area.MED_PASS,
        args={"id": "cart"},
        ok={"med_tech": 200, "nurse": 403, "administrator": 403},
        api=True,
    ),
    # --- FHIR ---------------------------------------------------------------------------
    "fhir:Patient": Route(Area.RECORDS_READ, args={"id": "resident"}, api=True),
    "fhir:MedicationRequest-search": Route(
        Area.RECORDS_READ, api=True, query="?patient={resident}"
    ),
    "fhir:MedicationRequest": Route(Area.RECORDS_READ, args={"id": "order"}, api=True),
    "fhir:MedicationAdministration-search": Route(
        Area.RECORDS_READ, api=True, query="?patient={resident}"
    ),
    "fhir:MedicationAdministration": Route(Area.RECORDS_READ, args={"id": "record"}, api=True),
}


def url_patterns(patterns=None, namespace: str = "") -> Iterator[tuple[str, URLPattern]]:
    """(name, pattern) of every routed URL, the Django admin's own left out."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace in EXCLUDED_NAMESPACES or pattern.app_name == "admin":
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from url_patterns(pattern.url_patterns, inner)
        else:
            yield f"{namespace}{pattern.name or '?'}", pattern


def test_every_url_pattern_has_an_entry():
    names = [name for name, _ in url_patterns()]

    missing = sorted(set(names) - set(ROUTES))
    stale = sorted(set(ROUTES) - set(names))

    assert not missing, f"URL patterns without an entry in the permission matrix test: {missing}"
    assert not stale, f"Entries for URL patterns that no longer exist: {stale}"
    assert len(names) == len(set(names)), "two URL patterns share a name: name them apart"


def url_for(name: str, route: Route, world: World, caller: User | None) -> str:
    if name in CATCH_ALLS:
        return CATCH_ALLS[name] + route.args[""]
    kwargs = {}
    for key, value in route.args.items():
        if callable(value):
            kwargs[key] = value(world, caller)
        elif value in RECORDS:
            kwargs[key] = getattr(world, value).public_id
        else:
            kwargs[key] = value
    query = route.query.format(resident=world.resident.public_id)
    return reverse(name, kwargs=kwargs) + query


def answer(client: Client, route: Route, url: str) -> int:
    """The status code of one call; a POST's writes are rolled back."""
    if route.method == "get":
        response = client.get(url)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        return response.status_code
    with transaction.atomic():
        if route.api:
            response = client.post(url, data="{}", content_type="application/json")
        else:
            response = client.post(url)
        transaction.set_rollback(True)
    return response.status_code


def expected(route: Route, role: str | None, *, other_facility: bool) -> int:
    if route.area is not None and role not in permissions.roles_for(route.area):
        return 403
    if other_facility and route.names_a_record:
        return 404
    return route.ok_for(role) if role else route.ok_for("nurse")


def anonymous_expected(route: Route) -> int:
    if route.area is None:
        return route.ok_for("nurse")
    return 401 if route.api else 302


def test_every_url_answers_every_caller_as_the_matrix_says(world: World):
    wrong: list[str] = []
    client = Client(raise_request_exception=True)
    callers: list[tuple[str, User | None, bool]] = [
        *((role, world.users[role], False) for role in ROLES),
        *((f"other {role}", world.others[role], True) for role in ROLES),
        ("anonymous", None, False),
    ]

    for name, route in ROUTES.items():
        for label, caller, other_facility in callers:
            client = Client()
            if caller is not None:
                client.force_login(caller)
            role = caller.role if caller else None
            if caller is None:
                want = anonymous_expected(route)
            elif other_facility and route.area is not None:
                if role not in permissions.roles_for(route.area):
                    continue  # the wrong role elsewhere: 403 or 404 both keep them out
                want = expected(route, role, other_facility=True)
            else:
                want = expected(route, role, other_facility=other_facility)
            try:
                got = answer(client, route, url_for(name, route, world, caller))
            except Exception as error:  # a server error is one more wrong answer
                got = f"{type(error).__name__}: {error}"
            if got != want:
                wrong.append(f"{name} as {label}: {got}, expected {want}")

    assert not wrong, "\n".join(wrong)


def test_the_matrix_names_every_area_and_only_known_roles():
    assert set(permissions.MATRIX) == set(Area)
    for roles in permissions.MATRIX.values():
        assert roles <= set(User.Role.values)


@pytest.mark.parametrize(
    ("role", "is_staff", "status"),
    [("administrator", True, 200), ("nurse", True, 302), ("med_tech", True, 302)],
)
def test_the_django_admin_lets_in_only_the_roles_the_matrix_gives_admin_screens(
    world: World, role, is_staff, status
):
    user = world.users[role]
    User.objects.filter(pk=user.pk).update(is_staff=is_staff)
    client = Client()
    client.force_login(user)

    response = client.get("/admin/")

    assert response.status_code == status
    if status == 302:
        assert response["Location"].startswith("/admin/login/")
