"""The demo community that ``python manage.py seed_demo`` builds and ``make run`` loads once.

"Maple Grove Assisted Living": two units, two med carts, residents with diagnoses,
allergies and 6 to 12 active, verified orders each, stock for every order on the
resident's cart (with its receive in the ledger), and the demo sign-ins.

Everything is drawn from the fixed vocabulary below with one ``random.Random(seed)``,
so the same arguments on an empty database give the same community. Only the dates
move with the clock: they are counted back from "today" in the facility's time zone,
so the orders are always running and the certifications are current (or, for tech3,
expired since yesterday) whenever the demo is loaded.

No ScheduledDose rows are made here: the schedule engine materializes them from the
orders.
"""

import dataclasses
import datetime as dt
import math
import random
import zoneinfo
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import transaction

from inventory.models import CartAssignment, MedCart, StockItem, StockTransaction
from mar.models import Medication, Order, Route
from mar.services.drug_reference import medications_link_by_ndc
from medtech.core.errors import Conflict
from residents.models import (
    Allergy,
    Diagnosis,
    Facility,
    MedPassTime,
    Resident,
    ResidentAbsence,
    Room,
    Unit,
)
from staff.models import Certification, FacilityMembership, User

DEMO_FACILITY_NAME = "Maple Grove Assisted Living"
DEMO_TIME_ZONE = "America/Chicago"
# Demo sign-ins only; the run-dev banner prints it too.
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - published demo password, not a secret
DEFAULT_RESIDENTS = 40
DEFAULT_SEED = 2026
MAX_RESIDENTS = 1000

TOD = Order.Frequency.TIMES_OF_DAY
DOW = Order.Frequency.DAYS_OF_WEEK
EVERY_N_DAYS = Order.Frequency.EVERY_N_DAYS
MONTHLY = Order.Frequency.MONTHLY
EVERY_N_HOURS = Order.Frequency.EVERY_N_HOURS
PRN = Order.Frequency.PRN


class DemoDataConflict(Conflict):
    """The database holds part of the demo (e.g. its users) but not the demo facility."""


@dataclasses.dataclass(frozen=True)
class DemoSeedResult:
    """What a seed run did. ``created`` is False when it found something and stopped."""

    created: bool
    message: str
    residents: int = 0
    orders: int = 0
    stock_items: int = 0
    users: int = 0
    medications: int = 0


# --- The community -------------------------------------------------------------------------

PASS_TIMES = (("AM", dt.time(8)), ("Noon", dt.time(12)), ("PM", dt.time(17)), ("HS", dt.time(21)))
UNITS = (("Magnolia", "Cart A - Magnolia"), ("Willow", "Cart B - Willow"))

# (username, first, last, initials, role, title)
STAFF = (
    ("tech1", "Maria", "Santos", "MS", User.Role.MED_TECH, "CMA"),
    ("tech2", "Darnell", "Brooks", "DB", User.Role.MED_TECH, "CMA"),
    ("tech3", "Kelly", "Nguyen", "KN", User.Role.MED_TECH, "CMA"),
    ("nurse1", "Rebecca", "Hall", "RH", User.Role.NURSE, "RN"),
    ("nurse2", "Jorge", "Ramirez", "JR", User.Role.NURSE, "LPN"),
    ("admin1", "Linda", "Park", "LP", User.Role.ADMINISTRATOR, "Administrator"),
)

# (first name, preferred name or "") by sex; about seven in ten residents are women.
FEMALE_NAMES = (
    ("Dorothy", "Dot"), ("Margaret", "Peggy"), ("Betty", ""), ("Helen", ""), ("Ruth", ""),
    ("Shirley", ""), ("Barbara", "Barb"), ("Patricia", "Pat"), ("Joan", ""), ("Mary", ""),
    ("Evelyn", "Evie"), ("Frances", "Fran"), ("Virginia", "Ginny"), ("Jean", ""),
    ("Alice", ""), ("Marilyn", ""), ("Lois", ""), ("Carol", ""), ("Doris", ""), ("Norma", ""),
    ("Phyllis", ""), ("Gloria", ""), ("Irene", ""), ("Rose", ""), ("June", ""),
    ("Beverly", "Bev"), ("Joyce", ""), ("Judith", "Judy"), ("Nancy", ""),
    ("Eleanor", "Ellie"), ("Lorraine", ""), ("Marjorie", "Margie"), ("Louise", ""),
    ("Edna", ""), ("Gladys", ""), ("Mildred", "Millie"), ("Thelma", ""), ("Elizabeth", "Betsy"),
    ("Rosa", ""), ("Carmen", ""), ("Guadalupe", "Lupe"), ("Yoshiko", ""), ("Odessa", ""),
    ("Mae", ""), ("Harriet", "Hattie"), ("Wilma", ""), ("Agnes", ""), ("Bernice", "Bunny"),
)  # fmt: skip
MALE_NAMES = (
    ("Robert", "Bob"), ("James", "Jim"), ("William", "Bill"), ("Richard", "Rich"),
    ("Charles", "Chuck"), ("Donald", "Don"), ("George", ""), ("Kenneth", "Ken"),
    ("Harold", "Hal"), ("Raymond", "Ray"), ("Walter", "Walt"), ("Eugene", "Gene"),
    ("Joseph", "Joe"), ("Frank", ""), ("Edward", "Ed"), ("Ronald", "Ron"), ("Paul", ""),
    ("Gerald", "Jerry"), ("Howard", ""), ("Ernest", "Ernie"), ("Leonard", "Len"),
    ("Arthur", "Art"), ("Carl", ""), ("Roy", ""), ("Earl", ""), ("Clarence", ""),
    ("Herbert", "Herb"), ("Melvin", "Mel"), ("Stanley", "Stan"), ("Albert", "Al"),
    ("Lawrence", "Larry"), ("Henry", "Hank"), ("Luis", ""), ("Manuel", "Manny"),
    ("Hiroshi", ""), ("Willie", ""),
)  # fmt: skip
LAST_NAMES = (
    "Abbott", "Alvarez", "Anderson", "Bauer", "Becker", "Bennett", "Bishop", "Boyd",
    "Caldwell", "Campbell", "Carlson", "Castillo", "Chambers", "Christensen", "Coleman",
    "Collins", "Crawford", "Daniels", "Delgado", "Dixon", "Douglas", "Duncan", "Ellis",
    "Erickson", "Fischer", "Fleming", "Foster", "Fowler", "Garrison", "Gibson", "Gonzales",
    "Graham", "Greene", "Gustafson", "Hansen", "Harmon", "Hayes", "Hoffman", "Holland",
    "Hughes", "Jacobs", "Jensen", "Kaufman", "Keller", "Kowalski", "Lambert", "Larson",
    "Lawson", "Lindgren", "Lowe", "Marsh", "Martinez", "McCarthy", "Meyer", "Mitchell",
    "Morales", "Murphy", "Nakamura", "Novak", "Olson", "O'Brien", "Owens", "Patterson",
    "Petersen", "Porter", "Quinn", "Reyes", "Richardson", "Rivera", "Robinson", "Rossi",
    "Schmidt", "Schneider", "Shaw", "Simmons", "Snyder", "Sorensen", "Stewart", "Sullivan",
    "Thornton", "Tucker", "Vasquez", "Wagner", "Walsh", "Warren", "Watkins", "Weaver",
    "Whitaker", "Wilkins", "Wojcik", "Yamamoto", "Zimmerman",
)  # fmt: skip

