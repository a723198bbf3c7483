"""Malformed and hostile input at every form and API endpoint: a clear 4xx, never a 500,
nothing stored when refused, and escaped output on the pages.

The endpoints are the permission matrix test's ``ROUTES`` (so a new URL is fuzzed as soon
as it has its entry there), each called as a role allowed in its area:

- pages: every POST route, and every page whose HTML has a POST form (its fields are
  read from the form); the GET forms' fields (search, month, facility) as query strings
- API: every POST with the fields of its OpenAPI request body, every GET list with the
  query parameters of its schema; FHIR searches with their search parameters

Hypothesis fills the fields with wrong types, huge strings, HTML and script, SQL-like
strings, dates in 1900 and 2999, negative and absurd quantities, unknown ids and the ids
of another community's records. Each request runs in a savepoint rolled back after it,
so the community stays the same for the next one. The API's schema conformance is
schemathesis's job (tests/api/test_schemathesis.py); this test adds the hostile values.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from medtech.core import permissions
from staff.models import User
from tests.security.conftest import AT, World
from tests.security.test_permission_matrix import ROUTES, Route, url_for

pytestmark = pytest.mark.slow

EXAMPLES = 4
SCRIPT = "<script>alert('pwned')</script>"
IMAGE = '"><img src=x onerror=alert(1)>'
SQL = "'; DROP TABLE mar_administration; --"
NASTY = [
    SCRIPT,
    IMAGE,
    SQL,
    "' OR '1'='1",
    "1900-01-01",
    "2999-12-31",
    "1900-01-01T00:00:00Z",
    "2999-12-31T23:59:59Z",
    "00:00",
    "25:61",
    "-1",
    "-99999999",
    "0",
    "1e308",
    "99999999999999999999999",
    "NaN",
    "Infinity",
    "",
    " ",
    "\u0000",
    "../../../etc/passwd",
    "{{ 7*7 }}",
    "%s%s%s%n",
    "A" * 20_000,
    str(uuid.UUID(int=0)),
    str(uuid.UUID(int=2**128 - 1)),
    "not-a-uuid",
]
SWEEP = ["\u0000", SCRIPT, "A" * 20_000, "2999-12-31", "-99999999"]
# Tables of the records of care and the community: a refused request adds to none.
RECORD_APPS = ("staff", "residents", "mar", "inventory")


def hostile_text(foreign: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(NASTY),
        st.sampled_from(foreign),
        st.text(max_size=40),
        st.integers(min_value=-(10**12), max_value=10**12).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
    )


def hostile_json(foreign: list[str]) -> st.SearchStrategy:
    scalar = st.one_of(
        hostile_text(foreign),
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**20), max_value=10**20),
        st.floats(allow_nan=False),
    )
    return st.one_of(scalar, st.lists(scalar, max_size=3), st.dictionaries(st.text(), scalar))


@dataclass(frozen=True)
class Target:
    label: str
    method: str  # post | get
    url: str
    fields: tuple[str, ...]
    api: bool
    user: User | None


def caller_for(route: Route, world: World) -> User | None:
    if route.area is None:
        return world.users["nurse"]
    for role in ("nurse", "med_tech", "administrator"):
        if role in permissions.roles_for(route.area):
            return world.users[role]
    return None


FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S | re.I)
NAME = re.compile(r"<(?:input|select|textarea)\b[^>]*\bname=\"([^\"]+)\"", re.I)
SKIP_FIELDS = {"csrfmiddlewaretoken"}


def page_forms(client: Client, url: str) -> tuple[set[str], set[str]]:
    """The field names of the page's POST forms and of its GET forms."""
    response = client.get(url)
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        return set(), set()
    posted, queried = set(), set()
    for form in FORM.findall(response.content.decode()):
        names = set(NAME.findall(form)) - SKIP_FIELDS
        opening = form[: form.index(">")].lower()
        (posted if 'method="post"' in opening else queried).update(names)
    return posted, queried


