"""A small clerical-review sample for store and web tests, made by the real sampler."""

from __future__ import annotations

from datetime import date

import polars as pl
from sqlalchemy.orm import Session

from features.linkage.clerical import ClericalSample, sample_pairs
from review_ui.store import write_transaction
from review_ui.store.clerical import write_clerical_sample

#: Two records per pair: (first name, last name, dob, postcode) of each side, and the match weight.
PAIRS = [
    (("Amara", "Okafor", "1980-02-01", "NG1 1AA"), ("Amara", "Okafor", "1980-02-01", "NG1 1AA"), 20.0),
    (("Amara", "Okafor", "1980-02-01", "NG1 1AA"), ("Amra", "Okafor", "1980-02-01", None), 12.0),
    (("Joy", "Mensah", "1975-05-05", "NG2 2BB"), ("Jon", "Mensah", "1999-09-09", "NG2 2BB"), 2.0),
    (("Lee", "Chapman", None, "NG3 3CC"), ("Karen", "Chapman", "1960-01-01", "NG3 3CC"), -2.0),
]


def tiny_sample(per_band: int = 10) -> ClericalSample:
    """Four pairs, one per band; the two strongest are called (same cluster)."""
    rows = []
    for n, (left, right, _weight) in enumerate(PAIRS):
        for side, values in ((0, left), (1, right)):
            rows.append(
                {
                    "unique_id": 2 * n + side,
                    "source": "council_tax" if side == 0 else "housing_rent",
                    "source_person_id": f"P{2 * n + side}",
                    "first_name": values[0],
                    "last_name": values[1],
                    "dob": values[2],
                    "postcode": values[3],
                }
            )
    records = pl.DataFrame(rows)
    pairs = pl.DataFrame(
        {
            "unique_id_l": [2 * n for n in range(len(PAIRS))],
            "unique_id_r": [2 * n + 1 for n in range(len(PAIRS))],
            "match_weight": [w for _, _, w in PAIRS],
        }
    )
    clusters = pl.DataFrame(
        {
            "unique_id": list(range(2 * len(PAIRS))),
            "cluster": [0, 0, 2, 2, 4, 5, 6, 7],
        }
    )
    return sample_pairs(
        pairs, clusters, records, threshold=0.9, edges=[-4, 0, 6, 15], per_band=per_band, seed=1
    )


def store_sample(session: Session, night: date, sample: ClericalSample | None = None) -> int:
    sample = sample or tiny_sample()
    with write_transaction(session):
        return write_clerical_sample(session=session, night=night, pairs=sample.pairs, strata=sample.strata)