# Fictional practices: 555-01xx numbers are reserved for fiction.
PHYSICIANS = (
    ("Dr. Anita Ortiz", "(217) 555-0134"),
    ("Dr. Samuel Whitfield", "(217) 555-0178"),
    ("Dr. Grace Okafor", "(217) 555-0121"),
    ("Dr. Paul Lindqvist", "(217) 555-0165"),
)
PHARMACIES = (
    ("Prairie Long-Term Care Pharmacy", "(217) 555-0142"),
    ("Main Street Pharmacy", "(217) 555-0190"),
)
CODE_STATUSES = (
    (Resident.CodeStatus.FULL_CODE, 40),
    (Resident.CodeStatus.DNR, 35),
    (Resident.CodeStatus.DNR_DNI, 15),
    (Resident.CodeStatus.COMFORT_CARE, 10),
)
# (allergen, reaction, severity). None of these is an ingredient in the catalog below.
ALLERGENS = (
    ("Penicillin", "Hives", Allergy.Severity.MODERATE),
    ("Sulfa drugs", "Rash", Allergy.Severity.MILD),
    ("Codeine", "Nausea and vomiting", Allergy.Severity.MILD),
    ("Latex", "Contact dermatitis", Allergy.Severity.MODERATE),
    ("Morphine", "Itching and hives", Allergy.Severity.MODERATE),
    ("Aspirin", "Angioedema", Allergy.Severity.SEVERE),
    ("Iodinated contrast", "Hives", Allergy.Severity.MODERATE),
    ("Erythromycin", "GI upset", Allergy.Severity.MILD),
    ("Amoxicillin", "Rash", Allergy.Severity.MILD),
    ("Cephalexin", "", Allergy.Severity.UNKNOWN),
)
# A resident allergic to one of these gets no opioid orders (cross-sensitivity).
OPIOID_ALLERGENS = frozenset({"Codeine", "Morphine"})


# --- The medication catalog ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Drug:
    generic_name: str
    brand_name: str
    strength: str
    form: str
    route: str
    ndc: str
    ingredients: tuple[str, ...]
    dea_schedule: str = ""
    is_high_alert: bool = False
    is_time_critical: bool = False
    # For packages that are not counted in blister-card doses: how many dose units come in
    # one (units in an insulin vial, drops in an eye-drop bottle, patches in a box).
    package_quantity: int | None = None
    package: str = ""


# Dose-range limits of the demo catalog, for adults in long-term care: the unit, the usual
# and the absolute maximum of one dose, the usual and the absolute maximum in 24 hours.
# Illustrative, from common references; a drug reference will replace them. A product
# not listed falls back to the defaults of its dose unit (mar.services.order_checks).
DOSE_LIMITS: dict[str, tuple[str, int | str, int | str, int | str, int | str]] = {
    "lisinopril": ("mg", 40, 80, 40, 80),
    "amlodipine": ("mg", 10, 20, 10, 20),
    "metoprolol": ("mg", 100, 200, 200, 450),
    "furosemide": ("mg", 80, 200, 160, 600),
    "potassium": ("mEq", 20, 40, 60, 100),
    "metformin": ("mg", 1000, 2000, 2000, 2550),
    "insulin_lispro": ("units", 30, 100, 100, 300),
    "insulin_glargine": ("units", 60, 120, 80, 200),
    "warfarin": ("mg", 10, 20, 10, 20),
    "apixaban": ("mg", 5, 10, 10, 20),
    "levothyroxine": ("mcg", 200, 300, 200, 300),
    "donepezil": ("mg", 10, 23, 10, 23),
    "memantine": ("mg", 10, 20, 20, 28),
    "sertraline": ("mg", 100, 200, 200, 200),
    "mirtazapine": ("mg", 30, 45, 30, 45),
    "atorvastatin": ("mg", 40, 80, 40, 80),
    "omeprazole": ("mg", 40, 80, 40, 120),
    "alendronate": ("mg", 70, 70, 70, 70),
    "tamsulosin": ("mg", "0.4", "0.8", "0.8", "0.8"),
    "acetaminophen": ("mg", 1000, 2000, 3000, 4000),
    "lorazepam": ("mg", 1, 2, 2, 4),
    "ondansetron": ("mg", 8, 16, 16, 24),
    "melatonin": ("mg", 5, 10, 5, 10),
    "loratadine": ("mg", 10, 20, 10, 20),
    "magnesium_hydroxide": ("mL", 30, 60, 60, 120),
    "guaifenesin": ("mL", 20, 40, 60, 120),
}


def _dose_limit_fields(key: str) -> dict:
    if key not in DOSE_LIMITS:
        return {}
    unit, *values = DOSE_LIMITS[key]
    names = ("usual_max_single_dose", "max_single_dose", "usual_max_daily_dose", "max_daily_dose")
    return {"dose_limit_unit": unit} | {
        name: Decimal(str(value)) for name, value in zip(names, values, strict=True)
    }


