"""Blocking rules: every rule hash-joins, and a name typo is blocked through the address line."""

from __future__ import annotations

import re

import polars as pl

from features.linkage import count_blocked_comparisons, load_linkage_settings
from features.linkage.prep import prepare_people
from features.schema import PEOPLE_SCHEMA

_EQUALITY = re.compile(r"\bl\.\w+ = r\.\w+")


def _people(*rows: dict[str, object]) -> pl.DataFrame:
    full = [
        dict.fromkeys(PEOPLE_SCHEMA) | {"source": "s", "source_person_id": str(i)} | row
        for i, row in enumerate(rows)
    ]
    return pl.DataFrame(full, schema=PEOPLE_SCHEMA)


def test_every_sql_blocking_rule_joins_on_an_equality() -> None:
    # A rule that joins only on a function of two columns (a similarity)
    # makes DuckDB compare every pair of records: similarity functions may
    # only filter what equal columns have joined.
    for rule in load_linkage_settings().blocking_rules:
        if isinstance(rule, str):
            assert _EQUALITY.search(rule), rule


def test_a_name_typo_is_blocked_through_the_same_address_numbers_only() -> None:
    people = _people(
        {"first_name": "Abigail", "last_name": "Jones", "address": "12 High St", "postcode": "KM5 8PS"},
        # contact centre: typo in the first name, same address, no postcode
        {"first_name": "Abigaul", "last_name": "Jones", "address": "12 High Street"},
        # a similar name at another address: not compared with either
        {"first_name": "Abigale", "last_name": "Jones", "address": "7 Low Road"},
        # surname typo, same first name and address numbers
        {"first_name": "Abigail", "last_name": "Jnoes", "address": "Flat 12, High Street"},
    )
    counts = count_blocked_comparisons(prepare_people(people), load_linkage_settings())
    # Compared: (0, 1) and (0, 3), one name exact and the other within a typo
    # at the same house number. Not (1, 3): neither name is exact.
    assert counts["cumulative_comparisons"][-1] == 2


def test_a_surname_or_first_name_with_the_street_alone_is_compared_on_that_street_only() -> None:
    people = _people(
        {
            "first_name": "Abigail",
            "last_name": "Jones",
            "address": "Flat 2, 12 High St",
            "postcode": "KM5 8PS",
        },
        # contact centre: an initial, the surname and the street, no number or postcode
        {"first_name": "A", "last_name": "Jones", "address": "High Street"},
        # contact centre: a first name and the street
        {"first_name": "Abigail", "address": "high st, Kingsmere"},
        # the same surname on another street: compared with neither sparse record
        {"first_name": "Bob", "last_name": "Jones", "address": "7 Low Road", "postcode": "KM1 1AA"},
    )
    counts = count_blocked_comparisons(prepare_people(people), load_linkage_settings())
    # Compared: (0, 1) on surname + street, (0, 2) on first name + street. Bob
    # Jones shares only a surname, with no street, initial or number: compared
    # with nobody.
    assert counts["cumulative_comparisons"][-1] == 2
