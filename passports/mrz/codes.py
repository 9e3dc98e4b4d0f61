"""Three-letter codes of states and organisations, Doc 9303 Part 3 section 5.

Part 3 takes ISO 3166-1 alpha-3 and adds the codes below it; an MRZ holding any other code in
its issuing-state or nationality field is refused on compose and reported on parse. Germany is
"D" (printed "D<<"), the one code shorter than three letters.
"""

from __future__ import annotations

# ISO 3166-1 alpha-3: the 249 officially assigned codes.
_ISO_3166_ALPHA3_TEXT = """
    ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE
    BDI BEL BEN BES BFA BGD BGR BHR BHS BIH BLM BLR BLZ BMU BOL BRA BRB BRN BTN BVT BWA
    CAF CAN CCK CHE CHL CHN CIV CMR COD COG COK COL COM CPV CRI CUB CUW CXR CYM CYP CZE
    DEU DJI DMA DNK DOM DZA
    ECU EGY ERI ESH ESP EST ETH
    FIN FJI FLK FRA FRO FSM
    GAB GBR GEO GGY GHA GIB GIN GLP GMB GNB GNQ GRC GRD GRL GTM GUF GUM GUY
    HKG HMD HND HRV HTI HUN
    IDN IMN IND IOT IRL IRN IRQ ISL ISR ITA
    JAM JEY JOR JPN
    KAZ KEN KGZ KHM KIR KNA KOR KWT
    LAO LBN LBR LBY LCA LIE LKA LSO LTU LUX LVA
    MAC MAF MAR MCO MDA MDG MDV MEX MHL MKD MLI MLT MMR MNE MNG MNP MOZ MRT MSR MTQ MUS MWI
    MYS MYT
    NAM NCL NER NFK NGA NIC NIU NLD NOR NPL NRU NZL
    OMN
    PAK PAN PCN PER PHL PLW PNG POL PRI PRK PRT PRY PSE PYF
    QAT
    REU ROU RUS RWA
    SAU SDN SEN SGP SGS SHN SJM SLB SLE SLV SMR SOM SPM SRB SSD STP SUR SVK SVN SWE SWZ SXM
    SYC SYR
    TCA TCD TGO THA TJK TKL TKM TLS TON TTO TUN TUR TUV TWN TZA
    UGA UKR UMI URY USA UZB
    VAT VCT VEN VGB VIR VNM VUT
    WLF WSM
    YEM
    ZAF ZMB ZWE
"""
ISO_3166_ALPHA3 = frozenset(_ISO_3166_ALPHA3_TEXT.split())

# The codes Doc 9303 Part 3 section 5 adds, by its parts.
ICAO_ADDED_CODES: dict[str, str] = {
    # Part A: Germany keeps its one-letter code
    "D": "Germany",
    # Part B: other codes reserved by the ISO 3166 maintenance agency
    "EUE": "European Union (EU)",
    "GBD": "British Overseas Territories Citizen (BOTC)",
    "GBN": "British National (Overseas)",
    "GBO": "British Overseas Citizen",
    "GBP": "British Protected Person",
    "GBS": "British Subject",
    # Part C: the United Nations and its agencies
    "UNO": "United Nations Organization or one of its officials",
    "UNA": "Specialized agency of the United Nations or one of its officials",
    "UNK": "Resident of Kosovo to whom a travel document has been issued by UNMIK",
    # Part D: other issuing authorities
    "XBA": "African Development Bank (ADB)",
    "XIM": "African Export-Import Bank (AFREXIM bank)",
    "XCC": "Caribbean Community or one of its emissaries (CARICOM)",
    "XCE": "Council of Europe",
    "XCO": "Common Market for Eastern and Southern Africa (COMESA)",
    "XEC": "Economic Community of West African States (ECOWAS)",
    "XPO": "International Criminal Police Organization (INTERPOL)",
    "XES": "Organization of Eastern Caribbean States (OECS)",
    "XMP": "Parliamentary Assembly of the Mediterranean (PAM)",
    "XOM": "Sovereign Military Order of Malta or one of its emissaries",
    "XDC": "Southern African Development Community (SADC)",
    # Part E: nationality of persons without one
    "XXA": "Stateless person",
    "XXB": "Refugee (1951 Convention)",
    "XXC": "Refugee (other than XXB)",
    "XXX": "Person of unspecified nationality",
    # The imaginary State of every specimen in Doc 9303 (Utopia); kept so that ICAO's own
    # examples, and test documents built like them, read clean.
    "UTO": "Utopia (Doc 9303 specimens)",
}

ICAO_CODES = ISO_3166_ALPHA3 | frozenset(ICAO_ADDED_CODES)


def code_is_known(code: str) -> bool:
    """Whether `code` ("DEU", "D", or as printed with fillers, "D<<") is a Part 3 code."""
    return code.rstrip("<") in ICAO_CODES


def code_field(code: str) -> str:
    """The three MRZ positions for a known code: "D" becomes "D<<"."""
    return code.ljust(3, "<")