Form = Medication.Form
# NDCs are real package codes of the FDA NDC Directory of April 2019 (the drug reference's
# shipped copy; tests/demo checks each one names a product with these ingredients). The
# dietary supplements (calcium with D3, B12 tablets, melatonin) are not drugs the FDA
# lists, so they have none. Demo data: never use them to dispense.
CATALOG: dict[str, Drug] = {
    "lisinopril": Drug("lisinopril", "Zestril", "10 mg", Form.TABLET, Route.ORAL,
                       "52427044090", ("lisinopril",)),
    "amlodipine": Drug("amlodipine besylate", "Norvasc", "5 mg", Form.TABLET, Route.ORAL,
                       "00069153041", ("amlodipine",)),
    "metoprolol": Drug("metoprolol tartrate", "Lopressor", "25 mg", Form.TABLET, Route.ORAL,
                       "00378001801", ("metoprolol",)),
    "furosemide": Drug("furosemide", "Lasix", "20 mg", Form.TABLET, Route.ORAL,
                       "00054429725", ("furosemide",)),
    "potassium": Drug("potassium chloride ER", "Klor-Con", "10 mEq", Form.TABLET, Route.ORAL,
                      "00245004101", ("potassium chloride",)),
    "metformin": Drug("metformin", "Glucophage", "500 mg", Form.TABLET, Route.ORAL,
                      "00087606005", ("metformin",)),
    "insulin_lispro": Drug("insulin lispro", "Humalog", "100 units/mL", Form.INJECTION,
                           Route.SUBCUTANEOUS, "00002751001", ("insulin lispro",),
                           is_high_alert=True, is_time_critical=True, package_quantity=1000),
    "insulin_glargine": Drug("insulin glargine", "Lantus", "100 units/mL", Form.INJECTION,
                             Route.SUBCUTANEOUS, "00088222033", ("insulin glargine",),
                             is_high_alert=True, package_quantity=1000),
    "warfarin": Drug("warfarin", "Coumadin", "2.5 mg", Form.TABLET, Route.ORAL,
                     "00056017601", ("warfarin",), is_high_alert=True),
    "apixaban": Drug("apixaban", "Eliquis", "2.5 mg", Form.TABLET, Route.ORAL,
                     "00003089321", ("apixaban",)),
    "carbidopa_levodopa": Drug("carbidopa/levodopa", "Sinemet", "25 mg-100 mg", Form.TABLET,
                               Route.ORAL, "00006391668", ("carbidopa", "levodopa"),
                               is_time_critical=True),
    "levothyroxine": Drug("levothyroxine", "Synthroid", "50 mcg", Form.TABLET, Route.ORAL,
                          "00074455290", ("levothyroxine",)),
    "donepezil": Drug("donepezil", "Aricept", "10 mg", Form.TABLET, Route.ORAL,
                      "62856024630", ("donepezil",)),
    "memantine": Drug("memantine", "Namenda", "10 mg", Form.TABLET, Route.ORAL,
                      "00456321060", ("memantine",)),
    "sertraline": Drug("sertraline", "Zoloft", "50 mg", Form.TABLET, Route.ORAL,
                       "00049490066", ("sertraline",)),
    "mirtazapine": Drug("mirtazapine", "Remeron", "15 mg", Form.TABLET, Route.ORAL,
                        "00052010530", ("mirtazapine",)),
    "atorvastatin": Drug("atorvastatin", "Lipitor", "20 mg", Form.TABLET, Route.ORAL,
                         "00071015610", ("atorvastatin",)),
    "omeprazole": Drug("omeprazole", "Prilosec", "20 mg", Form.CAPSULE, Route.ORAL,
                       "00378615001", ("omeprazole",)),
    "docusate": Drug("docusate sodium", "Colace", "100 mg", Form.CAPSULE, Route.ORAL,
                     "67618010110", ("docusate sodium",)),
    "senna": Drug("sennosides", "Senokot", "8.6 mg", Form.TABLET, Route.ORAL,
                  "67618030010", ("sennosides",)),
    "peg": Drug("polyethylene glycol 3350", "MiraLAX", "17 g/dose", Form.POWDER, Route.ORAL,
                "11523723404", ("polyethylene glycol 3350",), package_quantity=510),
    "calcium_d": Drug("calcium carbonate/cholecalciferol", "Caltrate 600+D3",
                      "600 mg-800 IU", Form.TABLET, Route.ORAL, "",
                      ("calcium carbonate", "cholecalciferol")),
    "b12": Drug("cyanocobalamin", "", "1000 mcg", Form.TABLET, Route.ORAL,
                "", ("cyanocobalamin",)),
    "alendronate": Drug("alendronate", "Fosamax", "70 mg", Form.TABLET, Route.ORAL,
                        "00006003144", ("alendronate",)),
    "vitamin_d": Drug("ergocalciferol", "Drisdol", "50,000 IU", Form.CAPSULE, Route.ORAL,
                      "30698049301", ("ergocalciferol",)),
    "latanoprost": Drug("latanoprost", "Xalatan", "0.005%", Form.DROPS, Route.OPHTHALMIC,
                        "00013830304", ("latanoprost",), package_quantity=80),
    "timolol": Drug("timolol maleate", "Timoptic", "0.5%", Form.DROPS, Route.OPHTHALMIC,
                    "17478028810", ("timolol",), package_quantity=100),
    "lidocaine_patch": Drug("lidocaine", "Lidoderm", "5%", Form.PATCH, Route.TOPICAL,
                            "63481068706", ("lidocaine",), package_quantity=30,
                            package=StockItem.Package.BOX),
    "fentanyl_patch": Drug("fentanyl", "Duragesic", "25 mcg/hr", Form.PATCH, Route.TRANSDERMAL,
                           "50458009105", ("fentanyl",), dea_schedule="II",
                           is_high_alert=True, package_quantity=5,
                           package=StockItem.Package.BOX),
    "tiotropium": Drug("tiotropium", "Spiriva Respimat", "2.5 mcg/actuation", Form.INHALER,
                       Route.INHALED, "00597010028", ("tiotropium",), package_quantity=60),
    "duoneb": Drug("ipratropium/albuterol", "DuoNeb", "0.5 mg-3 mg/3 mL", Form.SOLUTION,
                   Route.INHALED, "00487020101", ("ipratropium", "albuterol"),
                   package_quantity=180, package=StockItem.Package.BOX),
    "albuterol": Drug("albuterol", "Proventil HFA", "90 mcg/actuation", Form.INHALER,
                      Route.INHALED, "00085113201", ("albuterol",), package_quantity=200),
    "tamsulosin": Drug("tamsulosin", "Flomax", "0.4 mg", Form.CAPSULE, Route.ORAL,
                       "00597005801", ("tamsulosin",)),
    "acetaminophen": Drug("acetaminophen", "Tylenol", "325 mg", Form.TABLET, Route.ORAL,
                          "50580049660", ("acetaminophen",)),
    "lorazepam": Drug("lorazepam", "Ativan", "0.5 mg", Form.TABLET, Route.ORAL,
                      "00187006301", ("lorazepam",), dea_schedule="IV"),
    "hydrocodone_apap": Drug("hydrocodone/acetaminophen", "Norco", "5 mg-325 mg", Form.TABLET,
                             Route.ORAL, "00023600201", ("hydrocodone", "acetaminophen"),
                             dea_schedule="II"),
    "ondansetron": Drug("ondansetron ODT", "Zofran ODT", "4 mg", Form.TABLET, Route.ORAL,
                        "00078067919", ("ondansetron",)),
    "bisacodyl": Drug("bisacodyl", "Dulcolax", "10 mg", Form.SUPPOSITORY, Route.RECTAL,
                      "00597005216", ("bisacodyl",), package_quantity=12,
                      package=StockItem.Package.BOX),
    "melatonin": Drug("melatonin", "", "3 mg", Form.TABLET, Route.ORAL,
                      "", ("melatonin",)),
    "loratadine": Drug("loratadine", "Claritin", "10 mg", Form.TABLET, Route.ORAL,
                       "11523716002", ("loratadine",)),
    "fluticasone": Drug("fluticasone propionate", "Flonase", "50 mcg/spray", Form.SUSPENSION,
                        Route.NASAL, "00135057603", ("fluticasone",), package_quantity=120,
                        package=StockItem.Package.BOTTLE),
    "magnesium_hydroxide": Drug("magnesium hydroxide", "Phillips' Milk of Magnesia",
                                "400 mg/5 mL", Form.SUSPENSION, Route.ORAL, "00121043130",
                                ("magnesium hydroxide",), package_quantity=355),
    "guaifenesin": Drug("guaifenesin", "Robitussin", "100 mg/5 mL", Form.SOLUTION, Route.ORAL,
                        "00121074404", ("guaifenesin",), package_quantity=118),
    "artificial_tears": Drug("carboxymethylcellulose", "Refresh Tears", "0.5%", Form.DROPS,
                             Route.OPHTHALMIC, "00023079815", ("carboxymethylcellulose",),
                             package_quantity=300),
    "nitroglycerin": Drug("nitroglycerin", "Nitrostat", "0.4 mg", Form.TABLET, Route.SUBLINGUAL,
                          "00071041824", ("nitroglycerin",), package_quantity=25,
                          package=StockItem.Package.BOTTLE),
}  # fmt: skip


# --- Orders --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Regimen:
    """An order as a prescriber writes it, before it belongs to a resident."""

    drug: str
    dose_amount: str
    dose_unit: str
    frequency: str
    indication: str
    instructions: str = ""
    times: tuple[str, ...] = ()
    days_of_week: tuple[int, ...] = ()
    days_of_month: tuple[int, ...] = ()
    interval: int | None = None
    is_time_critical: bool = False
    prn_min_interval_minutes: int | None = None
    prn_max_per_24h: int | None = None
    hold_parameters: tuple[tuple[str, str, int], ...] = ()
    required_vitals: tuple[str, ...] = ()
    start_hour: int = 0
    prescriber: str = ""  # a specialist; blank means the resident's own physician
    fill_doses: int | None = None  # doses in one blister card when 30 days is wrong


BP_VITALS = ("systolic", "diastolic", "pulse")
NEUROLOGIST = "Dr. Miriam Feld"
OPHTHALMOLOGIST = "Dr. Helen Cho"

