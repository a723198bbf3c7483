"""Forms of the administrator's resident and community screens. They parse and check
shapes only; the rules are in residents.services."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from residents.models import Allergy, Facility, Resident, Room, Unit
from residents.photos import MAX_BYTES

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
ALLERGY_ROWS = 4
DIAGNOSIS_ROWS = 4
STANDARD_PASSES = ("AM", "Noon", "PM", "HS")


class RoomChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Room) -> str:
        return f"{obj.number} · {obj.unit.name}"


class ResidentSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=60, label="Name or room")
    unit = forms.ModelChoiceField(queryset=Unit.objects.none(), required=False, empty_label="All")
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("in_house", "In the community"),
            ("active", "In the building"),
            ("away", "Away"),
            ("discharged", "Discharged"),
            ("deceased", "Deceased"),
            ("all", "Everyone"),
        ],
    )

    def __init__(self, *args, units: list[Unit], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Unit.objects.filter(pk__in=[u.pk for u in units]).order_by(
            "name", "id"
        )


class AdmitForm(forms.Form):
    first_name = forms.CharField(max_length=80)
    last_name = forms.CharField(max_length=80)
    preferred_name = forms.CharField(max_length=80, required=False)
    date_of_birth = forms.DateField(widget=DATE)
    sex = forms.ChoiceField(choices=Resident.Sex.choices, initial=Resident.Sex.UNKNOWN)
    admitted_on = forms.DateField(widget=DATE, label="Admitted on")
    room = RoomChoiceField(queryset=Room.objects.none(), empty_label="Choose a room")
    photo = forms.FileField(
        required=False,
        label="Photo",
        help_text="Take it with the tablet's camera or choose a picture (JPEG, PNG or WebP, "
        "up to 5 MB).",
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/*", "capture": "user", "data-photo-input": ""}
        ),
    )
    physician = forms.CharField(max_length=120)
    physician_phone = forms.CharField(max_length=30, required=False)
    pharmacy = forms.CharField(max_length=120)
    pharmacy_phone = forms.CharField(max_length=30, required=False)
    code_status = forms.ChoiceField(choices=Resident.CodeStatus.choices)
    has_no_known_allergies = forms.BooleanField(
        required=False, label="No known allergies (confirmed)"
    )

    def __init__(self, *args, facility: Facility, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["room"].queryset = (
            Room.objects.filter(facility=facility).select_related("unit").order_by("number", "id")
        )
        for index in range(ALLERGY_ROWS):
            self.fields[f"allergen_{index}"] = forms.CharField(
                max_length=120, required=False, label="Allergen"
            )
            self.fields[f"reaction_{index}"] = forms.CharField(
                max_length=200, required=False, label="Reaction"
            )
            self.fields[f"severity_{index}"] = forms.ChoiceField(
                choices=Allergy.Severity.choices,
                initial=Allergy.Severity.UNKNOWN,
                required=False,
                label="Severity",
            )
        for index in range(DIAGNOSIS_ROWS):
            self.fields[f"diagnosis_{index}"] = forms.CharField(
                max_length=200, required=False, label="Diagnosis"
            )
            self.fields[f"icd10_{index}"] = forms.CharField(
                max_length=10, required=False, label="ICD-10"
            )

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        if photo and photo.size > MAX_BYTES:
            raise forms.ValidationError("The photo is larger than 5 MB.")
        return photo

    def allergy_rows(self):
        return [
            (self[f"allergen_{i}"], self[f"reaction_{i}"], self[f"severity_{i}"])
            for i in range(ALLERGY_ROWS)
        ]

    def diagnosis_rows(self):
        return [(self[f"diagnosis_{i}"], self[f"icd10_{i}"]) for i in range(DIAGNOSIS_ROWS)]


class AllergyForm(forms.Form):
    allergen = forms.CharField(max_length=120)
    reaction = forms.CharField(max_length=200, required=False)
    severity = forms.ChoiceField(choices=Allergy.Severity.choices, initial="unknown")


class MoveForm(forms.Form):
    room = RoomChoiceField(queryset=Room.objects.none(), empty_label="Choose the new room")
    reason = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, facility: Facility, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["room"].queryset = (
            Room.objects.filter(facility=facility)
            .select_related("unit")
            .order_by("unit__name", "number", "id")
        )


class LeaveForm(forms.Form):
    kind = forms.ChoiceField(choices=Resident.AwayKind.choices, widget=forms.RadioSelect)
    started_at = forms.DateTimeField(
        widget=DATETIME, label="Left at", input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
    )
    expected_return_on = forms.DateField(widget=DATE, required=False, label="Expected back on")
    note = forms.CharField(
        max_length=500, required=False, label="Where, and why", widget=forms.TextInput()
    )


class ReturnForm(forms.Form):
    returned_at = forms.DateTimeField(
        widget=DATETIME, label="Back at", input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
    )


class DischargeForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[
            (Resident.Status.DISCHARGED, "Discharged"),
            (Resident.Status.DECEASED, "Deceased"),
        ],
        widget=forms.RadioSelect,
    )
    on_date = forms.DateField(widget=DATE, label="On")
    reason = forms.CharField(
        max_length=500, label="Where to, or the circumstances", widget=forms.TextInput()
    )
    confirm = forms.BooleanField(
        label="I understand their orders end now", error_messages={"required": "Tick to confirm."}
    )


def _time_zone_choices() -> list[tuple[str, str]]:
    zones = sorted(z for z in zoneinfo.available_timezones() if "/" in z and "Etc" not in z)
    return [(zone, zone) for zone in zones]


def bounded(field: forms.Field, *, low: int, high: int, what: str) -> None:
    """Bound a number field, with the error in the user's words ("Enter a number of
    minutes from 1 to 720.") rather than "Ensure this value is less than or equal to
    32767." that a small-integer column gives."""
    message = f"Enter a whole number of {what} from {low} to {high}."
    field.min_value, field.max_value = low, high
    field.validators = [
        MinValueValidator(low, message=message),
        MaxValueValidator(high, message=message),
    ]
    field.error_messages = {**field.error_messages, "invalid": message}
    field.widget.attrs.update({"min": low, "max": high})


