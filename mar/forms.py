"""Plain forms for the clinical writes of the med pass. They parse; the services decide."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone

from mar import schedule
from mar.models import (
    Administration,
    EffectivenessCheck,
    Medication,
    Order,
    OrderAcknowledgement,
    Route,
    ScheduledDose,
    Vital,
)
from mar.services.administrations import ChartEntry
from residents.models import ConcernReport

NOT_GIVEN_CHOICES = [
    (value, label)
    for value, label in Administration.Status.choices
    if value != Administration.Status.GIVEN
]


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def local_time_to_instant(clock: dt.time, *, zone: ZoneInfo, now: dt.datetime) -> dt.datetime:
    """The moment nearest now at which the wall clock shows ``clock``: today's, or
    yesterday's when today's is more than 12 hours ahead (23:50 typed at 00:10). A time a
    few hours ahead stays in the future, for the service to refuse as such rather than
    read it as yesterday."""
    local_now = now.astimezone(zone)
    candidate = dt.datetime.combine(local_now.date(), clock, tzinfo=zone)
    if candidate - local_now > dt.timedelta(hours=12):
        candidate -= dt.timedelta(days=1)
    return candidate.astimezone(dt.UTC)


class VitalsMixin(forms.Form):
    """One number field per vital the order requires."""

    def add_vital_fields(self, order: Order) -> None:
        for name in order.vitals_needed:
            self.fields[f"vital_{name}"] = forms.DecimalField(
                label=Vital(name).label,
                required=False,
                max_digits=6,
                decimal_places=1,
                widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
            )

    def vitals(self) -> dict[str, str]:
        return {
            name.removeprefix("vital_"): str(value)
            for name, value in self.cleaned_data.items()
            if name.startswith("vital_") and value is not None
        }


class NurseChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.signature_name


class ScanAndOverrideMixin(forms.Form):
    """The scan (or why there is none) and a nurse's override, as every chart panel asks."""

    scanned_code = forms.CharField(
        required=False,
        max_length=100,
        label="Scan the package",
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "inputmode": "none", "autocapitalize": "off"}
        ),
    )
    scan_skipped = forms.ChoiceField(
        required=False,
        choices=[("", "It was scanned"), *Administration.ScanSkipped.choices],
        label="Cannot scan it?",
    )
    override_by = NurseChoiceField(
        queryset=None, required=False, label="Nurse", empty_label="Choose the nurse"
    )
    override_secret = forms.CharField(
        required=False,
        max_length=128,
        label="Nurse's PIN or password",
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    override_reason = forms.CharField(
        required=False, max_length=500, label="Why the nurse overrides"
    )

    def add_override_nurses(self, nurses) -> None:
        self.fields["override_by"].queryset = nurses

    def entry(
        self,
        *,
        administered_at: dt.datetime,
        scheduled_dose: ScheduledDose | None = None,
        order: Order | None = None,
    ) -> ChartEntry:
        """The charting request this form describes, as the service takes it."""
        data = self.cleaned_data
        return ChartEntry(
            scheduled_dose=scheduled_dose,
            order=order,
            status=data["status"],
            administered_at=administered_at,
            reason=data.get("reason", ""),
            note=data.get("note", ""),
            vitals=self.vitals(),
            prn_reason=data.get("prn_reason", ""),
            scanned_code=data.get("scanned_code", ""),
            scan_skipped=data.get("scan_skipped", ""),
            override_by=data.get("override_by"),
            override_secret=data.get("override_secret", ""),
            override_reason=data.get("override_reason", ""),
        )


class ChartForm(VitalsMixin, ScanAndOverrideMixin):
    idempotency_key = forms.CharField(max_length=100, widget=forms.HiddenInput)
    status = forms.ChoiceField(
        choices=Administration.Status.choices,
        widget=forms.HiddenInput,
        # The given panel always sends "given": a missing status is a not-given dose
        # whose reason code nobody chose (nothing is preselected).
        error_messages={
            "required": "Choose why it was not given: refused, held, not available, "
            "away, asleep or other."
        },
    )
    given_at = forms.TimeField(
        required=False,
        label="Given at (only if not just now)",
        widget=forms.TimeInput(attrs={"type": "time"}),
    )
    reason = forms.CharField(required=False, max_length=500, label="Why not given")
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Note"
    )

    def __init__(self, *args, order: Order, nurses, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.add_vital_fields(order)
        self.add_override_nurses(nurses)


class DoseListField(forms.Field):
    """Several dose ids under one name (each ticked checkbox), in order, each once."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[uuid.UUID]:
        doses = []
        for item in value or []:
            try:
                doses.append(uuid.UUID(str(item)))
            except ValueError:
                raise forms.ValidationError("That is not a dose.") from None
        return list(dict.fromkeys(doses))


class GiveAllForm(forms.Form):
    """The doses ticked on the Give all due screen (each one's key travels beside it)."""

    dose = DoseListField(required=False)


PRN_OUTCOMES = [
    (Administration.Status.GIVEN, "Given"),
    (Administration.Status.HELD, "Held (not given)"),
    (Administration.Status.REFUSED, "Refused"),
]


class PrnForm(VitalsMixin, ScanAndOverrideMixin):
    idempotency_key = forms.CharField(max_length=100, widget=forms.HiddenInput)
    status = forms.ChoiceField(
        choices=PRN_OUTCOMES,
        initial=Administration.Status.GIVEN,
        required=False,  # a PRN panel is for giving one; held or refused is chosen
        widget=forms.RadioSelect,
    )
    prn_reason = forms.CharField(
        max_length=500,
        label="What is it for now (symptom, pain...)",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    reason = forms.CharField(required=False, max_length=500, label="Why not given")
    given_at = forms.TimeField(
        required=False,
        label="At (only if not just now)",
        widget=forms.TimeInput(attrs={"type": "time"}),
    )
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Note"
    )

    def __init__(self, *args, order: Order, nurses, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.add_vital_fields(order)
        self.add_override_nurses(nurses)

    def clean_status(self) -> str:
        return self.cleaned_data.get("status") or Administration.Status.GIVEN


class OverrideAskForm(forms.Form):
    dose = forms.UUIDField(required=False)
    order = forms.UUIDField(required=False)
    what_stopped = forms.CharField(max_length=1000)

    def clean(self):
        data = super().clean()
        if bool(data.get("dose")) == bool(data.get("order")):
            raise forms.ValidationError("Name the dose or the PRN order.")
        return data


class OverrideForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        label="Why you override",
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class UndoForm(forms.Form):
    reason = forms.CharField(max_length=500, label="Why was it entered in error?")


class EffectivenessForm(forms.Form):
    result = forms.ChoiceField(
        choices=EffectivenessCheck.Result.choices, widget=forms.RadioSelect, label="Result"
    )
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Note"
    )


class ConcernForm(forms.Form):
    kind = forms.ChoiceField(choices=ConcernReport.Kind.choices, widget=forms.RadioSelect)
    description = forms.CharField(
        max_length=4000, widget=forms.Textarea(attrs={"rows": 4}), label="What did you see?"
    )
    observed_at = forms.TimeField(
        required=False,
        label="When (leave empty for just now)",
        widget=forms.TimeInput(attrs={"type": "time"}),
    )
    administration = forms.UUIDField(required=False, widget=forms.HiddenInput)


# --- The nurse's screens -------------------------------------------------------------------

WEEKDAY_CHOICES = [
    (1, "Mon"),
    (2, "Tue"),
    (3, "Wed"),
    (4, "Thu"),
    (5, "Fri"),
    (6, "Sat"),
    (7, "Sun"),
]
COMPARATOR_CHOICES = [("", "—"), ("<", "below"), (">", "above")]
ALLERGY_REASON_CHOICES = [("", "— Choose a reason —"), *OrderAcknowledgement.Reason.choices]
VITAL_CHOICES = [("", "—"), *Vital.choices]


def _local_instant(day: dt.date, clock: dt.time | None, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, clock or dt.time(), tzinfo=zone).astimezone(dt.UTC)


def _is_clock(text: str) -> bool:
    try:
        dt.time.fromisoformat(text if len(text) > 4 else f"0{text}")
    except ValueError:
        return False
    return True


def _end_instant(last_day: dt.date, clock: dt.time | None, zone: ZoneInfo) -> dt.datetime:
    """When an order "ending on Dec 8" stops: at the time given that day, or else at the
    start of Dec 9, so Dec 8's doses are given (the last day is inclusive)."""
    if clock is not None:
        return _local_instant(last_day, clock, zone)
    return schedule.local_to_utc(day=last_day + dt.timedelta(days=1), clock=dt.time(), zone=zone)


class OrderForm(forms.Form):
    """A new order (or the new half of a change). Parses; ``order_create`` decides."""

    medication = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="Medication from the catalog",
        empty_label="— New catalog entry (below) —",
    )
    new_generic_name = forms.CharField(required=False, max_length=120, label="Generic name")
    new_brand_name = forms.CharField(required=False, max_length=120, label="Brand name")
    new_strength = forms.CharField(required=False, max_length=60, label="Strength (e.g. 25 mg)")
    new_form = forms.ChoiceField(
        required=False, choices=[("", "—"), *Medication.Form.choices], label="Form"
    )
    new_ingredients = forms.CharField(
        required=False, max_length=400, label="Active ingredients (comma-separated)"
    )
    dose_amount = forms.DecimalField(
        max_digits=8, decimal_places=3, min_value=Decimal("0.001"), label="Dose"
    )
    dose_unit = forms.CharField(max_length=20, label="Unit (tablet, mL, units...)")
    route = forms.ChoiceField(choices=Route.choices)
    frequency = forms.ChoiceField(choices=Order.Frequency.choices)
    administration_times = forms.CharField(
        required=False,
        max_length=200,
        label="Times (08:00, 20:00 or pass names AM, HS)",
    )
    days_of_week = forms.TypedMultipleChoiceField(
        required=False,
        coerce=int,
        choices=WEEKDAY_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        label="Days of the week",
    )
    days_of_month = forms.CharField(
        required=False, max_length=100, label="Days of the month (1, 15)"
    )
    interval = forms.IntegerField(required=False, min_value=1, max_value=168, label="Every N")
    is_time_critical = forms.BooleanField(required=False, label="Time-critical (30-minute window)")
    prn_min_interval_minutes = forms.IntegerField(
        required=False, min_value=1, max_value=10080, label="PRN: minimum minutes between doses"
    )
    prn_max_per_24h = forms.IntegerField(
        required=False, min_value=1, max_value=48, label="PRN: at most per 24 hours"
    )
    followup_minutes = forms.IntegerField(
        required=False, min_value=5, max_value=1440, label="PRN: effectiveness follow-up (min)"
    )
    indication = forms.CharField(required=False, max_length=200, label="Indication / PRN reason")
    hold_vital_1 = forms.ChoiceField(required=False, choices=VITAL_CHOICES, label="Hold if")
    hold_comparator_1 = forms.ChoiceField(required=False, choices=COMPARATOR_CHOICES, label="is")
    hold_limit_1 = forms.DecimalField(required=False, max_digits=6, decimal_places=1, label="Limit")
    hold_vital_2 = forms.ChoiceField(required=False, choices=VITAL_CHOICES, label="or if")
    hold_comparator_2 = forms.ChoiceField(required=False, choices=COMPARATOR_CHOICES, label="is")
    hold_limit_2 = forms.DecimalField(required=False, max_digits=6, decimal_places=1, label="Limit")
    required_vitals = forms.MultipleChoiceField(
        required=False,
        choices=Vital.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Vitals required before each dose",
    )
    starts_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Starts on")
    starts_time = forms.TimeField(
        required=False, widget=forms.TimeInput(attrs={"type": "time"}), label="at"
    )
    ends_on = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        label="Last day",
        help_text="Doses are given through the end of this day.",
    )
    ends_time = forms.TimeField(
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}),
        label="or stop at",
        help_text="A time on the last day: doses due before it are given.",
    )
    prescriber = forms.CharField(max_length=120)
    rx_number = forms.CharField(required=False, max_length=40, label="Rx number")
    instructions = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    allergy_override = forms.BooleanField(
        required=False, label="I override the allergy warning, for the reason below"
    )
    allergy_override_code = forms.ChoiceField(
        required=False,
        choices=ALLERGY_REASON_CHOICES,
        label="Why it is given anyway",
    )
    allergy_override_reason = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="In your words (a sentence; required for Other)",
    )
    dose_warnings_acknowledged = forms.BooleanField(
        required=False,
        label="The prescriber confirmed this dose: I acknowledge the dose warning",
    )
    start_in_past_reason = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Why does it start more than a week ago?",
    )
    drug_warnings_reason = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Why the order goes ahead despite the warnings (a sentence)",
    )
    psychotropic_rationale = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Prescriber's documented rationale for a PRN psychotropic past 14 days",
    )

    def __init__(self, *args, medications, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["medication"].queryset = medications

    def clean(self):
        data = super().clean()
        # Every problem is added, none raised, so the nurse sees them all in one submit.
        if not data.get("medication") and not (
            data.get("new_generic_name") and data.get("new_strength") and data.get("new_form")
        ):
            self.add_error(
                None,
                "Choose a medication from the catalog, or give a new one's generic name, "
                "strength and form.",
            )
        for token in (data.get("administration_times") or "").split(","):
            token = token.strip()
            if ":" in token and not _is_clock(token):
                self.add_error(
                    "administration_times",
                    f"{token} is not a time of day: write it as 00:00 to 23:59.",
                )
        if data.get("allergy_override") and not (
            data.get("allergy_override_code") or (data.get("allergy_override_reason") or "").strip()
        ):
            self.add_error("allergy_override_code", "Say why you override the allergy warning.")
        raw_days = data.get("days_of_month") or ""
        try:
            data["days_of_month_list"] = [int(p) for p in raw_days.replace(" ", "").split(",") if p]
        except ValueError:
            self.add_error("days_of_month", "Days of the month are numbers, e.g. 1, 15.")
        return data

    def new_medication(self) -> dict | None:
        data = self.cleaned_data
        if data.get("medication"):
            return None
        return {
            "generic_name": data["new_generic_name"].strip(),
            "brand_name": data.get("new_brand_name", "").strip(),
            "strength": data["new_strength"].strip(),
            "form": data["new_form"],
            "default_route": data["route"],
            "ingredients": [
                part.strip().lower()
                for part in (data.get("new_ingredients") or "").split(",")
                if part.strip()
            ],
        }

    def order_values(self, *, zone: ZoneInfo) -> dict:
        """The fields of ``order_create`` (only those the frequency uses are filled)."""
        data = self.cleaned_data
        frequency = data["frequency"]
        times = [t.strip() for t in (data.get("administration_times") or "").split(",")]
        uses_times = frequency in ("times_of_day", "days_of_week", "every_n_days", "monthly")
        holds = []
        for n in (1, 2):
            vital, comparator, limit = (
                data.get(f"hold_vital_{n}"),
                data.get(f"hold_comparator_{n}"),
                data.get(f"hold_limit_{n}"),
            )
            if vital and comparator and limit is not None:
                holds.append({"vital": vital, "comparator": comparator, "limit": float(limit)})
        ends_at = None
        if data.get("ends_on"):
            ends_at = _end_instant(data["ends_on"], data.get("ends_time"), zone)
        is_prn = frequency == Order.Frequency.PRN
        return {
            "dose_amount": data["dose_amount"],
            "dose_unit": data["dose_unit"].strip(),
            "route": data["route"],
            "instructions": data.get("instructions", "").strip(),
            "indication": data.get("indication", "").strip(),
            "frequency": frequency,
            "administration_times": [t for t in times if t] if uses_times else [],
            "days_of_week": list(data.get("days_of_week") or [])
            if frequency == "days_of_week"
            else [],
            "days_of_month": data.get("days_of_month_list", []) if frequency == "monthly" else [],
            "interval": data.get("interval")
            if frequency in ("every_n_days", "every_n_hours")
            else None,
            "is_time_critical": bool(data.get("is_time_critical")),
            "prn_min_interval_minutes": data.get("prn_min_interval_minutes") if is_prn else None,
            "prn_max_per_24h": data.get("prn_max_per_24h") if is_prn else None,
            "followup_minutes": data.get("followup_minutes") if is_prn else None,
            "hold_parameters": holds,
            "required_vitals": list(data.get("required_vitals") or []),
            "starts_at": _local_instant(data["starts_on"], data.get("starts_time"), zone),
            "ends_at": ends_at,
            "prescriber": data["prescriber"].strip(),
            "rx_number": data.get("rx_number", "").strip(),
            "allergy_override_reason": data.get("allergy_override_reason", "").strip()
            if data.get("allergy_override")
            else "",
        }

    def answers(self) -> dict:
        """The nurse's answers to the order's warnings (``order_create``'s keywords)."""
        data = self.cleaned_data
        return {
            "allergy_override_code": data.get("allergy_override_code", "")
            if data.get("allergy_override")
            else "",
            "dose_warnings_acknowledged": bool(data.get("dose_warnings_acknowledged")),
            "start_in_past_reason": (data.get("start_in_past_reason") or "").strip(),
            "drug_warnings_reason": (data.get("drug_warnings_reason") or "").strip(),
            "psychotropic_rationale": (data.get("psychotropic_rationale") or "").strip(),
        }


class VerifyForm(forms.Form):
    checked_against_prescription = forms.BooleanField(
        label="I checked this order against the prescription"
    )
    allergy_reviewed = forms.BooleanField(
        required=False, label="I reviewed the allergy warning and the override reason"
    )
    dose_warnings_reviewed = forms.BooleanField(
        required=False, label="I checked the dose warning with the prescription"
    )
    drug_warnings_reason = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Why the order goes ahead despite the drug warnings (a sentence)",
    )