REGIMENS: dict[str, Regimen] = {
    "lisinopril": Regimen(
        "lisinopril", "1", "tablet", TOD, "Hypertension", times=("AM",),
        hold_parameters=(("systolic", "<", 100),), required_vitals=BP_VITALS,
        instructions="Check blood pressure before giving. Hold if systolic is below 100 "
        "and tell the nurse.",
    ),
    "amlodipine": Regimen(
        "amlodipine", "1", "tablet", TOD, "Hypertension", times=("AM",),
        hold_parameters=(("systolic", "<", 100),), required_vitals=BP_VITALS,
        instructions="Check blood pressure before giving. Hold if systolic is below 100 "
        "and tell the nurse.",
    ),
    "metoprolol": Regimen(
        "metoprolol", "1", "tablet", TOD, "Atrial fibrillation, rate control",
        times=("AM", "PM"),
        hold_parameters=(("systolic", "<", 100), ("pulse", "<", 60)),
        required_vitals=BP_VITALS,
        instructions="Check apical pulse for 1 full minute and blood pressure before giving. "
        "Hold if pulse is below 60 or systolic below 100 and tell the nurse. Give with food.",
    ),
    "furosemide": Regimen(
        "furosemide", "1", "tablet", TOD, "Heart failure with edema", times=("AM",),
        required_vitals=("weight",),
        instructions="Weigh before breakfast, same scale, same clothing. Report a gain of "
        "3 lb in a day or 5 lb in a week to the nurse. Give in the morning.",
    ),
    "potassium": Regimen(
        "potassium", "1", "tablet", TOD, "Potassium replacement with furosemide",
        times=("AM",),
        instructions="Give with food and a full glass of water. Swallow whole; do not crush "
        "or chew.",
    ),
    "metformin": Regimen(
        "metformin", "1", "tablet", TOD, "Type 2 diabetes", times=("AM", "PM"),
        instructions="Give with breakfast and with supper.",
    ),
    "insulin_glargine": Regimen(
        "insulin_glargine", "12", "units", TOD, "Type 2 diabetes", times=("HS",),
        hold_parameters=(("blood_glucose", "<", 70),), required_vitals=("blood_glucose",),
        instructions="Check fingerstick blood glucose before giving. Hold if below 70 mg/dL, "
        "follow the hypoglycemia protocol and call the nurse. Do not mix with other insulin. "
        "Rotate injection sites.",
    ),
    "insulin_lispro": Regimen(
        "insulin_lispro", "4", "units", TOD, "Type 2 diabetes, mealtime coverage",
        times=("07:30", "11:30", "16:30"), is_time_critical=True,
        hold_parameters=(("blood_glucose", "<", 70),), required_vitals=("blood_glucose",),
        instructions="Time-critical: give within 15 minutes before the meal. Check "
        "fingerstick blood glucose first; hold if below 70 mg/dL or if the resident is not "
        "eating, and call the nurse.",
    ),
    "warfarin": Regimen(
        "warfarin", "1", "tablet", TOD, "Atrial fibrillation, stroke prevention",
        times=("PM",),
        instructions="Give at the same time every evening. INR per the lab schedule. Report "
        "bleeding gums, black stools, blood in urine or new bruising to the nurse.",
    ),
    "apixaban": Regimen(
        "apixaban", "1", "tablet", TOD, "Atrial fibrillation, stroke prevention",
        times=("AM", "PM"),
        instructions="Give every 12 hours; do not skip doses. Report bleeding or black stools "
        "to the nurse.",
    ),
    "carbidopa_levodopa": Regimen(
        "carbidopa_levodopa", "1", "tablet", EVERY_N_HOURS, "Parkinson's disease",
        interval=4, is_time_critical=True, start_hour=6, prescriber=NEUROLOGIST,
        instructions="Time-critical: give within 30 minutes of the scheduled time, every 4 "
        "hours around the clock. Avoid giving with a high-protein meal. Report freezing, "
        "falls or new confusion to the nurse.",
    ),
    "levothyroxine": Regimen(
        "levothyroxine", "1", "tablet", TOD, "Hypothyroidism", times=("06:00",),
        instructions="Give 30 minutes before breakfast on an empty stomach with a full glass "
        "of water. Give at least 4 hours apart from calcium or iron.",
    ),
    "donepezil": Regimen(
        "donepezil", "1", "tablet", TOD, "Alzheimer's dementia", times=("HS",),
        instructions="Give at bedtime. Report a slow pulse, fainting or vivid dreams to the "
        "nurse.",
    ),
    "memantine": Regimen(
        "memantine", "1", "tablet", TOD, "Alzheimer's dementia", times=("AM", "PM"),
        instructions="May be crushed and mixed with applesauce. Report dizziness or new "
        "confusion.",
    ),
    "sertraline": Regimen(
        "sertraline", "1", "tablet", TOD, "Depression", times=("AM",),
        instructions="Give with breakfast. Report new restlessness, falls or low mood to the "
        "nurse.",
    ),
    "mirtazapine": Regimen(
        "mirtazapine", "1", "tablet", TOD, "Depression with poor appetite and sleep",
        times=("HS",),
        instructions="Give at bedtime; causes drowsiness. Weigh weekly.",
    ),
    "atorvastatin": Regimen(
        "atorvastatin", "1", "tablet", TOD, "Hyperlipidemia", times=("HS",),
        instructions="Report unexplained muscle pain or weakness to the nurse.",
    ),
    "omeprazole": Regimen(
        "omeprazole", "1", "capsule", TOD, "Gastroesophageal reflux", times=("07:00",),
        instructions="Give 30 minutes before breakfast. Swallow whole; do not crush or chew.",
    ),
    "docusate": Regimen(
        "docusate", "1", "capsule", TOD, "Constipation", times=("AM", "PM"),
        instructions="Hold for loose stools and tell the nurse.",
    ),
    "senna": Regimen(
        "senna", "2", "tablet", TOD, "Constipation", times=("HS",),
        instructions="Hold for loose stools and tell the nurse.",
    ),
    "peg": Regimen(
        "peg", "17", "g", EVERY_N_DAYS, "Constipation", times=("AM",), interval=2,
        instructions="Every other day. Dissolve 17 g (one capful) in 4 to 8 oz of water or "
        "juice. Hold for loose stools.",
    ),
    "calcium_d": Regimen(
        "calcium_d", "1", "tablet", TOD, "Osteoporosis", times=("Noon", "PM"),
        instructions="Give with meals, at least 4 hours after levothyroxine.",
    ),
    "b12": Regimen(
        "b12", "1", "tablet", TOD, "Vitamin B12 deficiency", times=("AM",),
    ),
    "alendronate": Regimen(
        "alendronate", "1", "tablet", DOW, "Osteoporosis", times=("06:30",),
        days_of_week=(1,), fill_doses=4,
        instructions="Mondays only. Give 30 minutes before breakfast and other medicines with "
        "a full glass (8 oz) of plain water. Resident stays upright (sitting or standing) for "
        "30 minutes after.",
    ),
    "vitamin_d": Regimen(
        "vitamin_d", "1", "capsule", MONTHLY, "Vitamin D deficiency", times=("AM",),
        days_of_month=(1,), fill_doses=3,
        instructions="Once a month, on the 1st.",
    ),
    "latanoprost": Regimen(
        "latanoprost", "1", "drop", TOD, "Glaucoma", times=("HS",), prescriber=OPHTHALMOLOGIST,
        instructions="Instill 1 drop in EACH eye at bedtime. Wait at least 5 minutes between "
        "different eye drops. Keep the bottle in the cart refrigerator until opened.",
    ),
    "timolol": Regimen(
        "timolol", "1", "drop", TOD, "Glaucoma", times=("AM", "PM"),
        prescriber=OPHTHALMOLOGIST,
        instructions="Instill 1 drop in EACH eye. Press the inner corner of the eye for 1 "
        "minute after. Report a pulse below 55 or new shortness of breath.",
    ),
    "lidocaine_patch": Regimen(
        "lidocaine_patch", "1", "patch", TOD, "Osteoarthritis pain, lower back",
        times=("08:00",),
        instructions="Apply to the painful area of the lower back at 08:00 and REMOVE at "
        "20:00: 12 hours on, 12 hours off. Write the date and time on the patch.",
    ),
    "fentanyl_patch": Regimen(
        "fentanyl_patch", "1", "patch", EVERY_N_HOURS, "Chronic pain", interval=72,
        start_hour=9,
        instructions="Remove the old patch first and fold it sticky sides together; disposal "
        "is witnessed. Rotate sites (upper chest, back, upper arm) and write the date, time "
        "and your initials on the new patch. Check placement every shift.",
    ),
    "tiotropium": Regimen(
        "tiotropium", "2", "puff", TOD, "COPD", times=("AM",),
        instructions="Two puffs once a day. Not for sudden shortness of breath.",
    ),
    "duoneb": Regimen(
        "duoneb", "3", "mL", TOD, "COPD", times=("08:00", "12:00", "17:00", "21:00"),
        instructions="One 3 mL vial by nebulizer. Rinse and air-dry the mouthpiece after each "
        "treatment.",
    ),
    "tamsulosin": Regimen(
        "tamsulosin", "1", "capsule", TOD, "Benign prostatic hyperplasia", times=("18:30",),
        instructions="Give 30 minutes after supper. Swallow whole. Remind the resident to "
        "rise slowly.",
    ),
    "acetaminophen_prn": Regimen(
        "acetaminophen", "2", "tablet", PRN, "pain or fever > 100.4 F",
        prn_min_interval_minutes=240, prn_max_per_24h=4,
        instructions="650 mg. No more than 3 g of acetaminophen in 24 hours from all sources. "
        "Recheck pain or temperature in 60 minutes.",
    ),
    "lorazepam_prn": Regimen(
        "lorazepam", "1", "tablet", PRN, "anxiety or agitation not relieved by redirection",
        prn_min_interval_minutes=360, prn_max_per_24h=2,
        instructions="Try redirection and a quiet space first. Controlled (C-IV): sign it out "
        "on the count sheet. Fall risk after a dose.",
    ),
    "hydrocodone_prn": Regimen(
        "hydrocodone_apap", "1", "tablet", PRN, "moderate to severe pain (4-10)",
        prn_min_interval_minutes=240, prn_max_per_24h=4,
        instructions="Controlled (C-II): count and sign out. Counts toward the 3 g daily "
        "acetaminophen limit. Hold for sedation or respirations below 12 and tell the nurse.",
    ),
    "ondansetron_prn": Regimen(
        "ondansetron", "1", "tablet", PRN, "nausea or vomiting",
        prn_min_interval_minutes=480, prn_max_per_24h=3,
        instructions="Place on the tongue and let it dissolve; no water needed.",
    ),
    "bisacodyl_prn": Regimen(
        "bisacodyl", "1", "suppository", PRN, "no bowel movement in 3 days",
        prn_min_interval_minutes=1440, prn_max_per_24h=1,
        instructions="Insert rectally. Tell the nurse if there is no result within 2 hours.",
    ),
    "albuterol_prn": Regimen(
        "albuterol", "2", "puff", PRN, "shortness of breath or wheezing",
        prn_min_interval_minutes=240, prn_max_per_24h=6,
        instructions="Shake well. Tell the nurse if not relieved or needed more than twice in "
        "a shift.",
    ),
    "melatonin": Regimen(
        "melatonin", "1", "tablet", TOD, "Insomnia", times=("HS",),
        instructions="Give at bedtime, when the resident is ready for sleep.",
    ),
    "loratadine": Regimen(
        "loratadine", "1", "tablet", TOD, "Seasonal allergies", times=("AM",),
    ),
    "fluticasone": Regimen(
        "fluticasone", "1", "spray", TOD, "Allergic rhinitis", times=("AM",),
        instructions="Shake gently. 1 spray in EACH nostril; aim away from the septum.",
    ),
    "magnesium_hydroxide_prn": Regimen(
        "magnesium_hydroxide", "30", "mL", PRN, "no bowel movement in 2 days",
        prn_min_interval_minutes=1440, prn_max_per_24h=1,
        instructions="Shake well. Follow with a full glass of water. Use the bisacodyl "
        "suppository if there is still no result on day 3.",
    ),
    "guaifenesin_prn": Regimen(
        "guaifenesin", "10", "mL", PRN, "cough", prn_min_interval_minutes=240,
        prn_max_per_24h=6,
        instructions="Measure with an oral syringe or dosing cup. Encourage fluids. Tell the "
        "nurse about fever or a cough lasting more than 3 days.",
    ),
    "artificial_tears_prn": Regimen(
        "artificial_tears", "1", "drop", PRN, "dry or irritated eyes",
        prn_min_interval_minutes=120, prn_max_per_24h=6,
        instructions="1 drop in EACH affected eye. Wait 5 minutes after any other eye drops.",
    ),
    "nitroglycerin_prn": Regimen(
        "nitroglycerin", "1", "tablet", PRN, "chest pain", prn_min_interval_minutes=5,
        prn_max_per_24h=3, hold_parameters=(("systolic", "<", 90),), required_vitals=BP_VITALS,
        instructions="Sit the resident down. One tablet under the tongue; may repeat every 5 "
        "minutes, 3 doses at most. Call 911 if pain is not relieved 5 minutes after the first "
        "dose, then tell the nurse.",
    ),
}  # fmt: skip

