"""What the drug reference says about a medication for the order checks
(``mar.services.order_checks.order_checks`` calls these): the allergies it matches by
ingredient or class, the other open orders that share an ingredient with it, the listed
interactions with them, whether it is a psychotropic, and how much of a capped
ingredient one dose holds.

A medication's profile is its ingredients (moieties) and classes: those of the reference
product it was picked from, and those of each ingredient in the reference (so a
medication typed by hand, "amoxicillin", still has the penicillin class).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from drugref import rules
from drugref.fda import moiety
from drugref.models import Ingredient, MedicationProduct


@dataclass(frozen=True)
class Profile:
    ingredients: frozenset[str]
    classes: frozenset[str]  # "epc:Opioid Agonist", "moa:...", "cs:..."
    # The ingredients the reference knows (a picked product's, or names it lists):
    # duplicate therapy and interactions compare these, never free text typed by hand.
    known: frozenset[str] = frozenset()
    # (ingredient, amount, unit) per ingredient: ("acetaminophen", 325, "mg/1")
    strengths: tuple[tuple[str, Decimal, str], ...] = ()

    @property
    def terms(self) -> frozenset[str]:
        return self.classes | {f"ingredient:{name}" for name in self.ingredients}

    @property
    def known_terms(self) -> frozenset[str]:
        return self.classes | {f"ingredient:{name}" for name in self.known}

    def class_names(self, kind: str = "epc") -> list[str]:
        return sorted(c.split(":", 1)[1] for c in self.classes if c.startswith(f"{kind}:"))


def _tagged(product_or_ingredient) -> set[str]:
    return (
        {f"epc:{c}" for c in product_or_ingredient.epc_classes}
        | {f"moa:{c}" for c in product_or_ingredient.moa_classes}
        | {f"cs:{c}" for c in product_or_ingredient.chemical_classes}
    )


def _ingredient_names(medication) -> list[str]:
    names = [moiety(name) for name in (medication.ingredients or []) if name.strip()]
    return names or [moiety(medication.generic_name or "")]


def _typed_strengths(medication, ingredients: list[str]) -> tuple[tuple[str, Decimal, str], ...]:
    """ "325 mg" or "5 mg/325 mg" typed on a medication, one amount per ingredient."""
    parts = [p.strip().split() for p in (medication.strength or "").split("/")]
    if len(parts) != len(ingredients) or not all(len(p) == 2 for p in parts):
        return ()
    try:
        return tuple(
            (name, Decimal(amount), f"{unit}/1")
            for name, (amount, unit) in zip(ingredients, parts, strict=True)
        )
    except InvalidOperation:
        return ()


def profiles(medications: Iterable) -> dict[int, Profile]:
    """Profiles by ``id()`` of each medication given (saved or not): two queries."""
    medications = list(medications)
    names = {id(m): _ingredient_names(m) for m in medications}
    picked = {
        link.medication_id: link.product
        for link in MedicationProduct.objects.filter(
            medication_id__in=[m.pk for m in medications if m.pk]
        ).select_related("product")
    }
    known = {
        ingredient.name: ingredient
        for ingredient in Ingredient.objects.filter(
            name__in={name for group in names.values() for name in group}
        )
    }
    found = {}
    for medication in medications:
        ingredients = set(names[id(medication)])
        classes: set[str] = set()
        strengths: tuple = ()
        known_names = {name for name in ingredients if name in known}
        if product := picked.get(medication.pk):
            ingredients |= set(product.ingredients)
            known_names |= set(product.ingredients)
            classes |= _tagged(product)
            strengths = tuple(
                (s["ingredient"], Decimal(s["amount"]), s["unit"])
                for s in product.strengths
                if _is_number(s["amount"])
            )
        for name in ingredients:
            if name in known:
                classes |= _tagged(known[name])
        found[id(medication)] = Profile(
            ingredients=frozenset(ingredients),
            classes=frozenset(classes),
            known=frozenset(known_names),
            strengths=strengths or _typed_strengths(medication, names[id(medication)]),
        )
    return found


def profile(medication) -> Profile:
    return profiles([medication])[id(medication)]


def _is_number(value: str) -> bool:
    try:
        Decimal(value)
    except InvalidOperation:
        return False
    return True


# --- Allergies ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AllergyFinding:
    allergy: object  # residents.models.Allergy
    kind: str  # "ingredient", "class" or "cross-sensitivity"
    text: str


def allergen_terms(allergens: Iterable[str]) -> dict[str, frozenset[str]]:
    """What each allergy names: a class ("sulfa"), or a drug and its classes
    ("codeine": the ingredient and the opioid class). One query."""
    words = {a: a.strip().casefold() for a in allergens}
    known = {
        i.name: i for i in Ingredient.objects.filter(name__in={moiety(w) for w in words.values()})
    }
    terms = {}
    for allergen, word in words.items():
        if word in rules.ALLERGY_TERMS:
            terms[allergen] = rules.ALLERGY_TERMS[word]
            continue
        name = moiety(word)
        found = {f"ingredient:{name}"}
        if name in known:
            found |= {c for c in _tagged(known[name]) if c.startswith("epc:")}
        terms[allergen] = frozenset(found - rules.NOT_ALLERGY_CLASSES)
    return terms


def _names_overlap(allergen: str, medication) -> bool:
    """The plain name match: the allergen and a name or ingredient contain one another."""
    allergen = allergen.strip().casefold()
    words = [
        n.strip().casefold()
        for n in (medication.generic_name, medication.brand_name, *(medication.ingredients or []))
        if n and n.strip()
    ]
    return bool(allergen) and any(allergen in w or w in allergen for w in words)


def allergy_findings(*, allergies: list, medication, drug: Profile | None = None) -> list:
    """The allergies this medication matches, each with why: the same ingredient, a
    shared class (penicillin -> amoxicillin), or a cross-sensitivity to weigh (codeine
    -> hydrocodone)."""
    if not allergies:
        return []
    drug = drug or profile(medication)
    terms = allergen_terms(a.allergen for a in allergies)
    findings = []
    for allergy in allergies:
        named = terms[allergy.allergen]
        shared_ingredients = sorted(
            t.split(":", 1)[1] for t in named & drug.terms if t.startswith("ingredient:")
        )
        shared_classes = sorted(
            t.split(":", 1)[1]
            for t in (named & drug.classes) - rules.NOT_ALLERGY_CLASSES
            if t.startswith(("epc:", "cs:"))
        )
        if allergy.allergen.strip().casefold() in rules.ALLERGY_TERMS and (
            shared_classes or shared_ingredients
        ):
            what = " / ".join(shared_classes + shared_ingredients)
            findings.append(
                AllergyFinding(allergy, "class", f"{allergy.allergen}: same class ({what})")
            )
        elif shared_ingredients or _names_overlap(allergy.allergen, medication):
            what = ", ".join(shared_ingredients) or allergy.allergen
            findings.append(
                AllergyFinding(allergy, "ingredient", f"{allergy.allergen}: contains {what}")
            )
        elif shared_classes and (named & drug.classes) <= rules.CROSS_SENSITIVITY_CLASSES:
            findings.append(
                AllergyFinding(
                    allergy,
                    "cross-sensitivity",
                    f"{allergy.allergen}: possible cross-sensitivity, both are "
                    f"{' / '.join(shared_classes)} drugs (a warning: many reactions to opioids "
                    "are intolerances; ask what the reaction was)",
                )
            )
        elif shared_classes:
            findings.append(
                AllergyFinding(
                    allergy,
                    "class",
                    f"{allergy.allergen}: same class ({' / '.join(shared_classes)})",
                )
            )
    return findings


# --- Other open orders: duplicate therapy and interactions --------------------------------


def duplicate_warnings(*, medication, drug: Profile, others: list) -> list[str]:
    """One warning per ingredient that this medication shares with the resident's other
    open orders (``others``: (order, profile) pairs)."""
    by_ingredient: dict[str, list[str]] = {}
    for order, other in others:
        for name in sorted(drug.known & other.known):
            by_ingredient.setdefault(name, []).append(_order_text(order))
    warnings = []
    for name, orders in sorted(by_ingredient.items()):
        cap = rules.DAILY_MAXIMUMS.get(name)
        limit = (
            f" Together they must stay under {cap.amount:,f} {cap.unit} a day; a PRN dose "
            "past it is refused at charting."
            if cap
            else ""
        )
        warnings.append(f"Duplicate therapy: {name} is also in {'; '.join(orders)}.{limit}")
    return warnings


def interaction_warnings(*, drug: Profile, others: list) -> list[str]:
    warnings = []
    for order, other in others:
        for rule in rules.INTERACTIONS:
            mine, theirs = drug.known_terms, other.known_terms
            if (mine & rule.one and theirs & rule.other) or (
                mine & rule.other and theirs & rule.one
            ):
                warnings.append(
                    f"Interaction with {_order_text(order)}: {rule.name} ({rule.effect}). "
                    f"Source: {rule.source}"
                )
    return warnings


def _order_text(order) -> str:
    prn = " PRN" if order.is_prn else ""
    return f"{order.medication}{prn}"


# --- Psychotropics and capped ingredients ------------------------------------------------


def psychotropic_kinds(drug: Profile) -> list[str]:
    return sorted(
        {rules.PSYCHOTROPIC_CLASSES[c] for c in drug.classes & rules.PSYCHOTROPIC_CLASSES.keys()}
    )


UNIT_MG = {"mg": Decimal(1), "g": Decimal(1000), "mcg": Decimal("0.001")}
_PER_UNIT = {"1": {"tablet", "capsule", "suppository", "patch", "each"}}


def ingredient_mg_per_dose(
    *, drug: Profile, ingredient: str, dose_amount: Decimal, dose_unit: str
) -> Decimal | None:
    """The milligrams of ``ingredient`` in one dose ("2 tablet" of 325 mg/1 -> 650), or
    None when the strength or the dose's unit does not allow it."""
    unit = dose_unit.strip().lower().rstrip("s") if dose_unit else ""
    for name, amount, strength_unit in drug.strengths:
        if name != ingredient:
            continue
        mass, _, per = strength_unit.partition("/")
        factor = UNIT_MG.get(mass.lower())
        if factor is None:
            return None
        if unit in UNIT_MG:
            return dose_amount * UNIT_MG[unit] if len(drug.strengths) == 1 else None
        if per == "1":
            return dose_amount * amount * factor
        if per.lower().endswith("ml") and unit == "ml":
            volume = Decimal(per[:-2] or "1")
            return dose_amount * amount * factor / volume
        return None
    return None