def api_fields() -> dict[tuple[str, str], tuple[str, ...]]:
    """(method, path template) -> the request body's or the query's field names."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    fields = {}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body and "$ref" in body["schema"]:
                component = components[body["schema"]["$ref"].rsplit("/", 1)[1]]
                names += list(component.get("properties", {}))
            fields[(method, path)] = tuple(names)
    return fields


UUID_IN_PATH = re.compile(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/")
FHIR_SEARCH = ("patient", "effective-time", "status", "_count", "_id")


def targets(world: World) -> Iterator[Target]:
    schema_fields = api_fields()
    for name, route in ROUTES.items():
        user = caller_for(route, world)
        if user is None or name in {"logout", "api:?", "fhir:?"}:
            continue
        url = url_for(name, route, world, user).split("?")[0]
        if route.api:
            template = UUID_IN_PATH.sub("/{id}/", url).replace(".pdf/", ".pdf")
            fields = schema_fields.get((route.method, template), ())
            if name.startswith("fhir:") and name.endswith("-search"):
                fields = FHIR_SEARCH
            if fields or route.method == "post":
                yield Target(name, route.method, url, fields, True, user)
            continue
        client = Client()
        client.force_login(user)
        posted, queried = page_forms(client, url) if route.method == "get" else (set(), set())
        if route.method == "post" or posted:
            fields = tuple(sorted(posted)) or POST_ONLY_FIELDS.get(name, ("note", "reason"))
            yield Target(name, "post", url, fields, False, user)
        if queried:
            yield Target(f"{name}?", "get", url, tuple(sorted(queried)), False, user)


# The fields of forms posted from another page (read from the forms' classes).
POST_ONLY_FIELDS = {
    "login": ("username", "password"),
    "staff:unlock": ("user", "pin", "next"),
    "staff:lock": ("next",),
    "mar:record_undo": ("reason",),
    "mar:record_effectiveness": ("result", "note"),
    "nurse:concern_acknowledge": ("note",),
    "mar:cart_take": (),
    "mar:cart_hand_over": (),
    "printing:community_month_print": (),
    "mar:notification_read": (),
    "mar:notifications_read_all": (),
    "inventory:reorder_request": ("resident", "medication", "order", "note"),
    "inventory:reorder_received": (),
    "inventory:count_cancel": (),
    "inventory:count_resolve": ("note", "adjust_to_count"),
}


def record_counts() -> tuple[int, ...]:
    tables = sorted(
        model._meta.db_table
        for label in RECORD_APPS
        for model in apps.get_app_config(label).get_models()
        if not model._meta.proxy
    )
    # Table names from the models, never from input.
    counts = ", ".join(f'(SELECT count(*) FROM "{table}")' for table in tables)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")
        return tuple(cursor.fetchone())


def send(client: Client, target: Target, values: dict) -> tuple[int, str, bytes]:
    if target.api and target.method == "post":
        import json

        response = client.post(
            target.url,
            data=json.dumps(values),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=str(values.get("idempotency_key", "fuzz"))[:200] or "fuzz",
        )
    elif target.method == "post":
        response = client.post(target.url, {k: str(v) for k, v in values.items()})
    else:
        response = client.get(target.url, {k: str(v) for k, v in values.items()})
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, response.get("Content-Type", ""), body


def attack(target: Target, client: Client, strategy, problems: list[str]):
    """One target's hypothesis run: each example is one request in a rolled-back savepoint."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(values=strategy)
    def run(values):
        with transaction.atomic():
            before = record_counts()
            status, content_type, body = send(client, target, values)
            after = record_counts()
            transaction.set_rollback(True)
        where = f"{target.label} {target.method.upper()} {values!r:.300}"
        if status >= 500:
            problems.append(f"{where}: {status}")
        if 400 <= status < 500 and before != after:
            problems.append(f"{where}: refused with {status} but stored rows")
        if "html" in content_type and (SCRIPT.encode() in body or b"<img src=x onerror" in body):
            problems.append(f"{where}: hostile markup echoed unescaped")
        # The API says why in "detail"; FHIR in an OperationOutcome's diagnostics.
        says_why = b"diagnostics" if target.label.startswith("fhir:") else b"detail"
        if target.api and 400 <= status < 500 and status != 405 and says_why not in body:
            problems.append(f"{where}: {status} without saying why")

    # Every target also gets every field set to each of the worst values at once.
    for value in SWEEP:
        run = example(values=dict.fromkeys(target.fields, value))(run)
    return run