OPIOID_REGIMENS = frozenset({"fentanyl_patch", "hydrocodone_prn"})


@dataclasses.dataclass(frozen=True)
class Condition:
    description: str
    icd10_code: str
    # Each entry is a regimen key, or a tuple of alternatives of which one is chosen.
    regimens: tuple[str | tuple[str, ...], ...]
    male_only: bool = False


CONDITIONS: tuple[Condition, ...] = (
    Condition("Essential (primary) hypertension", "I10", ("lisinopril", "amlodipine")),
    Condition(
        "Type 2 diabetes mellitus without complications",
        "E11.9",
        ("metformin", "insulin_glargine", "insulin_lispro"),
    ),
    Condition(
        "Unspecified atrial fibrillation", "I48.91", ("metoprolol", ("warfarin", "apixaban"))
    ),
    # G20 was split in ICD-10-CM FY2024; G20.A1 is the billable code for plain Parkinson's.
    Condition(
        "Parkinson's disease without dyskinesia, without mention of fluctuations",
        "G20.A1",
        ("carbidopa_levodopa",),
    ),
    Condition("Alzheimer's disease, unspecified", "G30.9", ("donepezil", "memantine")),
    Condition("Hypothyroidism, unspecified", "E03.9", ("levothyroxine",)),
    Condition(
        "Unspecified osteoarthritis, unspecified site",
        "M19.90",
        ("lidocaine_patch", "acetaminophen_prn"),
    ),
    Condition("Depression, unspecified", "F32.A", ("sertraline", "mirtazapine")),
    Condition("Unspecified glaucoma", "H40.9", ("latanoprost", "timolol")),
    Condition(
        "Chronic obstructive pulmonary disease, unspecified",
        "J44.9",
        ("tiotropium", "duoneb", "albuterol_prn"),
    ),
    Condition("Heart failure, unspecified", "I50.9", ("furosemide", "potassium")),
    Condition(
        "Age-related osteoporosis without current pathological fracture",
        "M81.0",
        ("alendronate", "calcium_d", "vitamin_d"),
    ),
    Condition("Hyperlipidemia, unspecified", "E78.5", ("atorvastatin",)),
    Condition("Gastro-esophageal reflux disease without esophagitis", "K21.9", ("omeprazole",)),
    Condition("Other constipation", "K59.09", ("docusate", "senna", "peg")),
    Condition("Other chronic pain", "G89.29", ("fentanyl_patch", "hydrocodone_prn")),
    Condition("Anxiety disorder, unspecified", "F41.9", ("lorazepam_prn",)),
    Condition(
        "Atherosclerotic heart disease of native coronary artery without angina pectoris",
        "I25.10",
        ("atorvastatin", "nitroglycerin_prn"),
    ),
    Condition("Vitamin B12 deficiency anemia, unspecified", "D51.9", ("b12",)),
    Condition(
        "Benign prostatic hyperplasia with lower urinary tract symptoms",
        "N40.1",
        ("tamsulosin",),
        male_only=True,
    ),
)
# Everyday orders that fill a resident's list up to its size after the diagnoses' own.
FILLER_REGIMENS = (
    "docusate",
    "senna",
    "calcium_d",
    "b12",
    "omeprazole",
    "atorvastatin",
    "melatonin",
    "loratadine",
    "fluticasone",
    "ondansetron_prn",
    "bisacodyl_prn",
    "magnesium_hydroxide_prn",
    "guaifenesin_prn",
    "artificial_tears_prn",
)
MIN_ORDERS, MAX_ORDERS = 6, 12


