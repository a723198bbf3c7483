"""Serializers of the API, input and output apart.

Input serializers parse and check the shape of a request (types, lengths, choices, which
fields go together); the services decide everything else. Output serializers render what
the selectors loaded and never query: every relation they read is selected or
prefetched by the selector.

Ids are public UUIDs, times are ISO 8601 in UTC ("Z") on the way out and must carry a
UTC offset on the way in, amounts are JSON numbers.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from mar import wording
from mar.models import (
    Administration,
    EffectivenessCheck,
    ExceptionReview,
    Order,
    OrderAcknowledgement,
    Route,
    Vital,
)
from mar.selectors import DoseState
from mar.services.administrations import AMENDABLE_FIELDS
from mar.services.charting_rules import COMPARATORS, VITAL_RANGES
from residents.models import Resident

DOSE_STATES = [(state.value, state.value.replace("_", " ").capitalize()) for state in DoseState]
EXCEPTION_STATUSES = [("open", "Open"), ("acknowledged", "Acknowledged"), ("all", "All")]
AMENDMENT_FIELDS = [*AMENDABLE_FIELDS, "entered_in_error"]
EARLIEST_YEAR, LATEST_YEAR = 1900, 2199


# --- Fields --------------------------------------------------------------------------------


class UtcDateTimeField(serializers.DateTimeField):
    """ISO 8601. Rendered in UTC whatever zone the request runs in; input must carry an
    offset (a clinical time without one is ambiguous) and lie in a sane range."""

    default_error_messages = {
        "naive": "Give the time with its UTC offset, e.g. 2026-11-20T08:05:00-06:00.",
        "range": f"Give a time between the years {EARLIEST_YEAR} and {LATEST_YEAR}.",
    }

    def __init__(self, **kwargs) -> None:
        super().__init__(default_timezone=dt.UTC, **kwargs)

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value)
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is None:
                self.fail("naive")
        result = super().to_internal_value(value)
        if not EARLIEST_YEAR <= result.year <= LATEST_YEAR:
            self.fail("range")
        return result


class JsonTyped:
    """Input takes the JSON type the schema names, and no other: DRF would turn 0 into
    "0", "true" into True and 7 into a UUID; a client sending those has a bug to hear of."""

    json_types: tuple[type, ...] = ()
    json_type_name = ""
    default_error_messages = {"wrong_type": "Must be a {kind}."}

    def to_internal_value(self, data):
        is_bool = isinstance(data, bool)
        if (is_bool and bool not in self.json_types) or not isinstance(data, self.json_types):
            self.fail("wrong_type", kind=self.json_type_name)
        return super().to_internal_value(data)


class Text(JsonTyped, serializers.CharField):
    json_types, json_type_name = (str,), "string"


class Choice(JsonTyped, serializers.ChoiceField):
    json_types, json_type_name = (str,), "string"


class Id(JsonTyped, serializers.UUIDField):
    json_types, json_type_name = (str,), "string (a UUID)"


class Flag(JsonTyped, serializers.BooleanField):
    json_types, json_type_name = (bool,), "boolean (true or false)"


class Whole(JsonTyped, serializers.IntegerField):
    json_types, json_type_name = (int,), "whole number"


class Amount(JsonTyped, serializers.DecimalField):
    json_types, json_type_name = (int, float), "number"

    def __init__(self, **kwargs) -> None:
        super().__init__(coerce_to_string=False, **kwargs)


def _text(max_length: int, **kwargs) -> Text:
    """Optional text, blank by default."""
    return Text(max_length=max_length, required=False, allow_blank=True, default="", **kwargs)


def _number(**kwargs) -> Amount:
    return Amount(**kwargs)


class RenamedFieldsMixin:
    """Query parameters named like Python keywords (``from``): declared under another
    name and renamed here, so the schema and ``validated_data`` use the public name."""

    renamed: dict[str, str] = {}

    def get_fields(self):
        fields = super().get_fields()
        for declared, public in self.renamed.items():
            fields[public] = fields.pop(declared)
        return fields


# --- Query parameters ----------------------------------------------------------------------


class TimeRangeFilter(RenamedFieldsMixin, serializers.Serializer):
    since = UtcDateTimeField(required=False, help_text="From this time on (inclusive).")
    until = UtcDateTimeField(required=False, help_text="Before this time (exclusive).")
    renamed = {"since": "from", "until": "to"}


class ResidentFilter(serializers.Serializer):
    facility = Id(required=False)
    unit = Text(required=False, max_length=80, help_text="The unit's name.")
    search = Text(required=False, max_length=60, help_text="Name, preferred name or room number.")
    status = Choice(choices=Resident.Status.choices, required=False)


class OrderFilter(serializers.Serializer):
    resident = Id(required=False)
    status = Choice(choices=Order.Status.choices, required=False)


class DoseFilter(TimeRangeFilter):
    """``from``/``to`` bound the scheduled time."""

    cart = Id(required=False)
    resident = Id(required=False)
    status = Choice(choices=DOSE_STATES, required=False)


class AdministrationFilter(TimeRangeFilter):
    """``from``/``to`` bound the time given (or offered)."""

    resident = Id(required=False)
    order = Id(required=False)
    status = Choice(choices=Administration.Status.choices, required=False)


class ExceptionFilter(TimeRangeFilter):
    """``from``/``to`` bound when it happened."""

    status = Choice(choices=EXCEPTION_STATUSES, required=False, default="open")
    kind = Choice(choices=ExceptionReview.Kind.choices, required=False)
    resident = Id(required=False)
    facility = Id(required=False)


class StockFilter(serializers.Serializer):
    cart = Id(required=False)
    resident = Id(required=False)
    order = Id(required=False)


class MarMonthFilter(serializers.Serializer):
    month = serializers.RegexField(
        r"^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])$",
        required=False,
        help_text="YYYY-MM, e.g. 2026-11; the current month when left out.",
    )


# --- Input ---------------------------------------------------------------------------------


class TokenIn(serializers.Serializer):
    username = Text(max_length=150)
    password = Text(max_length=128, trim_whitespace=False)


class HoldParameterIn(serializers.Serializer):
    vital = Choice(choices=Vital.choices)
    comparator = Choice(choices=list(COMPARATORS))
    limit = _number(max_digits=7, decimal_places=2)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        limit = value["limit"]
        # Stored as JSON: a whole number as an int, anything else as a float.
        value["limit"] = int(limit) if limit == limit.to_integral_value() else float(limit)
        return value


WALL_CLOCK = {
    Order.Frequency.TIMES_OF_DAY,
    Order.Frequency.DAYS_OF_WEEK,
    Order.Frequency.EVERY_N_DAYS,
    Order.Frequency.MONTHLY,
}


class OrderIn(serializers.Serializer):
    """A new order. Which schedule fields it takes depends on ``frequency``:
    times_of_day: administration_times; days_of_week: administration_times and
    days_of_week; every_n_days: administration_times and interval (days); monthly:
    administration_times and days_of_month; every_n_hours: interval (1-168 hours);
    prn: prn_min_interval_minutes and prn_max_per_24h."""

    resident = Id()
    medication = Id()
    dose_amount = _number(max_digits=8, decimal_places=3, min_value=Decimal("0.001"))
    dose_unit = Text(max_length=20)
    route = Choice(choices=Route.choices)
    instructions = _text(4000)
    indication = _text(200)
    frequency = Choice(choices=Order.Frequency.choices)
    administration_times = serializers.ListField(
        child=Text(max_length=20),
        required=False,
        default=list,
        max_length=24,
        help_text='Clock times ("08:00") or the community\'s pass names ("AM", "HS").',
    )
    days_of_week = serializers.ListField(
        child=Whole(min_value=1, max_value=7),
        required=False,
        default=list,
        max_length=7,
        help_text="ISO weekdays, 1 = Monday ... 7 = Sunday.",
    )
    days_of_month = serializers.ListField(
        child=Whole(min_value=1, max_value=31),
        required=False,
        default=list,
        max_length=31,
    )
    interval = Whole(min_value=1, max_value=366, required=False, allow_null=True, default=None)
    is_time_critical = Flag(required=False, default=False)
    window_minutes = Whole(
        min_value=1, max_value=720, required=False, allow_null=True, default=None
    )
    prn_min_interval_minutes = Whole(
        min_value=1, max_value=10080, required=False, allow_null=True, default=None
    )
    prn_max_per_24h = Whole(
        min_value=1, max_value=48, required=False, allow_null=True, default=None
    )
    followup_minutes = Whole(
        min_value=1, max_value=1440, required=False, allow_null=True, default=None
    )
    hold_parameters = HoldParameterIn(many=True, required=False, max_length=10)
    required_vitals = serializers.ListField(
        child=Choice(choices=Vital.choices),
        required=False,
        default=list,
        max_length=len(Vital.choices),
    )
    starts_at = UtcDateTimeField()
    ends_at = UtcDateTimeField(required=False, allow_null=True, default=None)
    prescriber = Text(max_length=120)
    rx_number = _text(40)
    allergy_override_code = Choice(
        choices=OrderAcknowledgement.Reason.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="When the medication matches an allergy: why it is given anyway (or "
        "`other` with a sentence in `allergy_override_reason`).",
    )
    allergy_override_reason = _text(
        2000,
        help_text="The override in the nurse's words: a sentence of three words or more, "
        "needed unless a coded reason other than `other` is given.",
    )
    dose_warnings_acknowledged = Flag(
        required=False,
        default=False,
        help_text="The nurse acknowledges a dose above the medication's usual range.",
    )
    start_in_past_reason = _text(
        2000, help_text="Why the order starts more than a week ago (then required)."
    )
    drug_warnings_reason = _text(
        2000,
        help_text="Why the order goes ahead despite duplicate-therapy or interaction "
        "warnings (then required: a sentence of three words or more).",
    )
    psychotropic_rationale = _text(
        2000,
        help_text="A PRN psychotropic order ends after 14 days (CMS F758) unless the "
        "prescriber's rationale is given here with a later `ends_at`.",
    )

    def validate(self, data):
        frequency = data["frequency"]
        errors: dict[str, str] = {}
        times = data["administration_times"]
        if frequency in WALL_CLOCK and not times:
            errors["administration_times"] = "This frequency needs at least one time."
        if frequency not in WALL_CLOCK and times:
            errors["administration_times"] = "This frequency takes no administration times."
        for name, kind in (
            ("days_of_week", Order.Frequency.DAYS_OF_WEEK),
            ("days_of_month", Order.Frequency.MONTHLY),
        ):
            if frequency == kind and not data[name]:
                errors[name] = "This frequency needs at least one day."
            if frequency != kind and data[name]:
                errors[name] = "Only a frequency of this kind takes these days."
        interval = data["interval"]
        if frequency in (Order.Frequency.EVERY_N_DAYS, Order.Frequency.EVERY_N_HOURS):
            if interval is None:
                errors["interval"] = "This frequency needs an interval."
            elif frequency == Order.Frequency.EVERY_N_HOURS and interval > 168:
                errors["interval"] = "Every N hours takes an interval of 1 to 168."
        elif interval is not None:
            errors["interval"] = "This frequency takes no interval."
        prn_fields = ("prn_min_interval_minutes", "prn_max_per_24h")
        for name in prn_fields:
            if frequency == Order.Frequency.PRN and data[name] is None:
                errors[name] = "A PRN order needs this limit."
            if frequency != Order.Frequency.PRN and data[name] is not None:
                errors[name] = "Only a PRN order takes this limit."
        if data["ends_at"] is not None and data["ends_at"] <= data["starts_at"]:
            errors["ends_at"] = "The order must end after it starts."
        if errors:
            raise serializers.ValidationError({name: [text] for name, text in errors.items()})
        data.setdefault("hold_parameters", [])
        return data


class ReasonIn(serializers.Serializer):
    reason = Text(max_length=2000)


class VerifyIn(serializers.Serializer):
    """The verifying nurse's answers to the order's warnings."""

    allergy_acknowledged = Flag(
        required=False,
        default=False,
        help_text="Required when the order matches an allergy: you reviewed the allergy and "
        "the override reason.",
    )
    dose_warnings_acknowledged = Flag(
        required=False,
        default=False,
        help_text="Required when the dose is above the medication's usual range.",
    )
    drug_warnings_reason = _text(
        2000,
        help_text="Required when the order has duplicate-therapy or interaction warnings: "
        "why it goes ahead (a sentence).",
    )


class AllergyReviewIn(serializers.Serializer):
    """A nurse keeps an order that an allergy recorded after it matches."""

    allergy_acknowledged = Flag(help_text="You reviewed the allergy (must be true).")
    reason_code = Choice(
        choices=OrderAcknowledgement.Reason.choices, required=False, allow_blank=True, default=""
    )
    reason = _text(2000, help_text="A sentence, needed unless a coded reason other than `other`.")


class VitalsIn(serializers.Serializer):
    """Readings taken before the dose; only the ones the order asks for are required.
    Plausible ranges (and pairs like a blood pressure) are the charting service's to
    judge, so the page and the API refuse a reading in the same words."""

    def get_fields(self):
        return {
            str(name): _number(
                max_digits=6,
                decimal_places=1,
                required=False,
                allow_null=True,
                help_text=f"{Vital(name).label}, {low}-{high}",
            )
            for name, (low, high) in VITAL_RANGES.items()
        }

    def to_internal_value(self, data):
        if isinstance(data, dict) and (
            unknown := sorted(set(data) - {str(name) for name in VITAL_RANGES})
        ):
            raise serializers.ValidationError({unknown[0]: ["Unknown vital sign."]})
        value = super().to_internal_value(data)
        return {name: str(number) for name, number in value.items() if number is not None}


class StrictIn(serializers.Serializer):
    """A request body whose every key is a field: a key the server does not know (a
    misspelling, a field of another version) is refused, never silently dropped."""

    def to_internal_value(self, data):
        if isinstance(data, dict) and (unknown := sorted(set(data) - set(self.fields))):
            raise serializers.ValidationError({unknown[0]: ["Unknown field."]})
        return super().to_internal_value(data)


class AdministrationIn(StrictIn):
    """Chart a scheduled dose (``scheduled_dose``) or a PRN dose (``order``), not both.

    ``resident``, ``medication``, ``dose_amount``, ``dose_unit`` and ``route``, when sent,
    must be the dose's: a mismatch is refused with 422 (the five rights, checked)."""

    scheduled_dose = Id(required=False, allow_null=True, default=None)
    order = Id(required=False, allow_null=True, default=None, help_text="A PRN order.")
    status = Choice(choices=Administration.Status.choices)
    administered_at = UtcDateTimeField(help_text="When it was given (or offered).")
    reason = _text(2000, help_text="Why not given; required for held.")
    note = _text(2000, help_text="Required for other, and for a late entry.")
    vitals = VitalsIn(required=False)
    prn_reason = _text(2000, help_text="Required for a PRN dose.")
    witness = Id(required=False, allow_null=True, default=None)
    scanned_code = _text(
        100, help_text="The package's barcode (NDC, UPC, GS1) or the pharmacy label's Rx number."
    )
    scan_skipped = Choice(
        choices=Administration.ScanSkipped.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Why a dose given without a scan was not scanned (where scanning is "
        "required); kept on the record and shown to the nurse.",
    )
    override_by = Id(
        required=False,
        allow_null=True,
        default=None,
        help_text="A nurse overriding a rule for this dose (too early, too close to another "
        "dose, a hold parameter): they sign with override_secret. A nurse charting "
        "themselves gives only override_reason.",
    )
    override_secret = _text(128, help_text="The overriding nurse's PIN or password.")
    override_reason = _text(500, help_text="Why the nurse overrides.")
    resident = Id(required=False, allow_null=True, default=None, help_text="Checked if sent.")
    medication = Id(required=False, allow_null=True, default=None, help_text="Checked if sent.")
    dose_amount = _number(
        max_digits=8,
        decimal_places=3,
        required=False,
        allow_null=True,
        default=None,
        help_text="Checked if sent.",
    )
    dose_unit = _text(20, help_text="Checked if sent.")
    route = Choice(
        choices=Route.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Checked if sent.",
    )

    def validate(self, data):
        if (data["scheduled_dose"] is None) == (data["order"] is None):
            raise serializers.ValidationError(
                {"scheduled_dose": ["Give either scheduled_dose or (for a PRN dose) order."]}
            )
        data.setdefault("vitals", {})
        return data


class DoseOverrideIn(StrictIn):
    """A nurse overrides one scheduled dose (or the next dose of a PRN order)."""

    scheduled_dose = Id(required=False, allow_null=True, default=None)
    order = Id(required=False, allow_null=True, default=None, help_text="A PRN order.")
    reason = Text(max_length=500, help_text="Why the nurse overrides, in words.")

    def validate(self, data):
        if (data["scheduled_dose"] is None) == (data["order"] is None):
            raise serializers.ValidationError(
                {"scheduled_dose": ["Give either scheduled_dose or (for a PRN dose) order."]}
            )
        return data


class DoseOverrideOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    scheduled_dose = serializers.UUIDField(source="scheduled_dose.public_id", allow_null=True)
    order = serializers.UUIDField(source="order.public_id")
    granted_by = serializers.UUIDField(source="granted_by.public_id")
    granted_at = UtcDateTimeField()
    reason = serializers.CharField()


class AmendmentIn(serializers.Serializer):
    field = Choice(choices=AMENDMENT_FIELDS)
    new_value = _text(
        2000,
        help_text="The corrected value (ISO 8601 with offset for administered_at); "
        "ignored for entered_in_error.",
    )
    reason = Text(max_length=2000)


STOCK_MOVEMENTS = ["receive", "waste", "return", "adjust", "transfer"]


class StockTransactionIn(serializers.Serializer):
    """One movement of a package on the cart:

    - receive: more of this package (the balance of a partial fill); ``quantity``.
    - waste: ``quantity`` and ``reason``.
    - return (to the pharmacy; nurses and administrators): ``quantity``, or all on hand.
    - adjust (nurses and administrators): ``quantity`` as the signed change, or
      ``counted``, what is really there; and ``reason``.
    - transfer to another cart (nurses and administrators): ``to_cart``; ``quantity``,
      or all on hand.

    A controlled substance needs a ``witness`` who signs with their own PIN or password
    (``witness_secret``) to receive, waste or return it.
    """

    kind = Choice(choices=STOCK_MOVEMENTS)
    quantity = _number(
        max_digits=10, decimal_places=3, required=False, allow_null=True, default=None
    )
    counted = _number(
        max_digits=10,
        decimal_places=3,
        min_value=Decimal(0),
        required=False,
        allow_null=True,
        default=None,
    )
    reason = _text(2000)
    to_cart = Id(required=False, allow_null=True, default=None)
    witness = Id(required=False, allow_null=True, default=None)
    witness_secret = _text(128, trim_whitespace=False)

    def validate(self, data):
        kind, quantity = data["kind"], data["quantity"]
        if kind in ("receive", "waste") and quantity is None:
            raise serializers.ValidationError({"quantity": ["Enter the amount."]})
        if kind != "adjust" and quantity is not None and quantity <= 0:
            raise serializers.ValidationError({"quantity": ["Enter an amount more than 0."]})
        if kind == "transfer" and data["to_cart"] is None:
            raise serializers.ValidationError({"to_cart": ["Choose the cart it goes to."]})
        return data


class EffectivenessIn(serializers.Serializer):
    result = Choice(choices=EffectivenessCheck.Result.choices)
    note = _text(2000, help_text="Required when not effective.")


class AcknowledgeIn(serializers.Serializer):
    note = Text(max_length=4000)
    physician_notified = Flag(required=False, default=False)
    family_notified = Flag(required=False, default=False)


# --- Output --------------------------------------------------------------------------------


class TokenOut(serializers.Serializer):
    token = serializers.CharField()
    expiry = serializers.DateTimeField(allow_null=True)


class StaffOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField(source="signature_name")
    initials = serializers.CharField()
    role = serializers.CharField()


class AllergyOut(serializers.Serializer):
    allergen = serializers.CharField()
    reaction = serializers.CharField()
    severity = serializers.CharField()


class ResidentOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    facility = serializers.UUIDField(source="facility.public_id")
    facility_name = serializers.CharField(source="facility.name")
    unit = serializers.CharField(source="room.unit.name", allow_null=True)
    room = serializers.CharField(source="room.number", allow_null=True)
    cart = serializers.UUIDField(source="room.cart.public_id", allow_null=True)
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    preferred_name = serializers.CharField()
    display_name = serializers.CharField()
    date_of_birth = serializers.DateField()
    status = serializers.ChoiceField(choices=Resident.Status.choices)
    away_kind = serializers.CharField()
    admitted_on = serializers.DateField()
    discharged_on = serializers.DateField(allow_null=True)
    code_status = serializers.CharField()
    physician = serializers.CharField()
    physician_phone = serializers.CharField()
    pharmacy = serializers.CharField()
    pharmacy_phone = serializers.CharField()
    has_no_known_allergies = serializers.BooleanField()
    allergies = AllergyOut(many=True)


class MedicationOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField(source="__str__")
    generic_name = serializers.CharField()
    brand_name = serializers.CharField()
    strength = serializers.CharField()
    form = serializers.CharField()
    ndc = serializers.CharField()
    dea_schedule = serializers.CharField()
    is_high_alert = serializers.BooleanField()


class HoldParameterOut(serializers.Serializer):
    vital = serializers.CharField()
    comparator = serializers.CharField()
    limit = serializers.FloatField()


class OrderOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    resident = serializers.UUIDField(source="resident.public_id")
    medication = MedicationOut()
    dose_amount = _number(max_digits=8, decimal_places=3)
    dose_unit = serializers.CharField()
    route = serializers.ChoiceField(choices=Route.choices)
    instructions = serializers.CharField()
    indication = serializers.CharField()
    frequency = serializers.ChoiceField(choices=Order.Frequency.choices)
    administration_times = serializers.ListField(child=serializers.CharField())
    days_of_week = serializers.ListField(child=serializers.IntegerField())
    days_of_month = serializers.ListField(child=serializers.IntegerField())
    interval = serializers.IntegerField(allow_null=True)
    is_time_critical = serializers.BooleanField()
    window_minutes = serializers.IntegerField(allow_null=True)
    prn_min_interval_minutes = serializers.IntegerField(allow_null=True)
    prn_max_per_24h = serializers.IntegerField(allow_null=True)
    followup_minutes = serializers.IntegerField(allow_null=True)
    hold_parameters = HoldParameterOut(many=True)
    required_vitals = serializers.ListField(child=serializers.CharField())
    starts_at = UtcDateTimeField()
    ends_at = UtcDateTimeField(allow_null=True)
    prescriber = serializers.CharField()
    rx_number = serializers.CharField()
    status = serializers.ChoiceField(choices=Order.Status.choices)
    status_reason = serializers.CharField()
    status_changed_at = UtcDateTimeField(allow_null=True)
    entered_by = StaffOut()
    entered_at = UtcDateTimeField()
    verified_by = StaffOut(allow_null=True)
    verified_at = UtcDateTimeField(allow_null=True)
    replaces = serializers.UUIDField(source="replaces.public_id", allow_null=True)
    allergy_override_reason = serializers.CharField()
    allergy_conflict_at = UtcDateTimeField(
        allow_null=True,
        help_text="Set while an allergy recorded after the order waits for a nurse's review: "
        "no dose is given until then.",
    )


class AdministrationSummaryOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    status = serializers.ChoiceField(choices=Administration.Status.choices)
    administered_by = StaffOut()
    administered_at = UtcDateTimeField()


class ActiveRecordOut(AdministrationSummaryOut):
    """The dose's active record, from the list the selector prefetched (or null)."""

    def to_representation(self, records):
        return super().to_representation(records[0]) if records else None


class DoseOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    resident = serializers.UUIDField(source="resident.public_id")
    order = serializers.UUIDField(source="order.public_id")
    medication = serializers.CharField(source="order.medication.__str__")
    dose = serializers.SerializerMethodField()
    route = serializers.CharField(source="order.route")
    scheduled_at = UtcDateTimeField()
    window_start = UtcDateTimeField()
    window_end = UtcDateTimeField()
    status = serializers.ChoiceField(choices=DOSE_STATES, source="state")
    administration = ActiveRecordOut(source="active_records", allow_null=True)

    def get_dose(self, dose) -> str:
        return wording.dose_words(dose.order.dose_amount, dose.order.dose_unit)


class AmendmentOut(serializers.Serializer):
    field = serializers.CharField()
    old_value = serializers.CharField()
    new_value = serializers.CharField()
    reason = serializers.CharField()
    amended_by = StaffOut()
    amended_at = UtcDateTimeField()


class EffectivenessOut(serializers.Serializer):
    result = serializers.ChoiceField(choices=EffectivenessCheck.Result.choices)
    note = serializers.CharField()
    recorded_by = StaffOut()
    recorded_at = UtcDateTimeField()


class AdministrationOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    scheduled_dose = serializers.UUIDField(source="scheduled_dose.public_id", allow_null=True)
    order = serializers.UUIDField(source="order.public_id")
    resident = serializers.UUIDField(source="resident.public_id")
    medication = serializers.CharField(source="order.medication.__str__")
    status = serializers.ChoiceField(choices=Administration.Status.choices)
    reason = serializers.CharField()
    note = serializers.CharField()
    dose_amount = _number(max_digits=8, decimal_places=3, allow_null=True)
    dose_unit = serializers.CharField(source="order.dose_unit")
    administered_at = UtcDateTimeField()
    documented_at = UtcDateTimeField()
    administered_by = StaffOut()
    witness = StaffOut(allow_null=True)
    vitals = serializers.DictField(child=serializers.CharField())
    prn_reason = serializers.CharField()
    override_reason = serializers.CharField()
    is_late = serializers.BooleanField()
    is_late_entry = serializers.BooleanField()
    is_entered_in_error = serializers.BooleanField()
    source = serializers.CharField(
        help_text="How it arrived: tablet, api, offline (a tablet's offline queue); "
        "blank before sources were recorded.",
    )
    amendments = serializers.SerializerMethodField()
    effectiveness = serializers.SerializerMethodField()

    # A record charted by this very request has neither yet (``context["is_new"]``): its
    # answer is rendered from what the charting service loaded, without a query.
    @extend_schema_field(AmendmentOut(many=True))
    def get_amendments(self, record) -> list:
        if self.context.get("is_new"):
            return []
        return AmendmentOut(record.amendments.all(), many=True).data

    @extend_schema_field(EffectivenessOut(allow_null=True))
    def get_effectiveness(self, record) -> dict | None:
        if self.context.get("is_new"):
            return None
        try:
            check = record.effectiveness
        except EffectivenessCheck.DoesNotExist:
            return None
        return EffectivenessOut(check).data


class ReviewOut(serializers.Serializer):
    note = serializers.CharField()
    reviewed_by = StaffOut()
    reviewed_at = UtcDateTimeField()
    physician_notified = serializers.BooleanField()
    family_notified = serializers.BooleanField()


class ExceptionOut(serializers.Serializer):
    id = serializers.UUIDField(help_text="The dose's, record's or concern report's id.")
    kind = serializers.ChoiceField(choices=ExceptionReview.Kind.choices)
    status = serializers.ChoiceField(choices=EXCEPTION_STATUSES[:2])
    subject = serializers.ChoiceField(
        choices=["scheduled_dose", "administration", "concern_report"]
    )
    occurred_at = UtcDateTimeField()
    resident = serializers.UUIDField()
    resident_name = serializers.CharField()
    room = serializers.CharField(allow_null=True)
    summary = serializers.CharField()
    scheduled_dose = serializers.UUIDField(allow_null=True)
    administration = serializers.UUIDField(allow_null=True)
    order = serializers.UUIDField(allow_null=True)
    concern = serializers.UUIDField(allow_null=True)
    review = ReviewOut(allow_null=True)


class StockItemOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    cart = serializers.UUIDField(source="cart.public_id")
    resident = serializers.UUIDField(source="resident.public_id")
    order = serializers.UUIDField(source="order.public_id", allow_null=True)
    medication = MedicationOut()
    quantity = _number(max_digits=10, decimal_places=3, source="quantity_on_hand")
    unit = serializers.CharField()
    package = serializers.CharField()
    lot = serializers.CharField()
    expires_on = serializers.DateField()
    rx_number = serializers.CharField()
    received_at = UtcDateTimeField()


class StockTransactionOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    stock_item = serializers.UUIDField(source="stock_item.public_id")
    kind = serializers.CharField()
    quantity = _number(max_digits=10, decimal_places=3)
    balance_after = _number(max_digits=10, decimal_places=3)
    performed_by = StaffOut()
    witness = StaffOut(allow_null=True)
    reason = serializers.CharField()
    created_at = UtcDateTimeField()


class ErrorOut(serializers.Serializer):
    """Every error. ``field`` names the field at fault (dotted when nested) or is null."""

    detail = serializers.CharField()
    field = serializers.CharField(required=False, allow_null=True)
    errors = serializers.DictField(required=False)
    existing = AdministrationSummaryOut(
        required=False, help_text="409: the record already charted for this dose."
    )
    allowed_at = UtcDateTimeField(required=False, help_text="422: when a PRN dose is allowed.")
    reasons = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="422: hold parameters met."
    )
