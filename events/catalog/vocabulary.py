"""The constrained values and enumerations that event payloads are built from (DOMAIN.md (a)).

Spellings of enumeration values are the catalog's, exactly; where the catalog names an enum
without listing values, the values chosen here are documented beside the alias.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal, NamedTuple

from msgspec import Meta

# --- identifiers and text -------------------------------------------------------------------

# Ids become part of stream ids (`activity-<session_id>`), so they may not contain whitespace.
ID_PATTERN = r"^\S+$"
Id = Annotated[
    str,
    Meta(min_length=1, max_length=200, pattern=ID_PATTERN, description="identifier without whitespace"),
]
ShortText = Annotated[str, Meta(min_length=1, max_length=200)]
# A term of a vocabulary DOMAIN.md (a) leaves open (a coaching topic or mode): any word, as a
# category of its own; without whitespace, so a target's disaggregation key can name it.
Term = Annotated[
    str, Meta(min_length=1, max_length=64, pattern=ID_PATTERN, description="a term without whitespace")
]
Text = Annotated[str, Meta(min_length=1, max_length=4000)]

COUNTRY_PATTERN = r"^[A-Z]{2}$"
CountryCode = Annotated[
    str, Meta(pattern=COUNTRY_PATTERN, description="ISO 3166-1 alpha-2 country code, e.g. DE, GR, GB")
]
# NUTS-2: two-letter NUTS country code (EL for Greece, UK for the United Kingdom) + two characters.
NUTS2_PATTERN = r"^[A-Z]{2}[0-9A-Z]{2}$"
Nuts2Code = Annotated[str, Meta(pattern=NUTS2_PATTERN, description="NUTS 2021 level-2 code, e.g. DE21")]
# NACE Rev. 2: a section letter, optionally with division (C26), group (C26.1) or class (C26.11).
NACE_PATTERN = r"^[A-U]([0-9]{2}(\.[0-9]{1,2})?)?$"
NaceCode = Annotated[str, Meta(pattern=NACE_PATTERN, description="NACE Rev. 2 code, e.g. C26.11")]
SHA256_PATTERN = r"^[0-9a-f]{64}$"
Sha256Hex = Annotated[str, Meta(pattern=SHA256_PATTERN, description="sha256 digest, 64 lowercase hex")]
DIMENSION_PATTERN = r"^[a-z][a-z0-9_]*$"
DimensionName = Annotated[str, Meta(pattern=DIMENSION_PATTERN, max_length=40)]
# "gender=F" or "country=DE;gender=F": dimension names as in IndicatorDefined.disaggregations.
DISAGGREGATION_KEY_PATTERN = r"^[a-z][a-z0-9_]*=[^;=\s]+(;[a-z][a-z0-9_]*=[^;=\s]+)*$"
DisaggregationKey = Annotated[
    str, Meta(pattern=DISAGGREGATION_KEY_PATTERN, max_length=400, description="e.g. country=DE;gender=F")
]

# Patterns are opaque in an error message; these phrases replace them (see errors.py).
PATTERN_PHRASES: dict[str, str] = {
    ID_PATTERN: "a non-empty identifier without whitespace",
    COUNTRY_PATTERN: "an ISO 3166-1 alpha-2 country code such as 'DE' (two capital letters)",
    NUTS2_PATTERN: "a NUTS level-2 code such as 'DE21'",
    NACE_PATTERN: "a NACE Rev. 2 code such as 'C26' or 'C26.11'",
    SHA256_PATTERN: "a sha256 digest as 64 lowercase hex characters",
    DIMENSION_PATTERN: "a snake_case dimension name",
    DISAGGREGATION_KEY_PATTERN: "a disaggregation key such as 'country=DE;gender=F'",
}

# --- numbers ----------------------------------------------------------------------------------

NonNegativeInt = Annotated[int, Meta(ge=0, le=10_000_000)]
Scale1to5 = Annotated[int, Meta(ge=1, le=5, description="1 (worst) to 5 (best)")]
DigitalScore = Annotated[int, Meta(ge=0, le=100)]
Year = Annotated[int, Meta(ge=1990, le=2100)]


class DecimalRange(NamedTuple):
    """Bounds of a Decimal field, checked by PayloadStruct (msgspec has no Decimal constraints)."""

    ge: Decimal | None = None
    gt: Decimal | None = None
    le: Decimal | None = None


def decimal_meta(description: str, *, ge: str | None = None, gt: str | None = None, le: str) -> Meta:
    """Meta for a bounded Decimal; the bounds ride in `extra`, where PayloadStruct finds them."""
    bounds = DecimalRange(
        ge=Decimal(ge) if ge is not None else None,
        gt=Decimal(gt) if gt is not None else None,
        le=Decimal(le),
    )
    # msgspec publishes a Decimal as a string schema but decodes JSON numbers too: say so.
    return Meta(description=f"{description}; a decimal string or a number", extra={"decimal_range": bounds})


Hours = Annotated[Decimal, decimal_meta("hours, ≥ 0", ge="0", le="10000")]
PositiveHours = Annotated[Decimal, decimal_meta("hours, > 0", gt="0", le="10000")]
Fte = Annotated[Decimal, decimal_meta("full-time equivalents, ≥ 0", ge="0", le="10000000")]
EuroAmount = Annotated[Decimal, decimal_meta("amount in EUR, ≥ 0", ge="0", le="1000000000000")]
PositiveEuroAmount = Annotated[Decimal, decimal_meta("amount in EUR, > 0", gt="0", le="1000000000000")]
Share = Annotated[Decimal, decimal_meta("share between 0 and 1", ge="0", le="1")]
# Indicator values can be negative (an employment change); only finiteness is required.
IndicatorValue = Annotated[Decimal, decimal_meta("indicator value", ge="-1000000000000", le="1000000000000")]

# --- enumerations (spellings from DOMAIN.md (a)) ---------------------------------------------

OrgType = Literal["cluster_org", "SME", "large", "RTO/univ", "scaleup_support", "public", "other"]
SizeClass = Literal["micro", "small", "medium", "large", "n/a"]
# Cohesion-policy region categories of the NUTS-2 region (DOMAIN.md §1, 2021–27 thresholds).
RegionCategory = Literal["less_developed", "transition", "more_developed"]
# The 14 industrial ecosystems of the EU industrial strategy.
Ecosystem = Literal[
    "aerospace_defence",
    "agri_food",
    "construction",
    "cultural_creative",
    "digital",
    "electronics",
    "energy_intensive",
    "energy_renewables",
    "health",
    "mobility_transport_automotive",
    "proximity_social_economy",
    "retail",
    "textile",
    "tourism",
]
# DOMAIN.md (a) leaves turnover bands open: suggested bands follow the Rec. 2003/361 turnover
# ceilings (up_to_2m, 2m_to_10m, 10m_to_50m, over_50m, n/a); any band is kept as written.
TurnoverBand = ShortText
SizeBasis = Literal["turnover", "balance_sheet"]

Role = Literal["cluster_manager", "cluster_staff", "SME_staff", "other"]
Gender = Literal["F", "M", "X", "undisclosed"]
ConsentPurpose = Literal["activity_monitoring", "impact_survey", "communication", "media"]
# GDPR Art. 6(1) lawful bases.
LawfulBasis = Literal[
    "consent", "contract", "legal_obligation", "vital_interests", "public_task", "legitimate_interests"
]

IndicatorLevel = Literal["output", "outcome", "impact"]
Measure = Literal["unit", "percentage", "qualitative"]  # IATI's indicator measures
TimeAggregation = Literal["sum", "last", "distinct", "ratio"]

Topic = Literal[
    "strategy", "governance", "financing", "services", "internationalisation", "digital", "green", "skills"
]
DeliveryFormat = Literal["onsite", "online", "hybrid"]

# Open in DOMAIN.md (a) (activity_types[]): suggested job_shadowing, peer_learning, study_visit,
# workshop, matchmaking, training, other; any is kept as written.
ExchangeActivityType = ShortText
ExchangeMode = Literal["physical", "virtual"]
ObjectivesMet = Literal["fully", "partially", "not_met"]
FollowUpType = Literal[
    "MoU",
    "joint_project_proposal",
    "commercial_agreement",
    "new_market_entry",
    "tech_transfer",
    "new_membership",
]

OutreachType = Literal[
    "conference", "webinar", "info_day", "B2B", "fair", "newsletter", "publication", "social"
]
AgreementType = Literal["MoU", "cooperation_agreement", "consortium_agreement"]
MilestoneKind = Literal["joint_strategy", "roadmap", "action_plan", "deliverable"]
MilestoneStatus = Literal["draft", "adopted", "submitted"]
ServiceArea = Literal[
    "internationalisation",
    "digitalisation",
    "green_transition",
    "skills",
    "innovation",
    "access_to_finance",
    "business_support",
    "other",
]
LabelLevel = Literal["bronze", "silver", "gold"]

SurveyWave = Literal["baseline", "midline", "endline", "followup"]
# Open in DOMAIN.md (a) (green_measures[]): I5 only asks whether an endline measure is absent at
# baseline; GREEN_MEASURES are the suggested terms.
GreenMeasure = ShortText
GREEN_MEASURES = (
    "energy_efficiency",
    "renewable_energy",
    "circular_economy",
    "waste_reduction",
    "sustainable_sourcing",
    "emissions_monitoring",
    "eco_design",
    "environmental_certification",
    "other",
)

PeriodKind = Literal["interim", "final"]
SnapshotKind = Literal["interim", "final", "adhoc"]

# The period_id of a baseline or target for the life of the project (not a reporting period).
LIFE_OF_PROJECT = "LoP"

# The payload fields that name the thing an event is about; a correction may not change them.
IDENTITY_FIELDS: frozenset[str] = frozenset(
    {"session_id", "exchange_id", "engagement_id", "org_id", "participant_id"}
)