def test_hostile_input_gets_a_clear_4xx_never_a_500_and_stores_nothing(world: World):
    foreign = world.foreign_ids()
    all_targets = list(targets(world))
    clients = {}
    problems: list[str] = []

    for target in all_targets:
        client = clients.get(target.user.pk)
        if client is None:
            # A server error is an answer to count, not an exception that ends the run.
            client = clients[target.user.pk] = Client(raise_request_exception=False)
            client.force_login(target.user)
        value = hostile_json(foreign) if target.api and target.method == "post" else None
        strategy = st.fixed_dictionaries(
            {},
            optional={
                field: hostile_text(foreign) if value is None else value for field in target.fields
            },
        )

        attack(target, client, strategy, problems)()

    assert len(all_targets) > 40
    assert problems == [], "\n".join(sorted(set(problems))[:60])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("administered_at", "1900-01-01T08:00:00Z"),
        ("administered_at", "2999-12-31T08:00:00Z"),
        ("administered_at", "yesterday"),
        ("status", SCRIPT),
        ("scheduled_dose", str(uuid.UUID(int=0))),
        ("note", "A" * 100_000),
    ],
)
def test_a_bad_chart_request_is_a_400_and_charts_nothing(world: World, field, value):
    client = Client()
    client.force_login(world.users["med_tech"])
    body = {
        "scheduled_dose": str(world.dose.public_id),
        "status": "given",
        "administered_at": AT.isoformat(),
        field: value,
    }
    before = record_counts()

    response = client.post(
        "/api/v1/administrations/",
        data=body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=f"bad-{field}",
    )

    assert response.status_code in (400, 404, 422)
    assert response.json()["detail"]
    assert record_counts() == before


def test_another_communitys_dose_is_a_404_and_charts_nothing(world: World):
    client = Client()
    client.force_login(world.users["med_tech"])
    foreign_dose = world.other_order.doses.order_by("scheduled_at").first()
    before = record_counts()

    response = client.post(
        "/api/v1/administrations/",
        data={
            "scheduled_dose": str(foreign_dose.public_id),
            "status": "given",
            "administered_at": AT.isoformat(),
        },
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="foreign-1",
    )

    assert response.status_code == 404
    assert record_counts() == before


@pytest.mark.parametrize("quantity", ["-5", "0", "1e9", "99999999999", "NaN", "abc"])
def test_a_negative_or_absurd_waste_is_refused_and_moves_no_stock(world: World, quantity):
    client = Client()
    client.force_login(world.users["nurse"])
    before = record_counts()

    response = client.post(
        f"/inventory/items/{world.item.public_id}/waste/",
        {"quantity": quantity, "reason": "dropped", "witness": "", "witness_secret": ""},
    )

    assert response.status_code == 400
    assert record_counts() == before


def test_script_in_a_concern_is_stored_as_text_and_shown_escaped(world: World):
    tech_client, nurse_client = Client(), Client()
    tech_client.force_login(world.users["med_tech"])
    nurse_client.force_login(world.users["nurse"])

    reported = tech_client.post(
        f"/pass/residents/{world.resident.public_id}/concern/",
        {
            "kind": "adverse_reaction",
            "description": f"Rash {SCRIPT} {IMAGE}",
            "observed_at": "07:20",
        },
    )
    page = nurse_client.get("/concerns/")

    assert reported.status_code in (200, 302)
    assert page.status_code == 200
    assert SCRIPT.encode() not in page.content
    assert b"&lt;script&gt;alert(" in page.content
    assert b"<img src=x onerror" not in page.content
