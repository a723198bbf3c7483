"""A schemathesis run against /api/schema/, through Django's WSGI app in the test's own
database transaction.

Every operation of the schema gets a bounded number of generated requests (valid and
invalid ones: wrong types, missing fields, out-of-range values, odd headers), sent with a
nurse's token. For each response schemathesis checks that it is not a server error, that
its status code, content type, headers and body are the ones the schema documents.
Half of the requests to ``/{id}/`` paths are pointed at real records of the nurse's
community, so the found-and-acted-on branches are fuzzed too, not only the 404s.

Bounded: the coverage phase's valid boundary cases (every enum value, the shortest and
longest strings, the smallest and largest numbers...), then ``MAX_EXAMPLES`` generated
cases per operation, valid and invalid mixed; no shrinking (a failure is reported as
found), no deadline per example. About 600 requests, 20-40 s.
"""

import datetime as dt
import hashlib
import os

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from mar.services import administrations as charting
from mar.services import concerns
from residents.models import ConcernReport
from staff.models import Certification
from tests.api.conftest import AT, due_dose, prn_order, stocked_order
from tests.factories import CertificationFactory, api_token

MAX_EXAMPLES = 8
# The coverage phase walks every boundary of every parameter: with its invalid cases too
# it sends about 1,800 requests (a minute and more on two busy cores), so the suite runs
# its valid cases and leaves invalid input to the generated phase (both kinds, mixed).
# MEDTECH_API_FUZZ=full runs all of it.
FULL = os.environ.get("MEDTECH_API_FUZZ") == "full"
CONFIG = {"phases": {"coverage": {"generation": {"mode": "all" if FULL else "positive"}}}}


@pytest.fixture
def records(community) -> dict[str, list[str]]:
    """Real ids of the nurse's community, by the kind of path they belong in."""
    CertificationFactory(user=community.nurse, kind=Certification.Kind.NURSE_LICENSE)
    order = stocked_order(community)
    prn = prn_order(community)
    refused = charting.administration_record(
        user=community.tech,
        idempotency_key="fuzz-1",
        now=AT,
        entry=charting.ChartEntry(
            status="refused", administered_at=AT, scheduled_dose=due_dose(order)
        ),
    ).administration
    given = charting.administration_record(
        user=community.tech,
        idempotency_key="fuzz-2",
        now=AT,
        entry=charting.ChartEntry(
            status="given",
            administered_at=AT - dt.timedelta(minutes=5),
            order=prn,
            prn_reason="Knee pain",
        ),
    ).administration
    concern = concerns.concern_report(
        resident=community.resident,
        user=community.tech,
        kind=ConcernReport.Kind.ADVERSE_REACTION,
        description="Rash on both arms",
        observed_at=AT,
        now=AT,
    )
    return {
        "residents": [str(community.resident.public_id)],
        "orders": [str(order.public_id), str(prn.public_id)],
        "administrations": [str(refused.public_id), str(given.public_id)],
        "exceptions": [str(refused.public_id), str(concern.public_id)],
        "stock": [str(item.public_id) for item in order.stock_items.all()],
        "offline": [str(community.cart.public_id)],  # the cart's offline bundle
    }


@pytest.fixture
def token(community) -> str:
    return api_token(community.nurse)


@pytest.fixture
def api_schema(db, request, token):
    """The schema, loaded through the WSGI app (as a signed-in nurse: the schema is for
    signed-in people). As in Django's test client, requests do not close the database
    connection when they finish: it holds the test's transaction."""
    if not hasattr(request.node, "_nodeid"):
        # schemathesis 4.32's lazy schemas read pytest < 9's private ``Node._nodeid``.
        request.node._nodeid = request.node.nodeid
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi(
            "/api/schema/",
            get_wsgi_application(),
            config=schemathesis.Config.from_dict(CONFIG),
            headers={"Authorization": f"Token {token}"},
        )
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


def _point_at_a_real_record(case, records: dict[str, list[str]]) -> None:
    path = case.operation.path
    if "{id}" not in path or path.endswith("mar.pdf"):
        return  # the PDF renders a month with WeasyPrint: its own tests cover it
    ids = records[path.removeprefix("/api/v1/").split("/")[0]]
    digest = hashlib.sha256(repr((case.body, case.query)).encode()).digest()
    if digest[0] % 2 == 0:
        case.path_parameters = {**case.path_parameters, "id": ids[digest[1] % len(ids)]}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_answers_within_its_schema_and_never_500(case, records, token):
    _point_at_a_real_record(case, records)

    case.call_and_validate(
        headers={"Authorization": f"Token {token}"},
        # A request the schema allows may still be refused by a rule of the domain (400
        # "say why the dose is held", 422 "too early"): that is the API's contract, so
        # schemathesis's "valid data is accepted" check does not apply. All the others do.
        excluded_checks=[positive_data_acceptance],
    )
