"""Plain forms for the stock pages. They parse; the services decide."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from inventory.models import ControlledCountLine, MedCart, StockItem
from mar.models import Order
from staff.models import User

NUMBER = {"inputmode": "decimal", "autocomplete": "off"}
SECRET = {"autocomplete": "off", "placeholder": "PIN or password"}

WASTE_REASONS = [
    ("Dropped or contaminated", "Dropped or contaminated"),
    ("Refused after it was prepared", "Refused after it was prepared"),
    ("Partial dose: rest wasted", "Partial dose: rest wasted"),
    ("Damaged package", "Damaged package"),
    ("Expired", "Expired"),
    ("Other", "Other (say what)"),
]


def _person(user: User) -> str:
    name = user.get_full_name() or user.username
    return f"{name}, {user.title}" if user.title else name


def _quantity_field(*, label: str, required: bool = True, help_text: str = "") -> forms.Field:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=Decimal("0.001"),
        max_digits=10,
        decimal_places=3,
        help_text=help_text,
        widget=forms.NumberInput(attrs=NUMBER | {"step": "any"}),
    )


class WitnessForm(forms.Form):
    """A second person who watched, and signs with their own PIN or password."""

    witness = forms.ChoiceField(label="Witness", required=False)
    witness_secret = forms.CharField(
        label="Witness's PIN or password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs=SECRET),
    )

    def __init__(self, *args, staff: list[User], user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.staff = {str(person.public_id): person for person in staff if person.pk != user.pk}
        self.fields["witness"].choices = [("", "Choose who watched")] + [
            (key, _person(person)) for key, person in self.staff.items()
        ]

    def witness_user(self) -> User | None:
        return self.staff.get(self.cleaned_data.get("witness") or "")


class ReceiveForm(WitnessForm):
    order = forms.ChoiceField(label="Order", widget=forms.RadioSelect)
    quantity = _quantity_field(label="Quantity received")
    lot = forms.CharField(label="Lot number", max_length=40)
    expires_on = forms.DateField(
        label="Expiry date", widget=forms.DateInput(attrs={"type": "date"})
    )
    rx_number = forms.CharField(label="Rx number on the label", max_length=40, required=False)
    package = forms.ChoiceField(label="Package", choices=StockItem.Package.choices)
    unit = forms.CharField(
        label="Counted in",
        max_length=20,
        required=False,
        help_text="Leave empty for the order's unit (tablets for a dose in mg).",
    )
    note = forms.CharField(label="Note", max_length=500, required=False)

    def __init__(self, *args, orders: list[Order], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.orders = {str(order.public_id): order for order in orders}
        self.fields["order"].choices = [(key, str(order)) for key, order in self.orders.items()]

    def chosen_order(self) -> Order:
        return self.orders[self.cleaned_data["order"]]


class WasteForm(WitnessForm):
    quantity = _quantity_field(label="Quantity wasted")
    reason = forms.ChoiceField(
        label="What happened", choices=WASTE_REASONS, widget=forms.RadioSelect
    )
    detail = forms.CharField(label="Details", max_length=500, required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("reason") == "Other" and not cleaned.get("detail", "").strip():
            self.add_error("detail", "Say what happened.")
        return cleaned

    def reason_text(self) -> str:
        detail = self.cleaned_data.get("detail", "").strip()
        reason = self.cleaned_data["reason"]
        if reason == "Other":
            return detail
        return f"{reason}: {detail}" if detail else reason


class ReturnForm(WitnessForm):
    quantity = _quantity_field(
        label="Quantity returned", required=False, help_text="Leave empty to return all of it."
    )
    reason = forms.CharField(label="Why", max_length=500, required=False)


class AdjustForm(forms.Form):
    counted = forms.DecimalField(
        label="Quantity really there",
        min_value=Decimal(0),
        max_digits=10,
        decimal_places=3,
        widget=forms.NumberInput(attrs=NUMBER | {"step": "any"}),
    )
    reason = forms.CharField(label="Why the count is corrected", max_length=500)


class TransferForm(forms.Form):
    to_cart = forms.ChoiceField(label="Move to cart", widget=forms.RadioSelect)
    quantity = _quantity_field(
        label="Quantity to move", required=False, help_text="Leave empty to move all of it."
    )
    reason = forms.CharField(label="Why", max_length=500, required=False)

    def __init__(self, *args, carts: list[MedCart], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.carts = {str(cart.public_id): cart for cart in carts}
        self.fields["to_cart"].choices = [(key, cart.name) for key, cart in self.carts.items()]

    def chosen_cart(self) -> MedCart:
        return self.carts[self.cleaned_data["to_cart"]]


class CountStartForm(forms.Form):
    outgoing_user = forms.ChoiceField(label="Outgoing (handing over)")
    incoming_user = forms.ChoiceField(label="Incoming (taking over)")

    def __init__(self, *args, staff: list[User], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.staff = {str(person.public_id): person for person in staff}
        choices = [("", "Choose a person")] + [
            (key, _person(person)) for key, person in self.staff.items()
        ]
        self.fields["outgoing_user"].choices = choices
        self.fields["incoming_user"].choices = choices

    def clean(self):
        cleaned = super().clean()
        outgoing, incoming = cleaned.get("outgoing_user"), cleaned.get("incoming_user")
        if outgoing and outgoing == incoming:
            self.add_error("incoming_user", "Choose two different people.")
        return cleaned

    def person(self, name: str) -> User:
        return self.staff[self.cleaned_data[name]]


class CountSignForm(forms.Form):
    """One person's blind count: a number for every line, and their signature."""

    secret = forms.CharField(
        label="Your PIN or password",
        strip=False,
        widget=forms.PasswordInput(attrs=SECRET),
    )

    def __init__(self, *args, lines: list[ControlledCountLine], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            self.fields[f"line-{line.pk}"] = forms.DecimalField(
                label=f"{line.stock_item.medication} for {line.stock_item.resident.display_name}",
                min_value=Decimal(0),
                max_digits=10,
                decimal_places=3,
                widget=forms.NumberInput(attrs=NUMBER | {"step": "any", "min": "0"}),
            )

    def line_rows(self):
        return [(line, self[f"line-{line.pk}"]) for line in self.lines]

    def quantities(self) -> dict[int, Decimal]:
        return {line.pk: self.cleaned_data[f"line-{line.pk}"] for line in self.lines}


class CountResolveForm(forms.Form):
    note = forms.CharField(
        label="What you found and what was done",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    adjust_to_count = forms.BooleanField(
        label="Correct the stock to the count where both people counted the same",
        required=False,
    )


class ReorderRequestForm(forms.Form):
    resident = forms.UUIDField(widget=forms.HiddenInput)
    medication = forms.UUIDField(widget=forms.HiddenInput)
    note = forms.CharField(label="Note", max_length=500, required=False)
