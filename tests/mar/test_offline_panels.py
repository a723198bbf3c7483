"""The offline chart panels are the online ones: the resident's pass page carries, in
<template>s, each panel drawn by the same partial that answers "Given", "Not given" and
"Give PRN" online (mar.views.medpass._offline_panels). Apart from what only the offline
panel says (kept on the tablet, the PRN caution, where its refusal goes), ids and one-off
values (the CSRF token, the idempotency key), the two are the same markup."""

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from tests.world import AT, Community, first_dose

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
ONE_OFF = {"id", "for", "hx-post", "hx-target", "hx-swap", "hx-disabled-elt"}


@pytest.fixture
def moment() -> dt.datetime:
    return AT


class Skeleton(HTMLParser):
    """Tags with their lasting attributes and the text, leaving out the offline notes."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if self.skipping or any(name.startswith("data-offline") for name in attributes):
            self.skipping += tag != "span"
            return
        if attributes.get("name") in {"csrfmiddlewaretoken", "idempotency_key"}:
            attributes.pop("value", None)
        kept = sorted((k, v) for k, v in attributes.items() if k not in ONE_OFF)
        if "class" in attributes and tag == "p" and "offline-caution" in attributes["class"]:
            self.skipping = 1
            return
        self.parts.append(f"<{tag} {kept}>")

    def handle_endtag(self, tag):
        if self.skipping:
            self.skipping -= tag != "span"
            return
        self.parts.append(f"</{tag}>")

    def handle_data(self, data):
        text = " ".join(data.split())
        if text and not self.skipping:
            self.parts.append(text)


def skeleton(html: str) -> list[str]:
    parser = Skeleton()
    parser.feed(html)
    return parser.parts


def kept_panel(page: str, key: str) -> str:
    match = re.search(
        rf'<template data-offline-panel="{re.escape(key)}">(.*?)</template>', page, re.S
    )
    assert match, key
    return match.group(1)


def test_the_offline_panels_are_the_online_panels():
    community = Community()
    dose = first_dose(community.stocked_order())
    prn = community.prn_order()
    client = Client()
    client.force_login(community.tech)

    page = client.get(reverse("mar:pass_resident", args=[community.resident.public_id])).text
    chart = reverse("mar:dose_chart", args=[dose.public_id])
    online = {
        f"dose-{dose.public_id}-given": client.get(chart + "?status=given", **HTMX).text,
        f"dose-{dose.public_id}-not-given": client.get(chart + "?status=not_given", **HTMX).text,
        f"prn-{prn.public_id}": client.get(
            reverse("mar:prn_give", args=[prn.public_id]), **HTMX
        ).text,
    }

    for key, panel in online.items():
        offline = kept_panel(page, key)
        assert "Offline: kept on this tablet as" in offline
        assert len(skeleton(panel)) > 30 and "Cancel" in skeleton(panel)
        assert skeleton(offline) == skeleton(panel), key