@dataclass(frozen=True)
class IngredientLimitStop:
    message: str
    allowed_at: object  # datetime


def daily_caps(medication) -> list[rules.DailyMaximum]:
    """The daily maximums (``rules.DAILY_MAXIMUMS``: acetaminophen 4 g) that an
    ingredient of ``medication`` falls under."""
    return _caps(profile(medication))


def _caps(drug: Profile) -> list[rules.DailyMaximum]:
    return [rules.DAILY_MAXIMUMS[n] for n in sorted(drug.known & rules.DAILY_MAXIMUMS.keys())]


def ingredient_limit_stop(*, order, administered_at, given) -> IngredientLimitStop | None:
    """Whether a dose of ``order`` at ``administered_at`` takes an ingredient past its
    daily maximum, counting ``given``: every dose given to the resident under any order
    within 24 hours either side of it (records with ``administered_at``, ``dose_amount``
    and ``order``, which the charting service reads), in any 24-hour span that holds it;
    and when it could be given instead. A dose whose milligrams cannot be worked out is
    not counted."""
    drug = profile(order.medication)
    capped = _caps(drug)
    if not capped:
        return None
    day = dt.timedelta(hours=24)
    found = profiles([order.medication, *(a.order.medication for a in given)])
    for cap in capped:
        this = ingredient_mg_per_dose(
            drug=drug,
            ingredient=cap.ingredient,
            dose_amount=order.dose_amount,
            dose_unit=order.dose_unit,
        )
        if this is None:
            continue
        doses = []
        for record in given:
            mg = ingredient_mg_per_dose(
                drug=found[id(record.order.medication)],
                ingredient=cap.ingredient,
                dose_amount=record.dose_amount,
                dose_unit=record.order.dose_unit,
            )
            if mg:
                doses.append((record.administered_at, mg))
        starts = [t for t, _ in doses if administered_at - day < t <= administered_at] + [
            administered_at
        ]
        busiest = max(sum(mg for t, mg in doses if start <= t < start + day) for start in starts)
        if busiest + this <= cap.amount:
            continue
        # The first moment a dose falls out of the 24 hours and this one fits.
        allowed_at = next(
            (
                edge
                for edge in sorted(t + day for t, _ in doses)
                if edge > administered_at
                and sum(mg for t, mg in doses if edge - day < t <= edge) + this <= cap.amount
            ),
            max(t for t, _ in doses) + day if doses else administered_at + day,
        )
        return IngredientLimitStop(
            message=(
                f"Too much {cap.ingredient}: {busiest:,.0f} mg given in 24 hours from all its "
                f"orders, and this dose adds {this:,.0f} mg, past the maximum of "
                f"{cap.amount:,.0f} mg a day. {cap.source}"
            ),
            allowed_at=allowed_at,
        )
    return None