# Each number setting: the least, the most, and what it counts.
FACILITY_NUMBER_BOUNDS = {
    "window_time_critical_minutes": (1, 240, "minutes"),
    "window_more_than_daily_minutes": (1, 240, "minutes"),
    "window_daily_minutes": (1, 720, "minutes"),
    "late_limit_minutes": (0, 1440, "minutes"),
    "reminder_lead_minutes": (0, Facility.MAX_REMINDER_LEAD_MINUTES, "minutes"),
    "auto_lock_minutes": (1, 240, "minutes"),
    "prn_followup_minutes": (5, 1440, "minutes"),
    "reorder_threshold_days": (0, 365, "days"),
    "expiry_warning_days": (0, 365, "days"),
}


class FacilityForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=_time_zone_choices)

    class Meta:
        model = Facility
        fields = (
            "name",
            "address",
            "license_number",
            "time_zone",
            "window_time_critical_minutes",
            "window_more_than_daily_minutes",
            "window_daily_minutes",
            "late_limit_minutes",
            "reminder_lead_minutes",
            "requires_second_check",
            "requires_scan",
            "auto_lock_minutes",
            "prn_followup_minutes",
            "reorder_threshold_days",
            "expiry_warning_days",
        )
        labels = {
            "window_time_critical_minutes": "Time-critical window (± minutes)",
            "window_more_than_daily_minutes": "More than daily window (± minutes)",
            "window_daily_minutes": "Daily, weekly, monthly window (± minutes)",
            "late_limit_minutes": "Late limit (minutes after the window)",
            "reminder_lead_minutes": "Reminder lead (minutes)",
            "requires_second_check": "New orders need a second nurse's check",
            "requires_scan": "Scan every package before a dose is given (or say why not)",
            "auto_lock_minutes": "Tablet auto-lock (minutes idle)",
            "prn_followup_minutes": "PRN follow-up after (minutes)",
            "reorder_threshold_days": "Reorder when fewer days left than",
            "expiry_warning_days": "Warn of expiry (days ahead)",
        }
        widgets = {"address": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, pass_times: dict[str, dt.time], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        names = list(pass_times) + [n for n in STANDARD_PASSES if n not in pass_times]
        self.pass_names = names
        for name in names:
            self.fields[f"pass_{name}"] = forms.TimeField(
                label=f"{name} pass",
                initial=pass_times.get(name),
                required=name in pass_times,
                widget=TIME,
            )
        for name, (low, high, what) in FACILITY_NUMBER_BOUNDS.items():
            bounded(self.fields[name], low=low, high=high, what=what)

    def _post_clean(self) -> None:
        # The service applies and validates the change; skip the ModelForm's instance write.
        pass

    def pass_fields(self):
        return [self[f"pass_{name}"] for name in self.pass_names]

    def pass_times(self) -> dict[str, dt.time]:
        return {
            name: self.cleaned_data[f"pass_{name}"]
            for name in self.pass_names
            if self.cleaned_data.get(f"pass_{name}") is not None
        }

    def settings(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class UnitForm(forms.Form):
    name = forms.CharField(max_length=80, label="New unit")


class CartForm(forms.Form):
    name = forms.CharField(max_length=80, label="New cart")
    unit = forms.ModelChoiceField(
        queryset=Unit.objects.none(), required=False, empty_label="No particular unit"
    )

    def __init__(self, *args, facility: Facility, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = facility.units.order_by("name", "id")


class RoomForm(forms.Form):
    number = forms.CharField(max_length=12, label="Room")
    unit = forms.ModelChoiceField(queryset=Unit.objects.none(), empty_label="Choose a unit")
    # The community's carts (inventory's), set with the community below.
    cart = forms.ModelChoiceField(queryset=None, required=False, empty_label="No cart")

    def __init__(self, *args, facility: Facility, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = facility.units.order_by("name", "id")
        self.fields["cart"].queryset = facility.carts.filter(is_active=True).order_by("name", "id")
