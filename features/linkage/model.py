"""The Splink model: comparisons and blocking rules, written as data.

Each comparison is a plain Splink comparison dictionary whose levels are SQL
over the prepared columns (``features.linkage.prep``), ordered from strongest
to weakest agreement. Keeping them as data (not Python branches) means the
whole model, with its trained m and u probabilities, can be saved as JSON and
read by anyone, and the level labels double as the wording of the match
evidence ("date of birth: day and month swapped (+4.1)"). Labels never
contain a value from a record.

Why these comparisons (see NOTES.md, "the household trap"):

- first name has levels for nicknames and initials, and a *fixed* low m
  probability on "different", because EM cannot tell household members from
  one person and would otherwise learn that first names often disagree. A
  "similar" first name must keep its first letter: Karen and Darren
  Chapman at one address are two people (typos rarely change the first
  letter; no such pair above the threshold was one person);
- surname exact matches are term-frequency adjusted, so "Smith" counts for
  less than "Okonkwo-Reyes";
- there is ONE address comparison (UPRN > postcode and same address words >
  postcode with no address line on one side > postcode with a different
  address > sector > district): separate UPRN, postcode and address
  comparisons count the same evidence two or three times. "No address line
  to compare" is kept apart from "different address": the first is missing
  data (a contact centre often takes only a postcode), the second is a
  neighbour's evidence against a match, and one level for both undervalued
  the first and overvalued the second;
- when a house number is missing (a caller gives "Acacia Road", or the
  postcode alone), the street still counts, as its own levels of that one
  address comparison: same postcode and street, then same street with no
  postcode to contradict it. Weaker than the same house, stronger than the
  same postcode sector;
- NI and NHS numbers are compared exactly, with a one-character typo level;
- e-mail and phone are compared exactly (fuzzy e-mail matching joins
  different people with numbered addresses), on a phone number normalised
  to UK national form, and term-frequency adjusted by how many *different
  people* hold the value (:mod:`features.linkage.contacts`): a hostel's
  landline that thirty residents give counts for little, a personal mobile
  for a lot. An exact match is split by whether the names agree (the same
  surname and initial, or the same first name written out on both; see
  :data:`NAMES_AGREE`): with agreeing names it is the strongest evidence a
  sparse contact-centre record can have ("J Okafor" and "Joy Okafor" on the
  same mobile); with names that differ or are missing it is much weaker (a
  relative's or a wrong number), so a record holding only someone else's
  number does not join them;
- the m probability of an agreeing initial is computed from the night's
  records, not learned (:func:`initial_only_m_probability`).

The SQL is DuckDB's. For the Spark backend the same comparisons are given
Spark SQL that computes the same values (:func:`comparisons` with
``backend="spark"``; see :mod:`features.linkage.spark_sql`); the labels, and
so the evidence and the model JSON's labels, are the same on both.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from splink import SettingsCreator, block_on

from features.linkage.contacts import EXACT_NAMES_AGREE
from features.linkage.settings import Backend, BlockingRuleSpec, LinkageSettings
from features.linkage.spark_sql import to_spark_sql
from features.linkage.trained import with_trained_probabilities


def _null(*columns: str) -> dict[str, Any]:
    condition = " OR ".join(f"{c}_l IS NULL OR {c}_r IS NULL" for c in columns)
    return {"sql_condition": condition, "label_for_charts": "missing", "is_null_level": True}


def _level(sql: str, label: str, **extra: Any) -> dict[str, Any]:
    return {"sql_condition": sql, "label_for_charts": label, **extra}


#: What each comparison is called in the match evidence. (Splink 5.0 drops a
#: dictionary comparison's own ``comparison_description`` and writes
#: "CustomComparison" into the model, so the evidence reads names from here.)
DESCRIPTIONS: dict[str, str] = {
    "first_name": "first name",
    "last_name": "last name",
    "dob": "date of birth",
    "address": "address",
    "ni_number": "NI number",
    "nhs_number": "NHS number",
    "email": "email",
    "phone": "phone",
}

_ELSE = "ELSE"
_NAMES_SWAPPED = "first_name_std_l = last_name_std_r AND last_name_std_l = first_name_std_r"


#: Smallest m probability given to "initial only, agrees" (a night with no
#: initials at all never uses the level; Splink rejects an m of 0).
_MIN_INITIAL_ONLY_M = 0.001


def initial_only_m_probability(prepared: pl.DataFrame) -> float:
    """m of "first name: initial only, agrees", from the night's records rather than EM.

    EM cannot learn it: records that hold only an initial ("J Okafor" on a
    council-tax bill, a contact-centre note) carry no date of birth, so they
    are in neither training block (on the name block the first-name
    comparison is not estimated at all). Learned, it came out between 0.007
    and 0.025 on the boroughs measured, depending on how many *full* records
    happened to hold an initial: up to four bits too little for "M
    Thrandlewick" against "Marisol Thrandlewick". If a share ``p`` of the night's
    first names are a single letter, and systems record initials
    independently of each other, two records of one person have exactly one
    initial with probability ``2p(1 - p)``.
    """
    names = prepared["first_name_std"].drop_nulls()
    p = int((names.str.len_chars() == 1).sum()) / names.len() if names.len() else 0.0
    return max(2 * p * (1 - p), _MIN_INITIAL_ONLY_M)


def first_name_comparison(else_m_probability: float, initial_only_m: float | None = None) -> dict[str, Any]:
    return {
        "output_column_name": "first_name",
        "comparison_description": DESCRIPTIONS["first_name"],
        "comparison_levels": [
            _null("first_name_std"),
            _level(
                "first_name_std_l = first_name_std_r",
                "exact match",
                tf_adjustment_column="first_name_std",
                tf_adjustment_weight=1.0,
            ),
            _level(_NAMES_SWAPPED, "first and last names swapped"),
            _level("first_name_canon_l = first_name_canon_r", "same name, nickname used"),
            _level("jaro_winkler_similarity(first_name_std_l, first_name_std_r) >= 0.92", "small typo"),
            _level(
                "jaro_winkler_similarity(first_name_std_l, first_name_std_r) >= 0.80 "
                "AND first_initial_l = first_initial_r",
                "similar",
            ),
            _level(
                "(length(first_name_std_l) = 1 OR length(first_name_std_r) = 1) "
                "AND first_initial_l = first_initial_r",
                "initial only, agrees",
                **(
                    {}
                    if initial_only_m is None
                    else {"m_probability": initial_only_m, "fix_m_probability": True}
                ),
            ),
            _level(_ELSE, "different", m_probability=else_m_probability, fix_m_probability=True),
        ],
    }


def last_name_comparison() -> dict[str, Any]:
    return {
        "output_column_name": "last_name",
        "comparison_description": DESCRIPTIONS["last_name"],
        "comparison_levels": [
            _null("last_name_std"),
            _level(
                "last_name_std_l = last_name_std_r",
                "exact match",
                tf_adjustment_column="last_name_std",
                tf_adjustment_weight=1.0,
            ),
            _level(_NAMES_SWAPPED, "first and last names swapped"),
            _level("jaro_winkler_similarity(last_name_std_l, last_name_std_r) >= 0.92", "small typo"),
            _level("jaro_winkler_similarity(last_name_std_l, last_name_std_r) >= 0.80", "similar"),
            _level(_ELSE, "different"),
        ],
    }


def dob_comparison() -> dict[str, Any]:
    same = {part: f"dob_{part}_l = dob_{part}_r" for part in ("y", "m", "d")}
    return {
        "output_column_name": "dob",
        "comparison_description": DESCRIPTIONS["dob"],
        "comparison_levels": [
            _null("dob"),
            _level("dob_l = dob_r", "exact match"),
            _level(
                f"{same['y']} AND dob_d_l = dob_m_r AND dob_m_l = dob_d_r",
                "day and month swapped",
            ),
            _level(
                f"({same['y']} AND {same['m']}) OR ({same['y']} AND {same['d']}) "
                f"OR ({same['m']} AND {same['d']})",
                "one of day, month or year differs",
            ),
            _level("abs(dob_y_l - dob_y_r) <= 1", "within a year, day and month differ"),
            _level(_ELSE, "different"),
        ],
    }


def _jaccard(a: str, b: str, backend: Backend) -> str:
    """Shared distinct words over all distinct words of two word lists.

    DuckDB and Spark name the list functions differently, so each backend
    has its own text for the same number. On Spark, ``size(NULL)`` is -1
    under its legacy setting, so a missing list is tested for explicitly;
    prep never produces an empty list (it is null instead), so the division
    is never by zero.
    """
    if backend == "spark":
        return (
            f"(CASE WHEN {a} IS NULL OR {b} IS NULL THEN CAST(NULL AS DOUBLE) ELSE "
            f"CAST(size(array_intersect({a}, {b})) AS DOUBLE) / size(array_distinct(concat({a}, {b}))) END)"
        )
    return f"(len(list_intersect({a}, {b}))::DOUBLE / len(list_distinct(list_concat({a}, {b}))))"


#: The same street, and a house number on at most one side (a caller's
#: "Acacia Road" against "12 Acacia Road"). Two different house numbers on
#: one street are neighbours, not a missing number.
_SAME_STREET = "street_std_l = street_std_r AND (addr_numbers_l IS NULL OR addr_numbers_r IS NULL)"


def address_comparison(else_m_probability: float | None, backend: Backend = "duckdb") -> dict[str, Any]:
    """One comparison for all address evidence, strongest first.

    ``else_m_probability`` fixes the share of one person's record pairs whose
    addresses differ. EM trained on name and date-of-birth blocks learns it
    circularly (pairs at different addresses look like non-matches, so it
    concludes matches rarely differ) and then misses everyone who moved.
    """
    different = (
        _level(_ELSE, "different")
        if else_m_probability is None
        else _level(_ELSE, "different", m_probability=else_m_probability, fix_m_probability=True)
    )
    same_words = (
        "(addr_numbers_l = addr_numbers_r OR (addr_numbers_l IS NULL AND addr_numbers_r IS NULL)) "
        f"AND {_jaccard('addr_tokens_l', 'addr_tokens_r', backend)} >= 0.5"
    )
    comparable = " OR ".join(
        f"({c}_l IS NOT NULL AND {c}_r IS NOT NULL)" for c in ("uprn_std", "postcode_std", "addr_tokens")
    )
    return {
        "output_column_name": "address",
        "comparison_description": DESCRIPTIONS["address"],
        "comparison_levels": [
            {"sql_condition": f"NOT ({comparable})", "label_for_charts": "missing", "is_null_level": True},
            _level("uprn_std_l = uprn_std_r", "same UPRN"),
            _level(f"postcode_std_l = postcode_std_r AND {same_words}", "same postcode and address"),
            _level(
                f"addr_numbers_l = addr_numbers_r AND {_jaccard('addr_tokens_l', 'addr_tokens_r', backend)} >= 0.6",
                "same address, postcode differs or missing",
            ),
            _level(
                f"postcode_std_l = postcode_std_r AND {_SAME_STREET}",
                "same postcode and street, house number missing",
            ),
            _level(
                "postcode_std_l = postcode_std_r AND (addr_tokens_l IS NULL OR addr_tokens_r IS NULL)",
                "same postcode, no address line to compare",
            ),
            _level(
                f"(postcode_std_l IS NULL OR postcode_std_r IS NULL) AND {_SAME_STREET}",
                "same street, house number and postcode missing",
            ),
            _level("postcode_std_l = postcode_std_r", "same postcode, different address"),
            _level("postcode_sector_l = postcode_sector_r", "same postcode sector"),
            _level("postcode_district_l = postcode_district_r", "same postcode district"),
            different,
        ],
    }


#: The names of two records agree as far as both go: the same surname (or a
#: typo of it: one letter wrong, missing or swapped, or as similar as the
#: surname comparison's "similar" level) and no conflicting first initial; or
#: the same first name, written out on both (in full, a nickname of it, or a
#: typo of it), whatever the surname (missing, misspelt or changed on
#: marriage). "J Okafor" and "Joy Okafor" agree; "Joy" and "Joy Okafor"
#: agree; a record with no name agrees with nobody.
NAMES_AGREE = (
    "(coalesce(last_name_std_l = last_name_std_r"
    " OR damerau_levenshtein(last_name_std_l, last_name_std_r) <= 1"
    " OR jaro_winkler_similarity(last_name_std_l, last_name_std_r) >= 0.80, false)"
    " AND (first_initial_l IS NULL OR first_initial_r IS NULL OR first_initial_l = first_initial_r"
    " OR coalesce(first_name_canon_l = first_name_canon_r, false)))"
    " OR (length(first_name_std_l) > 1 AND length(first_name_std_r) > 1"
    " AND coalesce(first_name_std_l = first_name_std_r OR first_name_canon_l = first_name_canon_r"
    " OR damerau_levenshtein(first_name_std_l, first_name_std_r) <= 1"
    " OR jaro_winkler_similarity(first_name_std_l, first_name_std_r) >= 0.92, false))"
)


def contact_comparison(column: str, name: str) -> dict[str, Any]:
    """Exact phone or e-mail agreement, split by whether the names agree.

    Both exact levels are term-frequency adjusted on ``column`` with their
    own u (``disable_tf_exact_match_detection``), so a level's weight for a
    value is log2(m / tf): the split by names changes m (how often one
    person's records agree on the value with agreeing names, or without),
    and tf is the trained u of agreeing names times the number of different
    people who hold the value
    (:func:`features.linkage.contacts.contact_frequencies`).

    Because its levels read the name columns, Splink leaves this comparison
    out of EM on the name block; its m probabilities are learned on the
    date-of-birth block, where names do not decide which pairs are compared.
    """
    tf = {
        "tf_adjustment_column": column,
        "tf_adjustment_weight": 1.0,
        "disable_tf_exact_match_detection": True,
    }
    return {
        "output_column_name": name,
        "comparison_description": DESCRIPTIONS[name],
        "comparison_levels": [
            _null(column),
            _level(f"{column}_l = {column}_r AND ({NAMES_AGREE})", EXACT_NAMES_AGREE, **tf),
            _level(f"{column}_l = {column}_r", "exact match, names differ or missing", **tf),
            _level(_ELSE, "different"),
        ],
    }


def _identifier_comparison(column: str, name: str, typo_level: bool) -> dict[str, Any]:
    levels = [_null(column), _level(f"{column}_l = {column}_r", "exact match")]
    if typo_level:
        levels.append(_level(f"damerau_levenshtein({column}_l, {column}_r) <= 1", "one character different"))
    levels.append(_level(_ELSE, "different"))
    return {
        "output_column_name": name,
        "comparison_description": DESCRIPTIONS[name],
        "comparison_levels": levels,
    }


def comparisons(
    settings: LinkageSettings, backend: Backend = "duckdb", initial_only_m: float | None = None
) -> list[dict[str, Any]]:
    """All comparisons, in the order the evidence lists them when weights tie.

    ``backend`` chooses the SQL the levels are written in; the levels and
    their labels are the same for both. ``initial_only_m`` fixes the m of
    "first name: initial only, agrees" (:func:`initial_only_m_probability`);
    None leaves it to EM.
    """
    built = [
        first_name_comparison(settings.first_name_else_m_probability, initial_only_m),
        last_name_comparison(),
        dob_comparison(),
        address_comparison(settings.address_else_m_probability, backend),
        _identifier_comparison("ni_std", "ni_number", typo_level=True),
        _identifier_comparison("nhs_std", "nhs_number", typo_level=True),
        contact_comparison("email_std", "email"),
        contact_comparison("phone_std", "phone"),
    ]
    if backend == "duckdb":
        return built
    return [
        {
            **comparison,
            "comparison_levels": [
                {**level, "sql_condition": to_spark_sql(level["sql_condition"])}
                for level in comparison["comparison_levels"]
            ],
        }
        for comparison in built
    ]


def blocking_rule(spec: BlockingRuleSpec, backend: Backend = "duckdb") -> Any:
    """A Splink blocking rule from a settings entry (column list or SQL).

    SQL rules are written for DuckDB (``linkage.yaml``); on Spark, DuckDB's
    similarity functions are renamed to their Spark SQL twins.
    """
    if isinstance(spec, str):
        return {"blocking_rule": to_spark_sql(spec) if backend == "spark" else spec}
    return block_on(*spec)


def splink_settings(
    settings: LinkageSettings,
    backend: Backend = "duckdb",
    trained_model: dict[str, Any] | None = None,
    initial_only_m: float | None = None,
) -> SettingsCreator:
    """The model for one night: untrained, or carrying an earlier night's probabilities.

    With ``trained_model`` (a model JSON dictionary that
    :func:`features.linkage.splink_runner.score_pairs` saved), the comparisons are
    still tonight's own, in ``backend``'s SQL, and only the trained m and u
    probabilities and the prior are taken over
    (:func:`features.linkage.trained.with_trained_probabilities`).

    Splink keeps comparison levels (``gamma_*``) only alongside the matching
    columns, so those are retained; :mod:`features.linkage.splink_runner` selects
    just ids, levels and weights out of the engine, so no names or dates
    leave it.
    """
    levels = comparisons(settings, backend, initial_only_m)
    prior: dict[str, Any] = {}
    if trained_model is not None:
        levels = with_trained_probabilities(levels, trained_model)
        prior["probability_two_random_records_match"] = trained_model["probability_two_random_records_match"]
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=levels,  # type: ignore[arg-type]
        blocking_rules_to_generate_predictions=[blocking_rule(s, backend) for s in settings.blocking_rules],
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
        max_iterations=25,
        em_convergence=0.0001,
        **prior,
    )
