"""Baselines for ``manage.py bench``: bare views served only in benchmark runs.

The benchmark points Django at this urlconf (``ROOT_URLCONF`` overridden in process, and
``bench.wsgi`` for gunicorn); the product's ``medtech.urls`` never includes it.
It serves the product's URLs unchanged plus, under ``/bench/``:

- the cart's resident list and one resident's pass, each read with ONE hand-written
  SQL query and rendered by a minimal template: the floor under the real pages (the
  same middleware, session and user, no selectors, no ORM, no base template);
- a trivial endpoint (no database), the floor under an HTTP request through gunicorn.
"""

from __future__ import annotations

import functools

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import engines
from django.urls import include, path
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

# Models are imported inside the functions, so the module imports before the app registry
# is ready.


@functools.cache
def _sql() -> dict[str, str]:
    from inventory.models import MedCart
    from mar.models import Administration, Medication, Order, ScheduledDose
    from residents.models import Resident, Room
    from staff.models import User

    return {
        "cart": CART_SQL.format(
            resident=Resident._meta.db_table,
            room=Room._meta.db_table,
            dose=ScheduledDose._meta.db_table,
            cart=MedCart._meta.db_table,
        ),
        "pass": RESIDENT_SQL.format(
            resident=Resident._meta.db_table,
            room=Room._meta.db_table,
            dose=ScheduledDose._meta.db_table,
            order=Order._meta.db_table,
            medication=Medication._meta.db_table,
            administration=Administration._meta.db_table,
            user=User._meta.db_table,
        ),
    }


PENDING, CHARTED = "pending", "charted"  # ScheduledDose.Status values

CART_SQL = """
SELECT r.public_id, r.first_name, r.last_name, r.preferred_name, r.status, rm.number,
       count(d.id) FILTER (WHERE d.status = %(pending)s AND d.window_start <= %(now)s
                           AND d.window_end >= %(now)s) AS due,
       count(d.id) FILTER (WHERE d.status = %(pending)s AND d.window_end < %(now)s
                           AND d.window_end >= %(late_since)s) AS late,
       count(d.id) FILTER (WHERE d.status = %(charted)s) AS given,
       count(d.id) FILTER (WHERE d.status = %(pending)s AND d.window_start > %(now)s)
         AS upcoming
FROM {resident} r
JOIN {room} rm ON rm.id = r.room_id
LEFT JOIN {dose} d ON d.resident_id = r.id AND (
       (d.scheduled_at >= %(start)s AND d.scheduled_at < %(end)s)
    OR (d.status = %(pending)s AND d.scheduled_at < %(start)s
        AND d.window_end >= %(late_since)s))
WHERE rm.cart_id = (SELECT id FROM {cart} WHERE public_id = %(cart)s)
  AND r.status IN ('active', 'away')
GROUP BY r.id, rm.number
ORDER BY rm.number, r.last_name, r.id
"""  # table names from the models, values bound

RESIDENT_SQL = """
SELECT r.first_name, r.last_name, rm.number, d.public_id, d.scheduled_at, d.window_start,
       d.window_end, d.status, m.generic_name, m.strength, m.form, o.dose_amount,
       o.dose_unit, o.route, o.instructions, a.administered_at, u.initials
FROM {resident} r
LEFT JOIN {room} rm ON rm.id = r.room_id
JOIN {dose} d ON d.resident_id = r.id AND (
       (d.scheduled_at >= %(start)s AND d.scheduled_at < %(end)s)
    OR (d.status = %(pending)s AND d.scheduled_at < %(start)s
        AND d.window_end >= %(late_since)s))
JOIN {order} o ON o.id = d.order_id
JOIN {medication} m ON m.id = o.medication_id
LEFT JOIN {administration} a
       ON a.scheduled_dose_id = d.id AND NOT a.is_entered_in_error
LEFT JOIN {user} u ON u.id = a.administered_by_id
WHERE r.public_id = %(resident)s
ORDER BY d.scheduled_at, m.generic_name, d.id
"""  # table names from the models, values bound

CART_TEMPLATE = """<!doctype html><title>Cart</title><ul>{% for row in rows %}
<li><a href="/pass/resident/{{ row.0 }}/">{{ row.5 }} {{ row.2 }}, {{ row.3|default:row.1 }}
{% if row.4 == "away" %}Away{% endif %} {{ row.7 }} late {{ row.6 }} due {{ row.8 }} given
{{ row.9 }} later</a></li>{% endfor %}</ul>"""
RESIDENT_TEMPLATE = """<!doctype html><title>Pass</title>{% with first=rows.0 %}
<h1>{{ first.1 }}, {{ first.0 }} ({{ first.2 }})</h1>{% endwith %}<ul>{% for row in rows %}
<li id="{{ row.3 }}">{{ row.4|time:"H:i" }} ({{ row.5|time:"H:i" }}-{{ row.6|time:"H:i" }})
{{ row.8 }} {{ row.9 }} {{ row.10 }}: {{ row.11 }} {{ row.12 }} {{ row.13 }}
{{ row.14 }} {{ row.7 }}{% if row.16 %} {{ row.16 }} {{ row.15|time:"H:i" }}{% endif %}
</li>{% endfor %}</ul>"""


@functools.cache
def _template(source: str):
    return engines["django"].from_string(source)


def _window(request: HttpRequest) -> dict:
    """The pass's bounds come in the query string (the harness computed them once)."""
    return {
        "start": parse_datetime(request.GET["start"]),
        "end": parse_datetime(request.GET["end"]),
        "now": parse_datetime(request.GET["now"]),
        "late_since": parse_datetime(request.GET["late_since"]),
        "pending": PENDING,
        "charted": CHARTED,
    }


def bare_cart(request: HttpRequest, cart_id: str) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute(_sql()["cart"], _window(request) | {"cart": cart_id})
        rows = cursor.fetchall()
    return HttpResponse(_template(CART_TEMPLATE).render({"rows": rows}, request))


def bare_pass(request: HttpRequest, resident_id: str) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute(_sql()["pass"], _window(request) | {"resident": resident_id})
        rows = cursor.fetchall()
    return HttpResponse(_template(RESIDENT_TEMPLATE).render({"rows": rows}, request))


@csrf_exempt
def trivial(request: HttpRequest) -> JsonResponse:
    """No database, no template: what an HTTP round trip through Django costs."""
    request.body  # noqa: B018 - read the body as a real endpoint would
    return JsonResponse({"ok": True}, status=201)


urlpatterns = [
    path("bench/cart/<str:cart_id>/", bare_cart, name="bench_cart"),
    path("bench/resident/<str:resident_id>/", bare_pass, name="bench_pass"),
    path("bench/trivial/", trivial, name="bench_trivial"),
    path("", include("medtech.urls")),
]
