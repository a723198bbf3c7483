"""National Drug Codes as a scanner reads them: pure functions, no database.

An NDC has 10 digits in one of three segment layouts (4-4-2, 5-3-2, 5-4-1); billing
and the FDA's directory also write it as 11 digits (5-4-2), padding the short segment
with a zero. A package barcode carries it as a UPC-A (``3`` + the 10 digits + a check
digit), as a GTIN-14 inside a GS1 DataMatrix or GS1-128 (AI 01), or a pharmacy label
may print it hyphenated. A scan matches a medication when it *is* one of these codes
for the same NDC, never when it merely contains its digits.
"""

from __future__ import annotations

import re

# Where the padding zero goes when a 10-digit NDC becomes 11 digits, by layout.
_PAD_AT = {(4, 4, 2): 0, (5, 3, 2): 5, (5, 4, 1): 9}
_GS1_PREFIXES = ("]d2", "]C1", "]Q3", "]e0")
_GS1_GTIN = re.compile(r"^\(?01\)?(\d{14})")


def _pad(ten: str, at: int) -> str:
    return ten[:at] + "0" + ten[at:]


def _gs1_check_digit_ok(digits: str) -> bool:
    """The GS1 mod-10 check digit (UPC-A, EAN-13, GTIN-14 alike)."""
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def ndc11_candidates(code: str) -> set[str]:
    """The 11-digit NDCs a written or scanned code can stand for (empty: not an NDC).

    A hyphenated code names its layout, so one; ten bare digits could be any of the
    three layouts, so up to three; a barcode is unwrapped to its ten digits first.
    """
    code = code.strip()
    for prefix in _GS1_PREFIXES:
        code = code.removeprefix(prefix)
    if "-" in code:
        parts = code.split("-")
        if len(parts) != 3 or not all(part.isdigit() for part in parts):
            return set()
        layout = tuple(len(part) for part in parts)
        if layout == (5, 4, 2):
            return {"".join(parts)}
        if layout in _PAD_AT:
            return {_pad("".join(parts), _PAD_AT[layout])}
        return set()
    if match := _GS1_GTIN.match(code):
        code = match.group(1)
    if not code.isdigit():
        return set()
    if len(code) == 14 and _gs1_check_digit_ok(code) and code[2] == "3":
        return _ten_digit_candidates(code[3:13])
    if len(code) == 13 and code[0] == "0":
        code = code[1:]  # an EAN-13 spelling of a UPC-A
    if len(code) == 12 and code[0] == "3" and _gs1_check_digit_ok(code):
        return _ten_digit_candidates(code[1:11])
    if len(code) == 11:
        return {code}
    if len(code) == 10:
        return _ten_digit_candidates(code)
    return set()


def _ten_digit_candidates(ten: str) -> set[str]:
    return {_pad(ten, at) for at in _PAD_AT.values()}


def ndc_matches(*, scanned: str, ndc: str) -> bool:
    """Whether a scanned code is the package of the NDC a medication records."""
    return bool(ndc11_candidates(ndc) & ndc11_candidates(scanned))
