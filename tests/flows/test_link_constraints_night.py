"""A record marked "not this person" in the queue is kept apart by the NEXT real night.

The first night fills the queue; a caseworker marks one of a surfaced
person's records as not them (through the store, as the person page does);
the next night's whole run (the real command line) reads that from the
queue, keeps the record apart, says why in the lineage, and rebuilds the
person's case file without it.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import polars as pl
from sqlalchemy import select

from features.linkage.constraints import WHY_KEPT_APART
from review_ui.store import CaseFile, ReviewItem, Role, create_user, make_engine, make_session_factory
from review_ui.store.link_constraints import RecordKey, add_not_same_person
from tests.flows.test_nightly_flow import AS_OF, run_night
from tests.support.databases import empty_database

NEXT = (date.fromisoformat(AS_OF) + timedelta(days=1)).isoformat()


def _mark_a_record(url: str) -> tuple[str, RecordKey, list[RecordKey]]:
    """A caseworker says the first record of the first surfaced person with two or more is not them."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as db:
            files = {f.person_id: f.content for f in db.scalars(select(CaseFile))}
            item = next(
                i
                for i in db.scalars(select(ReviewItem).order_by(ReviewItem.id))
                if len(files.get(i.person_id, {}).get("records") or []) >= 2
            )
            keys = [RecordKey(r["source"], r["source_person_id"]) for r in files[item.person_id]["records"]]
            casey = create_user(
                session=db,
                username="casey",
                display_name="Casey",
                role=Role.CASEWORKER,
                locality=item.locality,
                password_hash="$argon2id$v=19$m=65536,t=3,p=4$not-a-real-hash",
            )
            add_not_same_person(
                session=db,
                user=casey,
                person_id=item.person_id,
                record=keys[0],
                other_records=keys[1:],
                reason="Different date of birth",
                item_id=item.id,
            )
            return item.person_id, keys[0], keys[1:]
    finally:
        engine.dispose()


def _person_of(persons: pl.DataFrame, key: RecordKey) -> str:
    row = persons.filter((pl.col("source") == key.source) & (pl.col("source_person_id") == key.record))
    return str(row["person_id"].item())


def test_the_next_night_keeps_a_marked_record_apart_and_rebuilds_the_case_file(
    small_borough: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    with empty_database("sqlite", tmp_path) as url:
        assert run_night(small_borough / "extracts", home, AS_OF, queue=url) == 0
        person_id, marked, others = _mark_a_record(url)
        assert run_night(small_borough / "extracts", home, NEXT, queue=url) == 0

        run = home / "runs" / NEXT
        persons = pl.read_parquet(run / "persons.parquet")
        assert _person_of(persons, marked) != person_id
        assert {_person_of(persons, o) for o in others} == {person_id}  # the id stays with the person
        lineage = pl.read_parquet(run / "lineage.parquet")
        why = dict(lineage.select("person_id", "why").iter_rows())
        assert why[person_id] == WHY_KEPT_APART
        assert why[_person_of(persons, marked)] == WHY_KEPT_APART
        stats = json.loads((run / "linkage_summary.json").read_text())["stats"]
        assert stats["constraints_kept_apart"] == len(others)
        assert stats["constraints_ignored"] == 0

        engine = make_engine(url)
        try:
            with make_session_factory(engine)() as db:
                case_file = db.get(CaseFile, person_id)
                assert case_file is not None
                content = case_file.content
        finally:
            engine.dispose()
        assert content["as_of"] == NEXT
        records = {(r["source"], r["source_person_id"]) for r in content["records"]}
        assert (marked.source, marked.record) not in records
        assert records == {(o.source, o.record) for o in others}
        evidence = json.dumps(content.get("evidence") or [])
        assert marked.record not in evidence