class AllergyReviewForm(forms.Form):
    allergy_acknowledged = forms.BooleanField(
        required=False, label="I reviewed the new allergy against this order"
    )
    reason_code = forms.ChoiceField(
        required=False, choices=ALLERGY_REASON_CHOICES, label="Why the order is kept"
    )
    reason = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="In your words (a sentence; required for Other)",
    )


class ExceptionFilterForm(forms.Form):
    facility = forms.UUIDField(required=False)
    unit = forms.IntegerField(required=False, min_value=1)
    cart = forms.UUIDField(required=False)
    resident = forms.UUIDField(required=False)
    staff = forms.UUIDField(required=False)
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any kind"),
            ("missed", "Missed"),
            ("late", "Late"),
            ("refused", "Refused"),
            ("held", "Held"),
            ("not_available", "Not available"),
            ("away", "Away"),
            ("other", "Other not given"),
            ("concern", "Concern report"),
        ],
    )
    status = forms.ChoiceField(
        required=False,
        choices=[("open", "Not reviewed"), ("acknowledged", "Reviewed"), ("all", "All")],
    )
    page = forms.IntegerField(required=False, min_value=1)


class AcknowledgeForm(forms.Form):
    keys = forms.MultipleChoiceField(required=False, choices=[])
    note = forms.CharField(
        max_length=4000, widget=forms.Textarea(attrs={"rows": 2}), label="Follow-up note"
    )
    physician_notified = forms.BooleanField(required=False, label="Physician notified")
    family_notified = forms.BooleanField(required=False, label="Family notified")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Keys are checked against the user's communities by the selector, not here.
        keys = self.data.getlist("keys") if hasattr(self.data, "getlist") else []
        self.fields["keys"].choices = [(key, key) for key in keys[:500]]


