"""The fixed cast of the demo: the five partner clusters, their regions and sectors, and the
organisations abroad that host or send ClusterXchange visitors.

Names are invented; countries, NUTS-2 codes and 2021–27 region categories are real, so the
region-category and country disaggregations look like a real project's.
"""

from __future__ import annotations

from typing import NamedTuple

# The ClusterXchange partnership the project pays visitors for (ProjectRegistered.partnership_id).
PARTNERSHIP_ID = "CXC-TWINTRANS-2025"
GRANT_NO = "101144892"
CALL_ID = "SMP-COSME-2024-CLUSTER-01"
SURVEY_ID = "PANEL-TWINTRANS"


class Region(NamedTuple):
    """A NUTS-2 region with its cohesion-policy category and a point to measure distances from."""

    nuts2: str
    category: str
    lat: float
    lon: float


class Sector(NamedTuple):
    """A NACE code and the industrial ecosystem it belongs to."""

    nace: str
    ecosystem: str


class Partner(NamedTuple):
    """A consortium member: a cluster organisation and the pool its members are drawn from."""

    org_id: str
    code: str  # short prefix of ids the partner records, e.g. "DE"
    name: str
    country: str
    regions: tuple[Region, ...]  # the first is the cluster's own seat
    ecosystem: str
    sectors: tuple[Sector, ...]  # its members' sectors, most common first
    legal_form: str
    headcount: int
    eccp_profile_id: str


class ExternalOrg(NamedTuple):
    """An organisation outside the consortium, with the ClusterXchange partnership it belongs to."""

    org_id: str
    name: str
    org_type: str
    country: str
    region: Region
    sector: Sector
    size_class: str
    headcount: int
    turnover_band: str
    partnership_id: str
    hosts: bool  # hosts our visitors
    visits: bool  # sends visitors paid by its own partnership


_CLUSTER_NACE = "S94.11"  # business and employers membership organisations

PARTNERS: tuple[Partner, ...] = (
    Partner(
        "mobitech-de",
        "DE",
        "MobiTech Cluster Baden-Württemberg e.V.",
        "DE",
        (
            Region("DE11", "more_developed", 48.78, 9.18),
            Region("DE12", "more_developed", 49.01, 8.40),
            Region("DE14", "more_developed", 48.52, 9.06),
        ),
        "mobility_transport_automotive",
        (
            Sector("C29.32", "mobility_transport_automotive"),
            Sector("C28.41", "mobility_transport_automotive"),
            Sector("C25.62", "mobility_transport_automotive"),
            Sector("C22.29", "mobility_transport_automotive"),
            Sector("J62.01", "digital"),
            Sector("C27.11", "electronics"),
            Sector("M71.12", "mobility_transport_automotive"),
        ),
        "GmbH",
        14,
        "ECCP-DE-1042",
    ),
    Partner(
        "agroinnova-es",
        "ES",
        "AgroInnova Andalucía",
        "ES",
        (
            Region("ES61", "transition", 37.39, -5.98),
            Region("ES52", "transition", 39.47, -0.38),
            Region("ES62", "transition", 37.99, -1.13),
        ),
        "agri_food",
        (
            Sector("A01.24", "agri_food"),
            Sector("C10.32", "agri_food"),
            Sector("A01.13", "agri_food"),
            Sector("C10.41", "agri_food"),
            Sector("C11.02", "agri_food"),
            Sector("C10.84", "agri_food"),
            Sector("J62.01", "digital"),
            Sector("M72.11", "agri_food"),
        ),
        "S.L.",
        9,
        "ECCP-ES-0871",
    ),
    Partner(
        "aerovalley-pl",
        "PL",
        "Podkarpackie Aerospace Cluster",
        "PL",
        (
            Region("PL82", "less_developed", 50.04, 22.00),
            Region("PL81", "less_developed", 51.25, 22.57),
            Region("PL21", "less_developed", 50.06, 19.94),
        ),
        "aerospace_defence",
        (
            Sector("C30.30", "aerospace_defence"),
            Sector("C25.62", "aerospace_defence"),
            Sector("C28.41", "aerospace_defence"),
            Sector("C33.16", "aerospace_defence"),
            Sector("C22.29", "aerospace_defence"),
            Sector("M71.12", "aerospace_defence"),
            Sector("J62.01", "digital"),
        ),
        "Sp. z o.o.",
        11,
        "ECCP-PL-0315",
    ),
    Partner(
        "greentech-it",
        "IT",
        "Lombardia GreenTech Cluster",
        "IT",
        (
            Region("ITC4", "more_developed", 45.46, 9.19),
            Region("ITH5", "more_developed", 44.49, 11.34),
            Region("ITC1", "more_developed", 45.07, 7.69),
        ),
        "energy_renewables",
        (
            Sector("D35.11", "energy_renewables"),
            Sector("C27.11", "energy_renewables"),
            Sector("F43.21", "construction"),
            Sector("M71.12", "energy_renewables"),
            Sector("E38.32", "energy_intensive"),
            Sector("C28.25", "energy_renewables"),
        ),
        "S.r.l.",
        8,
        "ECCP-IT-0562",
    ),
    Partner(
        "digihub-fi",
        "FI",
        "Helsinki DigiHub Cluster ry",
        "FI",
        (
            Region("FI1B", "more_developed", 60.17, 24.94),
            Region("FI1C", "more_developed", 60.98, 25.66),
            Region("FI19", "more_developed", 61.50, 23.76),
        ),
        "digital",
        (
            Sector("J62.01", "digital"),
            Sector("J62.02", "digital"),
            Sector("J63.11", "digital"),
            Sector("J58.29", "digital"),
            Sector("M72.19", "digital"),
            Sector("C26.11", "electronics"),
        ),
        "Oy",
        10,
        "ECCP-FI-0208",
    ),
)

