"""What the default flow's region and age answers mean, for redaction and generalization.

Region answers are world regions, never countries. For phone detection they stand for the
countries people in that region most often come from or work in (national number formats
differ by country); for k-anonymity they generalize to a continent, and age bands to wider
bands. Unknown ids (another flow) map to nothing and are left as they are.
"""

from __future__ import annotations

REGION_COUNTRIES: dict[str, tuple[str, ...]] = {
    "africa_north": ("MA", "DZ", "TN", "LY", "EG", "SD", "MR"),
    "africa_east": ("ET", "ER", "KE", "UG", "TZ", "SO", "DJ", "RW", "BI", "SS", "MG", "MW", "ZM"),
    "africa_west": ("NG", "GH", "SN", "CI", "ML", "BF", "NE", "GN", "SL", "LR", "GM", "TG", "BJ",
                    "CV", "GW"),
    "africa_central": ("CM", "CD", "CG", "CF", "TD", "GA", "GQ", "AO"),
    "africa_southern": ("ZA", "ZW", "MZ", "BW", "NA", "LS", "SZ"),
    "asia_south": ("IN", "PK", "BD", "NP", "LK", "AF", "BT", "MV"),
    "asia_southeast": ("PH", "ID", "MY", "SG", "TH", "VN", "MM", "KH", "LA", "TL", "BN"),
    "asia_east": ("CN", "HK", "MO", "TW", "JP", "KR", "MN"),
    "asia_central_west": ("SA", "AE", "QA", "KW", "BH", "OM", "JO", "LB", "SY", "IQ", "IR", "IL",
                          "PS", "TR", "YE", "KZ", "UZ", "KG", "TJ", "TM", "AZ", "GE", "AM"),
    "europe": ("GB", "IE", "FR", "DE", "IT", "ES", "PT", "NL", "BE", "CH", "AT", "SE", "NO", "DK",
               "FI", "PL", "RO", "GR", "CY", "MT", "UA", "MD", "RU", "BG", "HU", "CZ", "RS"),
    "latin_america_caribbean": ("MX", "GT", "HN", "SV", "NI", "CR", "PA", "CO", "VE", "EC", "PE",
                                "BO", "CL", "AR", "UY", "PY", "BR", "CU", "DO", "HT", "JM", "TT"),
    "north_america": ("US", "CA"),
    "oceania": ("AU", "NZ", "FJ", "PG", "WS", "TO"),
}

CONTINENTS: dict[str, tuple[str, str]] = {  # region id -> (continent id, English label)
    "africa_north": ("africa", "Africa"),
    "africa_east": ("africa", "Africa"),
    "africa_west": ("africa", "Africa"),
    "africa_central": ("africa", "Africa"),
    "africa_southern": ("africa", "Africa"),
    "asia_south": ("asia", "Asia"),
    "asia_southeast": ("asia", "Asia"),
    "asia_east": ("asia", "Asia"),
    "asia_central_west": ("asia", "Asia"),
    "europe": ("europe", "Europe"),
    "latin_america_caribbean": ("americas", "The Americas"),
    "north_america": ("americas", "The Americas"),
    "oceania": ("oceania", "Oceania / Pacific"),
}

WIDER_AGE: dict[str, tuple[str, str]] = {  # age band id -> (wider band id, English label)
    "18_24": ("18_34", "18-34"),
    "25_34": ("18_34", "18-34"),
    "35_44": ("35_54", "35-54"),
    "45_54": ("35_54", "35-54"),
    "55_59": ("55_plus", "55 or older"),
    "60_plus": ("55_plus", "55 or older"),
}


def phone_regions(region_ids: tuple[str, ...], extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """ISO country codes whose national phone formats to look for, without repeats."""
    seen: dict[str, None] = dict.fromkeys(extra)
    for region in region_ids:
        seen.update(dict.fromkeys(REGION_COUNTRIES.get(region, ())))
    return tuple(seen)
