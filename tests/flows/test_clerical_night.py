"""The night draws a clerical-review sample into the queue, and reports the data team's
estimate once they have labelled it (real nightly runs on the small borough, SQLite queue)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from sqlalchemy import select

from flows.report import NightlyOutcome
from review_ui.store import Role, create_user, make_engine, make_session_factory
from review_ui.store.clerical import ClericalPair, ClericalStratum, record_clerical_label
from tests.flows.test_nightly_flow import AS_OF, run_night


def _summary(home: Path) -> dict[str, object]:
    return json.loads((home / "runs" / AS_OF / "run_summary.json").read_text())


def test_the_night_samples_pairs_for_the_data_team_and_reports_their_estimate(
    small_borough: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    queue = f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    assert run_night(small_borough / "extracts", home, queue=queue) == 0

    engine = make_engine(queue)
    factory = make_session_factory(engine)
    with factory() as db:
        pairs = list(db.scalars(select(ClericalPair)))
        strata = list(db.scalars(select(ClericalStratum)))
    assert len(pairs) > 20
    # Both sides of the decision, several bands, each pair standing for its stratum.
    assert {p.called for p in pairs} == {True, False}
    assert len({p.band for p in pairs}) >= 4
    assert sum(s.population for s in strata) >= len(pairs)
    assert all(p.record_l.get("source_person_id") and p.record_r.get("source") for p in pairs)

    first = _summary(home)
    clerical = first["route"]["clerical"]  # type: ignore[index]
    assert clerical["sampled"] == len(pairs)
    assert clerical["estimate"] is None
    text = NightlyOutcome.from_dict(first).summary()  # type: ignore[arg-type]
    assert "no pair labelled yet, so no estimate" in text

    # The data team labels every pair from the generated truth.
    truth = pl.read_parquet(small_borough / "truth" / "person_records.parquet")
    who = {
        (r[0], r[1]): r[2] for r in truth.select("source", "source_person_id", "true_person_id").iter_rows()
    }
    with factory() as db:
        ann = create_user(
            session=db,
            username="ann",
            display_name="Ann",
            role=Role.ANALYST,
            locality=None,
            password_hash="x",
        )
        for pair in db.scalars(select(ClericalPair)).all():
            left = who[(pair.record_l["source"], pair.record_l["source_person_id"])]
            right = who[(pair.record_r["source"], pair.record_r["source_person_id"])]
            record_clerical_label(
                session=db,
                pair_id=pair.id,
                label="same" if left == right else "different",
                user=ann,
                source=None,
            )
    engine.dispose()

    assert run_night(small_borough / "extracts", home, queue=queue) == 0  # the same night again
    second = _summary(home)
    clerical = second["route"]["clerical"]  # type: ignore[index]
    assert clerical["labelled_night"] == AS_OF
    assert clerical["estimate"]["labelled"] == len(pairs)
    assert 0.8 < clerical["estimate"]["precision"]["estimate"] <= 1.0
    assert 0.5 < clerical["estimate"]["recall"]["estimate"] <= 1.0
    text = NightlyOutcome.from_dict(second).summary()  # type: ignore[arg-type]
    assert f"Linkage, from {len(pairs)} pairs the data team labelled" in text
    assert "precision 0." in text or "precision 1.00" in text
    # Counts and rates only: no record value reaches the run summary.
    names = {p.record_l.get("last_name") for p in pairs} - {None, ""}
    raw = json.dumps(second)
    assert not [n for n in names if f'"{n}"' in raw]

    # With train_m_from_clerical_labels on, tonight's training takes the "same person" labels.
    before = json.loads((home / "runs" / AS_OF / "linkage_model.json").read_text())
    config = tmp_path / "config"
    config.mkdir()
    (config / "linkage.yaml").write_text("train_m_from_clerical_labels: true\n")
    assert run_night(small_borough / "extracts", home, queue=queue, options=("--config", str(config))) == 0
    after = json.loads((home / "runs" / AS_OF / "linkage_model.json").read_text())
    assert _m_values(before) != _m_values(after)


def _m_values(model: dict[str, object]) -> list[object]:
    return [
        level.get("m_probability")
        for comparison in model["comparisons"]  # type: ignore[attr-defined]
        for level in comparison["comparison_levels"]
    ]