COORDINATOR = PARTNERS[0]
PARTNER_IDS = tuple(partner.org_id for partner in PARTNERS)

_CLUSTER = Sector(_CLUSTER_NACE, "digital")

EXTERNAL_ORGS: tuple[ExternalOrg, ...] = (
    # Strasbourg is ~100 km from Stuttgart: visits there are under 200 km and halve the lump sum.
    ExternalOrg("biovalley-fr", "Alsace BioValley", "cluster_org", "FR",
                Region("FRF1", "more_developed", 48.58, 7.75), Sector(_CLUSTER_NACE, "health"),
                "n/a", 12, "up_to_2m", "CXC-LIFESCI-2024", True, False),
    # Košice is ~170 km from Rzeszów, the same short-distance case in the east.
    ExternalOrg("itvalley-sk", "Košice IT Valley", "cluster_org", "SK",
                Region("SK04", "less_developed", 48.72, 21.26), _CLUSTER,
                "n/a", 9, "up_to_2m", "CXC-DIGI-EAST-2024", True, True),
    ExternalOrg("hightech-nl", "Brabant High Tech Cluster", "cluster_org", "NL",
                Region("NL41", "more_developed", 51.44, 5.47), Sector(_CLUSTER_NACE, "electronics"),
                "n/a", 16, "up_to_2m", "CXC-HIGHTECH-2025", True, False),
    ExternalOrg("brabant-tu-nl", "Brabant University of Technology", "RTO/univ", "NL",
                Region("NL41", "more_developed", 51.45, 5.49), Sector("P85.42", "digital"),
                "n/a", 3200, "n/a", "CXC-HIGHTECH-2025", True, False),
    ExternalOrg("produtech-pt", "Norte Production Technologies Cluster", "cluster_org", "PT",
                Region("PT11", "less_developed", 41.15, -8.61), Sector(_CLUSTER_NACE, "electronics"),
                "n/a", 7, "up_to_2m", "CXC-ATLANTIC-2025", True, False),
    ExternalOrg("porto-robotics-pt", "Porto Robotics Lda", "SME", "PT",
                Region("PT11", "less_developed", 41.18, -8.60), Sector("C28.99", "electronics"),
                "small", 28, "2m_to_10m", "CXC-ATLANTIC-2025", True, False),
    ExternalOrg("praha-ict-cz", "Prague ICT Alliance", "cluster_org", "CZ",
                Region("CZ01", "more_developed", 50.08, 14.43), _CLUSTER,
                "n/a", 6, "up_to_2m", "CXC-DIGI-EAST-2024", True, False),
    ExternalOrg("greenalps-at", "Green Alps Cluster Graz", "cluster_org", "AT",
                Region("AT22", "more_developed", 47.07, 15.44), Sector(_CLUSTER_NACE, "energy_renewables"),
                "n/a", 11, "up_to_2m", "CXC-GREEN-ALPS-2024", True, False),
    ExternalOrg("styria-energy-at", "Styrian Energy Systems AG", "large", "AT",
                Region("AT22", "more_developed", 47.05, 15.42), Sector("D35.11", "energy_renewables"),
                "large", 640, "over_50m", "CXC-GREEN-ALPS-2024", True, False),
    ExternalOrg("cleantech-dk", "Copenhagen CleanTech Cluster", "cluster_org", "DK",
                Region("DK01", "more_developed", 55.68, 12.57), Sector(_CLUSTER_NACE, "energy_renewables"),
                "n/a", 13, "up_to_2m", "CXC-NORDIC-2025", True, False),
    ExternalOrg("medtech-ie", "Dublin MedTech Network", "cluster_org", "IE",
                Region("IE06", "more_developed", 53.35, -6.26), Sector(_CLUSTER_NACE, "health"),
                "n/a", 8, "up_to_2m", "CXC-LIFESCI-2024", True, True),
    ExternalOrg("microelec-gr", "Hellenic Microelectronics Cluster", "cluster_org", "GR",
                Region("EL30", "transition", 37.98, 23.73), Sector(_CLUSTER_NACE, "electronics"),
                "n/a", 7, "up_to_2m", "CXC-BLUEMED-2024", True, True),
    ExternalOrg("adriatic-maritime-hr", "Adriatic Maritime Cluster", "cluster_org", "HR",
                Region("HR03", "less_developed", 43.51, 16.44),
                Sector(_CLUSTER_NACE, "mobility_transport_automotive"),
                "n/a", 5, "up_to_2m", "CXC-BLUEMED-2024", False, True),
    ExternalOrg("split-marine-hr", "Split Marine Technologies d.o.o.", "SME", "HR",
                Region("HR03", "less_developed", 43.52, 16.45),
                Sector("C30.11", "mobility_transport_automotive"),
                "micro", 8, "up_to_2m", "CXC-BLUEMED-2024", False, True),
    ExternalOrg("thessaloniki-agro-gr", "Thessaloniki Agro Solutions", "SME", "GR",
                Region("EL52", "less_developed", 40.64, 22.94), Sector("C10.39", "agri_food"),
                "small", 22, "2m_to_10m", "CXC-BLUEMED-2024", False, True),
)  # fmt: skip