# --- Entry point ---------------------------------------------------------------------------


def demo_community_seed(
    *,
    now: dt.datetime,
    residents: int = DEFAULT_RESIDENTS,
    seed: int = DEFAULT_SEED,
    if_empty: bool = False,
) -> DemoSeedResult:
    """Build the demo community unless it (or, with ``if_empty``, any facility) exists.

    Runs in one transaction: either the whole community is there afterwards or nothing.
    """
    if not 1 <= residents <= MAX_RESIDENTS:
        raise ValueError(f"residents must be between 1 and {MAX_RESIDENTS}, not {residents}.")
    with transaction.atomic():
        if if_empty and Facility.objects.exists():
            return DemoSeedResult(
                created=False, message="The database already has a facility; nothing to do."
            )
        if Facility.objects.filter(name=DEMO_FACILITY_NAME).exists():
            return DemoSeedResult(
                created=False, message=f"{DEMO_FACILITY_NAME} already exists; nothing to do."
            )
        taken = sorted(
            User.objects.filter(username__in=[row[0] for row in STAFF]).values_list(
                "username", flat=True
            )
        )
        if taken:
            raise DemoDataConflict(
                f"Users {', '.join(taken)} exist but {DEMO_FACILITY_NAME} does not. "
                "Remove or rename those users, or seed an empty database."
            )
        return _build(now=now, resident_count=residents, seed=seed)


# --- Builders ------------------------------------------------------------------------------