class FollowUpDoneForm(forms.Form):
    note = forms.CharField(
        max_length=4000, widget=forms.Textarea(attrs={"rows": 2}), label="What was done"
    )
    prescriber_notified = forms.BooleanField(required=False, label="Prescriber notified")


class AmendForm(forms.Form):
    field = forms.ChoiceField(
        choices=[
            ("administered_at", "Time given"),
            ("status", "Status"),
            ("reason", "Reason"),
            ("note", "Note"),
            ("dose_amount", "Dose amount"),
            ("entered_in_error", "Mark entered in error"),
        ],
        label="What to correct",
    )
    new_time = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        label="Corrected time",
    )
    new_status = forms.ChoiceField(
        required=False, choices=[("", "—"), *Administration.Status.choices], label="Status"
    )
    new_text = forms.CharField(
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Corrected reason, note or amount",
    )
    reason = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Why is it corrected?"
    )

    def new_value(self, *, zone: ZoneInfo) -> str:
        data = self.cleaned_data
        if data["field"] == "administered_at":
            if data.get("new_time") is None:
                return ""
            # The form read the wall clock in the server's zone; it is the facility's.
            naive = data["new_time"]
            if timezone.is_aware(naive):
                naive = timezone.make_naive(naive)
            return naive.replace(tzinfo=zone).isoformat()
        if data["field"] == "status":
            return data.get("new_status") or ""
        return data.get("new_text") or ""


class ReportForm(forms.Form):
    facility = forms.UUIDField(required=False)
    days = forms.TypedChoiceField(
        required=False, coerce=int, choices=[(7, "7 days"), (30, "30 days"), (90, "90 days")]
    )
