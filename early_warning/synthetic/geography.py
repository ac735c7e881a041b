"""The fictional borough's address list (the gazetteer, an LLPG stand-in).

Why it is built rather than taken from Faker: Faker's streets and postcodes
are random per call, so the same address would get different postcodes and
no two addresses would share one. Here every street is cut into postcode
units of roughly a dozen to twenty addresses, each with one fictional
postcode (area ``KM``, which does not exist), so that the same address always
carries the same postcode and neighbours share it, as in real data. A block
of flats shares its street number and postcode: "Flat 3, 12 Acacia Road".

Wards are grouped into the localities named in ``localities.yaml``, because
the review queue is split by locality and the product must find every one.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from early_warning.synthetic.vocab import (
    BOROUGH_TOWN,
    POSTCODE_AREA,
    STREET_TYPES,
    STREET_WORDS,
    WARD_NAMES,
)

DEFAULT_LOCALITIES = ("Northgate", "Riverside", "Eastfield", "Southmoor", "Westbrook")
_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # letters used in real inward codes
#: council-tax band ratios to band D (England), and a Band D bill.
_BAND_RATIO = np.array([6, 7, 8, 9, 11, 13, 15, 18], dtype=np.float64) / 9.0
_BAND_D_BILL = 2_100.0


def ward_count(residents: int) -> int:
    """15 wards for a small borough, up to 20 for a large one."""
    return int(min(20, 15 + residents // 100_000))


def build_gazetteer(
    rng: np.random.Generator, n_addresses: int, n_wards: int, localities: tuple[str, ...]
) -> pl.DataFrame:
    """Every address of the borough, one row each, in street order.

    Returns columns ``uprn, address, postcode, ward, locality`` (the
    contract's gazetteer) plus what the rest of the generator needs:
    ``street, number, flat, is_flat, council_owned, ct_bill, rent``.
    ``ct_bill`` is the yearly council-tax bill of the property's band and
    ``rent`` the monthly council rent (used only if the council owns it).
    """
    localities = localities or DEFAULT_LOCALITIES
    wards = [str(w) for w in rng.choice(np.array(WARD_NAMES), size=n_wards, replace=False)]
    ward_locality = {w: localities[i % len(localities)] for i, w in enumerate(wards)}
    street_names = _street_names(rng, max(8, n_addresses // 28))

    cols: dict[str, list] = {k: [] for k in ("street", "number", "flat", "ward", "postcode", "council")}
    used_units: set[str] = set()
    pc = ""
    pc_left = 0
    street_i = 0
    while len(cols["street"]) < n_addresses:
        street = street_names[street_i % len(street_names)]
        ward_i = street_i % n_wards if street_i < n_wards else int(rng.integers(n_wards))
        street_i += 1
        n_buildings = int(rng.integers(6, 45))
        district = ward_i + 1
        pc_left = 0
        for number in range(1, n_buildings + 1):
            block = rng.random() < 0.07
            flats = int(rng.integers(4, 21)) if block else 0
            council = rng.random() < (0.40 if block else 0.045)
            if pc_left <= 0 or (block and flats > 8):
                pc = _new_postcode(rng, district, used_units)
                pc_left = int(rng.integers(10, 22))
            for flat in range(1, flats + 1) if block else (0,):
                cols["street"].append(street)
                cols["number"].append(number)
                cols["flat"].append(flat)
                cols["ward"].append(wards[ward_i])
                cols["postcode"].append(pc)
                cols["council"].append(council)
                pc_left -= 1
            if block:
                pc_left = 0
    n = len(cols["street"])
    flat_arr = np.array(cols["flat"], dtype=np.int32)
    is_flat = flat_arr > 0
    band = np.where(is_flat, rng.integers(0, 3, n), np.clip(rng.poisson(2.2, n) + 1, 1, 7))
    bill = np.round(_BAND_D_BILL * _BAND_RATIO[band], 2)
    rent = np.round(np.where(is_flat, 430.0, 520.0) + rng.integers(0, 25, n) * 6.0, 2)
    uprn = 100_020_000_000 + np.cumsum(rng.integers(1, 40, n, dtype=np.int64))
    frame = pl.DataFrame(
        {
            "uprn": uprn.astype(str),
            "street": cols["street"],
            "number": np.array(cols["number"], dtype=np.int32),
            "flat": flat_arr,
            "ward": cols["ward"],
            "postcode": cols["postcode"],
            "council_owned": np.array(cols["council"], dtype=bool),
            "ct_bill": bill,
            "rent": rent,
        }
    )
    return frame.with_columns(
        is_flat=pl.col("flat") > 0,
        locality=pl.col("ward").replace_strict(ward_locality, return_dtype=pl.String),
        address=pl.when(pl.col("flat") > 0)
        .then(pl.format("Flat {}, {} {}, {}", "flat", "number", "street", pl.lit(BOROUGH_TOWN)))
        .otherwise(pl.format("{} {}, {}", "number", "street", pl.lit(BOROUGH_TOWN))),
    )


def gazetteer_extract(addresses: pl.DataFrame) -> pl.DataFrame:
    """The contract's ``gazetteer.csv`` columns, in UPRN order."""
    return addresses.select("uprn", "address", "postcode", "ward", "locality")


def _street_names(rng: np.random.Generator, count: int) -> list[str]:
    """Distinct street names while they last; a big borough repeats a few
    names in different wards, as real boroughs do."""
    combos = [f"{w} {t}" for w in STREET_WORDS for t in STREET_TYPES]
    order = rng.permutation(len(combos))
    names = [combos[i] for i in order[: min(count, len(combos))]]
    while len(names) < count:
        names.append(combos[int(rng.integers(len(combos)))])
    return names


def _new_postcode(rng: np.random.Generator, district: int, used: set[str]) -> str:
    while True:
        sector = int(rng.integers(0, 10))
        unit = _UNIT_LETTERS[int(rng.integers(20))] + _UNIT_LETTERS[int(rng.integers(20))]
        code = f"{POSTCODE_AREA}{district} {sector}{unit}"
        if code not in used:
            used.add(code)
            return code