def _at(day: dt.date, hour: int, minute: int, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


def _build(*, now: dt.datetime, resident_count: int, seed: int) -> DemoSeedResult:
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not security
    zone = zoneinfo.ZoneInfo(DEMO_TIME_ZONE)
    today = now.astimezone(zone).date()

    facility = Facility.objects.create(
        name=DEMO_FACILITY_NAME,
        address="2750 Maple Grove Road\nSpringfield, IL 62711",
        license_number="IL-ALF-0042817",
        time_zone=DEMO_TIME_ZONE,
    )
    MedPassTime.objects.bulk_create(
        MedPassTime(facility=facility, name=name, time_of_day=at) for name, at in PASS_TIMES
    )
    users = _build_staff(facility=facility, today=today)
    medications = _ensure_catalog()
    rooms = _build_units_carts_rooms(facility=facility, resident_count=resident_count)
    admissions = _build_residents(
        facility=facility,
        rooms=rooms,
        resident_count=resident_count,
        rng=rng,
        today=today,
        zone=zone,
        recorder=users["nurse1"],
    )
    orders = _build_orders(
        admissions=admissions,
        medications=medications,
        users=users,
        rng=rng,
        today=today,
        zone=zone,
    )
    stock_items = _build_stock(orders=orders, users=users, rng=rng, today=today, zone=zone)
    _start_the_shift(facility=facility, users=users, now=now)
    return DemoSeedResult(
        created=True,
        message=f"Built {DEMO_FACILITY_NAME}.",
        residents=len(admissions),
        orders=len(orders),
        stock_items=len(stock_items),
        users=len(users),
        medications=len(medications),
    )


def _start_the_shift(*, facility: Facility, users: dict[str, User], now: dt.datetime) -> None:
    """tech1 and tech2 are on duty for the two carts, so reminders reach someone."""
    carts = MedCart.objects.filter(facility=facility).order_by("name", "id")
    CartAssignment.objects.bulk_create(
        CartAssignment(cart=cart, user=users[username], started_at=now)
        for cart, username in zip(carts, ("tech1", "tech2"), strict=False)
    )


def _build_staff(*, facility: Facility, today: dt.date) -> dict[str, User]:
    # One hash for the shared demo password: hashing is deliberately slow (about a
    # second each here), and these accounts are demo data only.
    demo_password_hash = make_password(DEMO_PASSWORD)
    users = []
    for username, first, last, initials, role, title in STAFF:
        user = User(
            username=username,
            first_name=first,
            last_name=last,
            email=f"{username}@maplegrove.example",
            initials=initials,
            role=role,
            title=title,
            is_staff=role == User.Role.ADMINISTRATOR,
            # The administrator manages people and carts in the Django admin.
            is_superuser=role == User.Role.ADMINISTRATOR,
        )
        user.password = demo_password_hash
        users.append(user)
    User.objects.bulk_create(users)
    FacilityMembership.objects.bulk_create(
        FacilityMembership(user=user, facility=facility) for user in users
    )
    by_name = {user.username: user for user in users}

    def cert(username: str, kind: str, number: str, issued: int, expires: int) -> Certification:
        return Certification(
            user=by_name[username],
            kind=kind,
            number=number,
            state="IL",
            issued_on=today + dt.timedelta(days=issued),
            expires_on=today + dt.timedelta(days=expires),
        )

    aide, license_, cpr = (
        Certification.Kind.MEDICATION_AIDE,
        Certification.Kind.NURSE_LICENSE,
        Certification.Kind.CPR,
    )
    Certification.objects.bulk_create(
        [
            cert("tech1", aide, "CMA-2024-018734", issued=-420, expires=310),
            cert("tech2", aide, "CMA-2025-020915", issued=-150, expires=580),
            # Expired yesterday: tech3 can sign in and read but must not chart.
            cert("tech3", aide, "CMA-2024-017402", issued=-731, expires=-1),
            cert("tech1", cpr, "CPR-88213", issued=-200, expires=530),
            cert("tech2", cpr, "CPR-88214", issued=-200, expires=530),
            cert("tech3", cpr, "CPR-79120", issued=-400, expires=330),
            cert("nurse1", license_, "041.0173528", issued=-900, expires=560),
            cert("nurse2", license_, "043.0098841", issued=-500, expires=230),
            cert("nurse1", cpr, "CPR-88190", issued=-90, expires=640),
            cert("nurse2", cpr, "CPR-88191", issued=-90, expires=640),
        ]
    )
    return by_name


def _ensure_catalog() -> dict[str, Medication]:
    """The catalog is shared by every facility: reuse products that exist, add the rest."""
    existing = {
        (med.generic_name, med.brand_name, med.strength, med.form): med
        for med in Medication.objects.filter(
            generic_name__in=[drug.generic_name for drug in CATALOG.values()]
        )
    }
    used_ndcs = set(
        Medication.objects.filter(ndc__in=[drug.ndc for drug in CATALOG.values()]).values_list(
            "ndc", flat=True
        )
    )
    missing: dict[str, Medication] = {}
    catalog: dict[str, Medication] = {}
    limited: list[Medication] = []
    for key, drug in CATALOG.items():
        product = (drug.generic_name, drug.brand_name, drug.strength, drug.form)
        if product in existing:
            catalog[key] = med = existing[product]
            # A catalog seeded before products had limits gets them once.
            if not med.dose_limit_unit and (limits := _dose_limit_fields(key)):
                for name, value in limits.items():
                    setattr(med, name, value)
                limited.append(med)
            continue
        missing[key] = catalog[key] = Medication(
            generic_name=drug.generic_name,
            brand_name=drug.brand_name,
            strength=drug.strength,
            form=drug.form,
            default_route=drug.route,
            # Another product may already carry the code; the demo does without it then.
            ndc="" if drug.ndc in used_ndcs else drug.ndc,
            ingredients=list(drug.ingredients),
            dea_schedule=drug.dea_schedule,
            is_high_alert=drug.is_high_alert,
            is_time_critical=drug.is_time_critical,
            **_dose_limit_fields(key),
        )
    Medication.objects.bulk_create(missing.values())
    medications_link_by_ndc(medications=list(missing.values()))  # when the reference is loaded
    if limited:
        Medication.objects.bulk_update(limited, list(_dose_limit_fields("warfarin")))
    return catalog


def _build_units_carts_rooms(*, facility: Facility, resident_count: int) -> list[Room]:
    """Two units with a cart each and one room per resident: 101.. on Magnolia, 201.. on
    Willow. Returns the rooms in move-in order (Magnolia fills first)."""
    units = Unit.objects.bulk_create(Unit(facility=facility, name=name) for name, _ in UNITS)
    carts = MedCart.objects.bulk_create(
        MedCart(facility=facility, unit=unit, name=cart_name)
        for unit, (_, cart_name) in zip(units, UNITS, strict=True)
    )
    per_unit = (math.ceil(resident_count / 2), max(resident_count // 2, 1))
    digits = 2 if max(per_unit) < 100 else 3
    rooms = [
        Room(facility=facility, unit=unit, cart=cart, number=f"{floor}{index:0{digits}d}")
        for floor, (unit, cart, count) in enumerate(zip(units, carts, per_unit, strict=True), 1)
        for index in range(1, count + 1)
    ]
    return Room.objects.bulk_create(rooms)


@dataclasses.dataclass
class _Admission:
    resident: Resident
    regimens: list[str]
    admitted_days_ago: int


def _build_residents(
    *,
    facility: Facility,
    rooms: list[Room],
    resident_count: int,
    rng: random.Random,
    today: dt.date,
    zone: zoneinfo.ZoneInfo,
    recorder: User,
) -> list[_Admission]:
    """Residents with their diagnoses, allergies and the regimens those call for."""
    general = [condition for condition in CONDITIONS if not condition.male_only]
    # Every condition is somebody's first diagnosis, so every kind of order appears.
    primaries = rng.sample(general, len(general))
    names_taken: set[tuple[str, str]] = set()
    admissions: list[_Admission] = []
    allergies: list[Allergy] = []
    diagnoses: list[Diagnosis] = []

    for index, room in enumerate(rooms[:resident_count]):
        is_male = rng.random() < 0.3
        while True:
            first, nickname = rng.choice(MALE_NAMES if is_male else FEMALE_NAMES)
            last = rng.choice(LAST_NAMES)
            if (first, last) not in names_taken:
                names_taken.add((first, last))
                break
        born = dt.date(rng.randint(1930, 1950), rng.randint(1, 12), rng.randint(1, 28))
        admitted_days_ago = rng.randint(45, 2200)
        admitted_on = today - dt.timedelta(days=admitted_days_ago)
        physician, physician_phone = rng.choice(PHYSICIANS)
        pharmacy, pharmacy_phone = PHARMACIES[0] if rng.random() < 0.8 else PHARMACIES[1]
        code_status = rng.choices(
            [status for status, _ in CODE_STATUSES], [weight for _, weight in CODE_STATUSES]
        )[0]
        allergens = rng.sample(ALLERGENS, rng.randint(1, 2)) if rng.random() < 0.4 else []
        resident = Resident(
            facility=facility,
            room=room,
            first_name=first,
            last_name=last,
            preferred_name=nickname if nickname and rng.random() < 0.5 else "",
            date_of_birth=born,
            sex=Resident.Sex.MALE if is_male else Resident.Sex.FEMALE,
            admitted_on=admitted_on,
            physician=physician,
            physician_phone=physician_phone,
            pharmacy=pharmacy,
            pharmacy_phone=pharmacy_phone,
            code_status=code_status,
            has_no_known_allergies=not allergens,
        )

        primary = primaries[index % len(primaries)]
        others = [c for c in CONDITIONS if c is not primary and (is_male or not c.male_only)]
        conditions = [primary, *rng.sample(others, rng.randint(0, 2))]
        for condition in conditions:
            year = rng.randint(born.year + 60, max(born.year + 60, admitted_on.year))
            diagnoses.append(
                Diagnosis(
                    resident=resident,
                    description=condition.description,
                    icd10_code=condition.icd10_code,
                    diagnosed_on=min(
                        dt.date(year, rng.randint(1, 12), rng.randint(1, 28)), admitted_on
                    ),
                )
            )
        allergies.extend(
            Allergy(resident=resident, allergen=allergen, reaction=reaction, severity=severity)
            for allergen, reaction, severity in allergens
        )
        no_opioids = any(allergen in OPIOID_ALLERGENS for allergen, _, _ in allergens)
        admissions.append(
            _Admission(
                resident=resident,
                regimens=_regimens_for(conditions=conditions, no_opioids=no_opioids, rng=rng),
                admitted_days_ago=admitted_days_ago,
            )
        )

    absences = []
    away = rng.sample(admissions, min(2, len(admissions) // 10))
    for admission, (kind, days_ago, hour, back_in, note) in zip(
        away,
        (
            (
                Resident.AwayKind.HOSPITAL,
                2,
                15,
                3,
                "Sent to St. Anne's Hospital ED after a fall; admitted for observation.",
            ),
            (Resident.AwayKind.LEAVE, 1, 10, 2, "Leave of absence with family for the weekend."),
        ),
        strict=False,
    ):
        admission.resident.status = Resident.Status.AWAY
        admission.resident.away_kind = kind
        absences.append(
            ResidentAbsence(
                resident=admission.resident,
                kind=kind,
                started_at=_at(today - dt.timedelta(days=days_ago), hour, 0, zone),
                expected_return_on=today + dt.timedelta(days=back_in),
                note=note,
                recorded_by=recorder,
            )
        )

    Resident.objects.bulk_create(admission.resident for admission in admissions)
    Diagnosis.objects.bulk_create(diagnoses)
    Allergy.objects.bulk_create(allergies)
    ResidentAbsence.objects.bulk_create(absences)
    return admissions


def _regimens_for(
    *, conditions: list[Condition], no_opioids: bool, rng: random.Random
) -> list[str]:
    """The diagnoses' regimens first, then acetaminophen PRN, then everyday orders up to a
    list of 6 to 12."""
    size = rng.randint(MIN_ORDERS, MAX_ORDERS)
    keys: list[str] = []
    for condition in conditions:
        for entry in condition.regimens:
            key = rng.choice(entry) if isinstance(entry, tuple) else entry
            if key not in keys and not (no_opioids and key in OPIOID_REGIMENS):
                keys.append(key)
    keys = keys[:MAX_ORDERS]
    if "acetaminophen_prn" not in keys and len(keys) < MAX_ORDERS:
        keys.append("acetaminophen_prn")
    fillers = [key for key in rng.sample(FILLER_REGIMENS, len(FILLER_REGIMENS)) if key not in keys]
    while len(keys) < size and fillers:
        keys.append(fillers.pop(0))
    return keys


def _build_orders(
    *,
    admissions: list[_Admission],
    medications: dict[str, Medication],
    users: dict[str, User],
    rng: random.Random,
    today: dt.date,
    zone: zoneinfo.ZoneInfo,
) -> list[tuple[Order, Regimen]]:
    """Active orders, entered by one nurse and verified by the other, running for days."""
    nurses = (users["nurse1"], users["nurse2"])
    rx_number = rng.randint(4_100_000, 4_200_000)
    orders: list[tuple[Order, Regimen]] = []
    for admission in admissions:
        resident = admission.resident
        for key in admission.regimens:
            regimen = REGIMENS[key]
            drug = CATALOG[regimen.drug]
            start_on = today - dt.timedelta(
                days=rng.randint(3, min(admission.admitted_days_ago, 120))
            )
            entered_at = _at(
                start_on - dt.timedelta(days=1), rng.randint(9, 15), rng.randint(0, 59), zone
            )
            entered_by, verified_by = nurses if rng.random() < 0.7 else nurses[::-1]
            rx_number += rng.randint(1, 40)
            is_prn = regimen.frequency == PRN
            order = Order(
                resident=resident,
                medication=medications[regimen.drug],
                dose_amount=Decimal(regimen.dose_amount),
                dose_unit=regimen.dose_unit,
                route=drug.route,
                instructions=regimen.instructions,
                indication=regimen.indication,
                frequency=regimen.frequency,
                administration_times=list(regimen.times),
                days_of_week=list(regimen.days_of_week),
                days_of_month=list(regimen.days_of_month),
                interval=regimen.interval,
                is_time_critical=regimen.is_time_critical,
                prn_min_interval_minutes=regimen.prn_min_interval_minutes,
                prn_max_per_24h=regimen.prn_max_per_24h,
                followup_minutes=60 if is_prn else None,
                hold_parameters=[
                    {"vital": vital, "comparator": comparator, "limit": limit}
                    for vital, comparator, limit in regimen.hold_parameters
                ],
                required_vitals=list(regimen.required_vitals),
                starts_at=_at(start_on, regimen.start_hour, 0, zone),
                prescriber=regimen.prescriber or resident.physician,
                rx_number=str(rx_number),
                status=Order.Status.ACTIVE,
                entered_by=entered_by,
                entered_at=entered_at,
                verified_by=verified_by,
                verified_at=entered_at + dt.timedelta(minutes=rng.randint(15, 120)),
            )
            orders.append((order, regimen))
    Order.objects.bulk_create(order for order, _ in orders)
    return orders


def _doses_per_day(regimen: Regimen) -> float:
    per_time = len(regimen.times)
    return {
        TOD: per_time,
        DOW: per_time * len(regimen.days_of_week) / 7,
        EVERY_N_DAYS: per_time / (regimen.interval or 1),
        MONTHLY: per_time * len(regimen.days_of_month) / 30,
        EVERY_N_HOURS: 24 / (regimen.interval or 24),
        PRN: (regimen.prn_max_per_24h or 1) / 2,
    }[regimen.frequency]


def _full_fill(regimen: Regimen) -> Decimal:
    """What the pharmacy sends: a package, or a 30-day blister card (30 doses for a PRN)."""
    drug = CATALOG[regimen.drug]
    if drug.package_quantity:
        return Decimal(drug.package_quantity)
    if regimen.fill_doses:
        doses = regimen.fill_doses
    elif regimen.frequency == PRN:
        doses = 30
    else:
        doses = math.ceil(_doses_per_day(regimen) * 30)
    return Decimal(regimen.dose_amount) * doses


LOT_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def _build_stock(
    *,
    orders: list[tuple[Order, Regimen]],
    users: dict[str, User],
    rng: random.Random,
    today: dt.date,
    zone: zoneinfo.ZoneInfo,
) -> list[StockItem]:
    """One package per order on the resident's cart, each with its receive in the ledger.

    A few are low (a partial fill: only days of supply), a few expire within 30 days and
    two have already expired, so the reorder and expiry screens have work to show.
    """
    low_candidates = [
        index
        for index, (_, regimen) in enumerate(orders)
        if not CATALOG[regimen.drug].package_quantity
        and regimen.frequency != PRN
        and _doses_per_day(regimen) >= 1
    ]
    low = set(rng.sample(low_candidates, min(len(low_candidates), max(3, len(orders) // 50))))
    rest = [index for index in range(len(orders)) if index not in low]
    expired_count = 2 if len(orders) >= 20 else 0
    dated = rng.sample(rest, min(len(rest), expired_count + max(3, len(orders) // 60)))
    expired, expiring = set(dated[:expired_count]), set(dated[expired_count:])
    # Each cart's med tech receives its stock; a nurse witnesses controlled substances.
    receivers = {UNITS[0][1]: users["tech1"], UNITS[1][1]: users["tech2"]}

    items: list[StockItem] = []
    ledger: list[StockTransaction] = []
    for index, (order, regimen) in enumerate(orders):
        drug = CATALOG[regimen.drug]
        if index in low:
            quantity = Decimal(regimen.dose_amount) * math.ceil(
                _doses_per_day(regimen) * rng.randint(2, 4)
            )
        else:
            quantity = _full_fill(regimen)
        if index in expired:
            expires_on = today - dt.timedelta(days=rng.randint(1, 12))
        elif index in expiring:
            expires_on = today + dt.timedelta(days=rng.randint(5, 28))
        else:
            expires_on = today + dt.timedelta(days=rng.randint(120, 540))
        start_on = order.starts_at.astimezone(zone).date()
        received_on = max(
            start_on - dt.timedelta(days=1), today - dt.timedelta(days=rng.randint(1, 20))
        )
        received_at = _at(received_on, rng.randint(13, 16), rng.randint(0, 59), zone)
        package = drug.package or (
            StockItem.Package.BLISTER_CARD
            if drug.form in (Medication.Form.TABLET, Medication.Form.CAPSULE)
            else StockItem.Package.BOTTLE
        )
        cart = order.resident.room.cart
        item = StockItem(
            cart=cart,
            resident=order.resident,
            medication=order.medication,
            order=order,
            package=package,
            quantity_on_hand=quantity,
            unit=order.dose_unit,
            lot=(
                f"{rng.choice(LOT_LETTERS)}{rng.randint(10, 99)}"
                f"{rng.choice(LOT_LETTERS)}{rng.randint(100, 999)}"
            ),
            expires_on=expires_on,
            rx_number=order.rx_number,
            received_at=received_at,
        )
        items.append(item)
        ledger.append(
            StockTransaction(
                stock_item=item,
                kind=StockTransaction.Kind.RECEIVE,
                quantity=quantity,
                balance_after=quantity,
                performed_by=receivers[cart.name],
                witness=users["nurse1"] if drug.dea_schedule else None,
                reason="Partial fill; the pharmacy will deliver the balance."
                if index in low
                else "",
                created_at=received_at,
            )
        )
    StockItem.objects.bulk_create(items)
    StockTransaction.objects.bulk_create(ledger)
    return items
