"""The clinical rules the drug checks apply, as data: which allergy words name a class,
which classes carry cross-sensitivity, the interacting pairs (with their sources), the
daily maximums of an ingredient from all sources, and the psychotropic classes.

A side of a rule is a set of terms: ``ingredient:<moiety>`` or ``epc:``/``moa:``/``cs:``
``<class name as the FDA writes it>``. A drug is on that side when it has any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# Allergy words that name a class rather than a drug (what residents' charts say).
SULFONAMIDE_ANTIBACTERIALS = frozenset(
    {
        "epc:Sulfonamide Antibacterial",
        "epc:Sulfonamide Antimicrobial",
        "epc:Methylated Sulfonamide Antibacterial",
        "ingredient:sulfamethoxazole",
        "ingredient:sulfadiazine",
        "ingredient:sulfisoxazole",
    }
)
PENICILLINS = frozenset({"epc:Penicillin-class Antibacterial", "cs:Penicillins"})
OPIOIDS = frozenset({"epc:Opioid Agonist", "epc:mu-Opioid Receptor Agonist"})
ALLERGY_TERMS: dict[str, frozenset[str]] = {
    "penicillin": PENICILLINS,
    "penicillins": PENICILLINS,
    "pcn": PENICILLINS,
    "sulfa": SULFONAMIDE_ANTIBACTERIALS,
    "sulfa drugs": SULFONAMIDE_ANTIBACTERIALS,
    "sulfonamide": SULFONAMIDE_ANTIBACTERIALS,
    "sulfonamides": SULFONAMIDE_ANTIBACTERIALS,
    "sulfonamide antibacterials": SULFONAMIDE_ANTIBACTERIALS,
    "sulfonamide antibiotics": SULFONAMIDE_ANTIBACTERIALS,
    "cephalosporins": frozenset({"epc:Cephalosporin Antibacterial"}),
    "opioids": OPIOIDS,
    "opiates": OPIOIDS,
    "narcotics": OPIOIDS,
    "nsaids": frozenset({"epc:Nonsteroidal Anti-inflammatory Drug"}),
    "benzodiazepines": frozenset({"epc:Benzodiazepine"}),
    "macrolides": frozenset({"epc:Macrolide Antimicrobial", "epc:Macrolide Antibacterial"}),
}
# A shared class here is a cross-sensitivity to weigh, not the same allergy: most opioid
# "allergies" are intolerances, and cross-reactivity between opioids is uncertain.
CROSS_SENSITIVITY_CLASSES = OPIOIDS
# Classes that say what a drug does, not what it is made of: sharing one is no reason to
# expect the same allergic reaction (aspirin and dipyridamole).
NOT_ALLERGY_CLASSES = frozenset({"epc:Platelet Aggregation Inhibitor", "epc:Vitamin K"})

PHANSALKAR_2012 = (
    "ONC high-priority drug-drug interactions: Phansalkar S, et al. High-priority drug-drug "
    "interactions for use in electronic health records. J Am Med Inform Assoc. "
    "2012;19(5):735-743."
)
BEERS_2019 = (
    "Drug-drug interactions to avoid in older adults: American Geriatrics Society 2019 "
    "Updated AGS Beers Criteria, Table 5. J Am Geriatr Soc. 2019;67(4):674-694."
)

MAOIS = frozenset({"epc:Monoamine Oxidase Inhibitor"})
CYP3A4_INHIBITORS = frozenset({"moa:Cytochrome P450 3A4 Inhibitors"})
CYP1A2_INHIBITORS = frozenset({"moa:Cytochrome P450 1A2 Inhibitors"})
PROTEASE_INHIBITORS = frozenset({"epc:Protease Inhibitor", "epc:HIV Protease Inhibitor"})
QT_HIGH_RISK = frozenset(
    {"ingredient:dofetilide", "ingredient:thioridazine", "ingredient:pimozide"}
)
QT_PROLONGING = QT_HIGH_RISK | frozenset(
    f"ingredient:{name}"
    for name in (
        "amiodarone",
        "sotalol",
        "dronedarone",
        "erythromycin",
        "clarithromycin",
        "moxifloxacin",
        "levofloxacin",
        "haloperidol",
        "methadone",
        "ziprasidone",
        "citalopram",
    )
)
NSAIDS = frozenset({"epc:Nonsteroidal Anti-inflammatory Drug"})
WARFARIN = frozenset({"ingredient:warfarin"})


@dataclass(frozen=True)
class Interaction:
    name: str
    one: frozenset[str]
    other: frozenset[str]
    effect: str
    source: str


def _i(*names: str) -> frozenset[str]:
    return frozenset(f"ingredient:{name}" for name in names)


INTERACTIONS: tuple[Interaction, ...] = (
    # The 15 pairs of the ONC high-priority list (Phansalkar 2012).
    Interaction(
        "Amphetamines + MAO inhibitors",
        frozenset({"cs:Amphetamines"}) | _i("amphetamine", "dextroamphetamine"),
        MAOIS,
        "hypertensive crisis",
        PHANSALKAR_2012,
    ),
    Interaction(
        "Atazanavir + proton pump inhibitors",
        _i("atazanavir"),
        frozenset({"epc:Proton Pump Inhibitor"}),
        "atazanavir levels fall: loss of HIV control",
        PHANSALKAR_2012,
    ),
    Interaction(
        "Azathioprine or mercaptopurine + febuxostat",
        _i("azathioprine", "mercaptopurine"),
        _i("febuxostat"),
        "bone marrow suppression",
        PHANSALKAR_2012,
    ),
    Interaction(
        "SSRIs + MAO inhibitors",
        frozenset({"epc:Serotonin Reuptake Inhibitor"}),
        MAOIS,
        "serotonin syndrome",
        PHANSALKAR_2012,
    ),
    Interaction(
        "Irinotecan + strong CYP3A4 inhibitors",
        _i("irinotecan"),
        CYP3A4_INHIBITORS,
        "irinotecan toxicity",
        PHANSALKAR_2012,
    ),
    Interaction(
        "Opioid analgesics + MAO inhibitors",
        OPIOIDS,
        MAOIS,
        "serotonin syndrome, respiratory depression",
        PHANSALKAR_2012,
    ),
    Interaction(
        "Tricyclic antidepressants + MAO inhibitors",
        frozenset({"epc:Tricyclic Antidepressant"}),
        MAOIS,
        "serotonin syndrome, hypertensive crisis",
        PHANSALKAR_2012,
    ),
    Interaction(
        "High-risk QT-prolonging agents + QT-prolonging agents",
        QT_HIGH_RISK,
        QT_PROLONGING,
        "QT prolongation, torsades de pointes",
        PHANSALKAR_2012,
    ),
    Interaction(
        "Ramelteon + strong CYP1A2 inhibitors",
        _i("ramelteon"),
        _i("fluvoxamine", "ciprofloxacin"),
        "ramelteon levels rise many-fold",
        PHANSALKAR_2012,
    ),
    Interaction(
        "Protease inhibitors + strong CYP3A4 inducers",
        PROTEASE_INHIBITORS,
        _i("rifampin", "rifabutin", "carbamazepine", "phenytoin", "st. john's wort"),
        "loss of HIV control",
        PHANSALKAR_2012,
    ),
    Interaction(
        "Simvastatin or lovastatin + CYP3A4 inhibitors or protease inhibitors",
        _i("simvastatin", "lovastatin"),
        CYP3A4_INHIBITORS | PROTEASE_INHIBITORS,
        "myopathy, rhabdomyolysis",
        PHANSALKAR_2012,
    ),
    Interaction(
        "Ergot alkaloids + CYP3A4 inhibitors or protease inhibitors",
        frozenset({"epc:Ergot Derivative", "epc:Ergotamine Derivative", "cs:Ergotamines"}),
        CYP3A4_INHIBITORS | PROTEASE_INHIBITORS,
        "ergotism: vasospasm, ischaemia",
        PHANSALKAR_2012,
    ),
    Interaction(
        "Tizanidine + CYP1A2 inhibitors",
        _i("tizanidine"),
        CYP1A2_INHIBITORS | _i("fluvoxamine", "ciprofloxacin"),
        "low blood pressure, sedation",
        PHANSALKAR_2012,
    ),
    Interaction(
        "Tranylcypromine + procarbazine",
        _i("tranylcypromine"),
        _i("procarbazine"),
        "hypertensive crisis",
        PHANSALKAR_2012,
    ),
    Interaction(
        "Triptans + MAO inhibitors",
        frozenset({"epc:Serotonin-1b and Serotonin-1d Receptor Agonist"}),
        MAOIS,
        "serotonin syndrome",
        PHANSALKAR_2012,
    ),
    # Not on the ONC list (which has no warfarin pair): the Beers list for older adults.
    Interaction(
        "Warfarin + NSAIDs",
        WARFARIN,
        NSAIDS,
        "bleeding",
        BEERS_2019,
    ),
    Interaction(
        "Warfarin + sulfamethoxazole/trimethoprim, ciprofloxacin, macrolides, amiodarone",
        WARFARIN,
        _i("sulfamethoxazole", "ciprofloxacin", "clarithromycin", "erythromycin", "amiodarone"),
        "INR rises: bleeding",
        BEERS_2019,
    ),
    Interaction(
        "Opioids + benzodiazepines",
        OPIOIDS,
        frozenset({"epc:Benzodiazepine"}),
        "overdose: respiratory depression",
        BEERS_2019,
    ),
)


@dataclass(frozen=True)
class DailyMaximum:
    ingredient: str
    amount: Decimal
    unit: str
    source: str


# The most of an ingredient a resident may have in 24 hours from every order together.
DAILY_MAXIMUMS = {
    "acetaminophen": DailyMaximum(
        "acetaminophen",
        Decimal(4000),
        "mg",
        "FDA: no more than 4,000 mg of acetaminophen a day from all sources.",
    ),
}

# CMS State Operations Manual, Appendix PP, F758: psychotropic drugs, by class.
PSYCHOTROPIC_CLASSES: dict[str, str] = {
    "epc:Typical Antipsychotic": "antipsychotic",
    "epc:Atypical Antipsychotic": "antipsychotic",
    "epc:Serotonin Reuptake Inhibitor": "antidepressant",
    "epc:Serotonin and Norepinephrine Reuptake Inhibitor": "antidepressant",
    "epc:Tricyclic Antidepressant": "antidepressant",
    "epc:Monoamine Oxidase Inhibitor": "antidepressant",
    "epc:Aminoketone": "antidepressant",
    "epc:Tetracyclic Antidepressant": "antidepressant",
    "epc:Benzodiazepine": "anxiolytic",
    "epc:gamma-Aminobutyric Acid-ergic Agonist": "hypnotic",
    "epc:Orexin Receptor Antagonist": "hypnotic",
    "epc:Melatonin Receptor Agonist": "hypnotic",
}
PSYCHOTROPIC_PRN_DAYS = 14
PSYCHOTROPIC_REMIND_DAYS = 2
CMS_F758 = "CMS State Operations Manual, Appendix PP, F758 (PRN psychotropic orders: 14 days)."