# Lump sum per host country for a full visit (≥ 5 working days and ≥ 200 km); capped at €1,100.
LUMP_SUM_CAP = 1100
LUMP_SUM_BY_HOST_COUNTRY: dict[str, int] = {
    "DK": 1100, "IE": 1100, "FI": 1100, "NL": 1060, "FR": 1040, "AT": 1020, "DE": 1000,
    "IT": 940, "ES": 880, "PT": 820, "GR": 800, "CZ": 780, "PL": 780, "SK": 760, "HR": 760,
}  # fmt: skip

# Where SMEs export to (ISO 3166 codes; the survey's export_countries).
EXPORT_MARKETS = (
    "DE", "FR", "IT", "ES", "NL", "BE", "AT", "PL", "CZ", "SE", "DK", "FI", "PT", "IE", "HU",
    "RO", "SK", "SI", "HR", "GR", "US", "GB", "CH", "NO", "TR", "CN", "JP", "CA", "MA", "AE",
)  # fmt: skip

NAME_STEMS = (
    "Nord", "Astra", "Vento", "Kappa", "Lumo", "Terra", "Opti", "Vita", "Prisma", "Nova",
    "Helio", "Agri", "Aero", "Tecno", "Mecha", "Sola", "Data", "Kine", "Ferro", "Verde",
    "Orbi", "Quanta", "Silva", "Aqua", "Volt", "Cera", "Stella", "Fluxo", "Gaia", "Iris",
)  # fmt: skip
NAME_ENDINGS = (
    "tec", "works", "labs", "sys", "form", "line", "tronic", "pack", "flow", "motion",
    "grid", "soft", "cast", "field", "wave", "gen", "core", "craft", "matic", "print",
)  # fmt: skip

# Each partner also has a few members that are not SMEs (they never count as SMEs): a research
# institute (party to a domestic MoU), a regional agency and some large companies.
RESEARCH_MEMBERS: dict[str, str] = {
    "DE": "Stuttgart Institute for Vehicle Systems",
    "ES": "Centro Tecnológico Agroalimentario de Sevilla",
    "PL": "Rzeszów Aerospace Research Institute",
    "IT": "Lombardy Energy Research Centre",
    "FI": "Uusimaa University of Applied Sciences",
}
AGENCY_MEMBERS: dict[str, str] = {
    "DE": "Wirtschaftsförderung Region Stuttgart",
    "ES": "Agencia de Innovación de Andalucía",
    "PL": "Podkarpackie Regional Development Agency",
    "IT": "Lombardia Innovation Agency",
    "FI": "Helsinki Business Hub",
}
