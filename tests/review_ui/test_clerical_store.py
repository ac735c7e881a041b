"""Clerical review storage: the night's sample, labels with their audit, retention, and the
night's read-only look back (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from features.linkage.clerical import LABELS, estimate_accuracy
from review_ui.store import AuditEntry, Role, write_transaction
from review_ui.store.clerical import (
    CLERICAL_LABELS,
    ClericalLabel,
    ClericalPair,
    clerical_nights,
    delete_expired_clerical_values,
    latest_labels,
    next_unlabelled_pair,
    night_labels,
    pooled_labels,
    read_latest_clerical_labels,
    record_clerical_label,
)
from tests.support.clerical import store_sample

from .conftest import MakeUser

NIGHT = date(2026, 6, 30)


def _actions(session: Session) -> list[str]:
    session.expire_all()
    return [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_the_stored_words_are_the_estimators(session: Session) -> None:
    assert CLERICAL_LABELS == LABELS


def test_a_night_stores_its_sample_once_with_strata_and_an_audit_entry(session: Session) -> None:
    assert store_sample(session, NIGHT) == 4
    assert store_sample(session, NIGHT) == 0  # running the night again keeps the sample (and its labels)
    pairs = list(session.scalars(select(ClericalPair).order_by(ClericalPair.id)))
    assert len(pairs) == 4
    assert {p.record_l["first_name"] for p in pairs} == {"Amara", "Joy", "Lee"}
    assert pairs[0].record_r["source"] == "housing_rent"
    assert _actions(session) == ["clerical_sample_written"]
    entry = session.scalars(select(AuditEntry)).one()
    assert entry.detail == {"as_of": "2026-06-30", "pairs": 4, "population": 4}
    assert clerical_nights(session=session)[0].sampled == 4


def test_labels_are_stored_audited_and_can_be_changed(session: Session, make_user: MakeUser) -> None:
    ann = make_user("ann", role=Role.ANALYST, locality=None)
    store_sample(session, NIGHT)
    first = next_unlabelled_pair(session=session, night=NIGHT)
    assert first is not None
    record_clerical_label(session=session, pair_id=first.id, label="different", user=ann, source="127.0.0.1")
    record_clerical_label(session=session, pair_id=first.id, label="same", user=ann, source="127.0.0.1")
    assert latest_labels(session=session, night=NIGHT) == {first.id: "same"}
    second = next_unlabelled_pair(session=session, night=NIGHT)
    assert second is not None
    assert second.id != first.id
    assert [r.label for r in session.scalars(select(ClericalLabel).order_by(ClericalLabel.id))] == [
        "different",
        "same",
    ]
    entries = list(
        session.scalars(select(AuditEntry).where(AuditEntry.actor == "ann").order_by(AuditEntry.id))
    )
    assert [e.action for e in entries] == ["clerical_label_recorded", "clerical_label_changed"]
    assert entries[1].detail == {
        "pair_id": first.id,
        "night": "2026-06-30",
        "label": "same",
        "before": "different",
    }
    assert clerical_nights(session=session)[0].labelled == 1
    with pytest.raises(ValueError, match="label must be one of"):
        record_clerical_label(session=session, pair_id=first.id, label="maybe", user=ann, source=None)
    with pytest.raises(LookupError):
        record_clerical_label(session=session, pair_id=999_999, label="same", user=ann, source=None)


def test_the_night_reads_the_latest_labelled_nights_labels_read_only(
    session: Session, engine: Engine, database_url: str, make_user: MakeUser
) -> None:
    ann = make_user("ann", role=Role.ANALYST, locality=None)
    assert read_latest_clerical_labels(database_url) is None
    store_sample(session, NIGHT)
    store_sample(session, NIGHT + timedelta(days=1))
    assert read_latest_clerical_labels(database_url) is None  # sampled but nobody has labelled
    for pair in session.scalars(select(ClericalPair).where(ClericalPair.night == NIGHT)).all():
        label = "same" if pair.called else "different"
        record_clerical_label(session=session, pair_id=pair.id, label=label, user=ann, source=None)
    found = read_latest_clerical_labels(database_url)
    assert found is not None
    night, labels, strata = found
    assert night == NIGHT
    assert sorted(labels["label"].to_list()) == ["different", "different", "same", "same"]
    assert strata["population"].sum() == 4
    estimate = estimate_accuracy(labels, strata)
    assert estimate.overall.precision.estimate == 1.0
    assert estimate.overall.recall.estimate == 1.0
    assert night_labels(session=session, night=NIGHT)[0].height == 4


def test_retention_blanks_old_record_values_but_keeps_strata_and_labels(
    session: Session, make_user: MakeUser
) -> None:
    ann = make_user("ann", role=Role.ANALYST, locality=None)
    store_sample(session, NIGHT)
    pair = next_unlabelled_pair(session=session, night=NIGHT)
    assert pair is not None
    record_clerical_label(session=session, pair_id=pair.id, label="same", user=ann, source=None)
    with write_transaction(session):
        assert (
            delete_expired_clerical_values(
                session=session, as_of=NIGHT + timedelta(days=30), retention_days=365
            )
            == 0
        )
    with write_transaction(session):
        blanked = delete_expired_clerical_values(
            session=session, as_of=NIGHT + timedelta(days=400), retention_days=365
        )
    assert blanked == 4
    session.expire_all()
    assert all(p.record_l == {} and p.record_r == {} for p in session.scalars(select(ClericalPair)))
    assert next_unlabelled_pair(session=session, night=NIGHT) is None
    labels, strata = night_labels(session=session, night=NIGHT)
    assert labels.height == 1
    assert strata.height == 4


def test_training_reads_only_pairs_whose_latest_label_is_same_person(
    session: Session, database_url: str, make_user: MakeUser
) -> None:
    from review_ui.store.clerical import read_same_person_records

    ann = make_user("ann", role=Role.ANALYST, locality=None)
    assert read_same_person_records(database_url) is None
    store_sample(session, NIGHT)
    pairs = list(session.scalars(select(ClericalPair).order_by(ClericalPair.id)))
    record_clerical_label(session=session, pair_id=pairs[0].id, label="same", user=ann, source=None)
    record_clerical_label(session=session, pair_id=pairs[1].id, label="same", user=ann, source=None)
    record_clerical_label(session=session, pair_id=pairs[1].id, label="cant_tell", user=ann, source=None)
    record_clerical_label(session=session, pair_id=pairs[2].id, label="different", user=ann, source=None)
    found = read_same_person_records(database_url)
    assert found is not None
    assert found.rows() == [
        (
            pairs[0].record_l["source"],
            pairs[0].record_l["source_person_id"],
            pairs[0].record_r["source"],
            pairs[0].record_r["source_person_id"],
        )
    ]


def test_pooled_labels_are_each_pairs_latest_label_on_the_nights_asked(
    session: Session, make_user: MakeUser
) -> None:
    ann = make_user("ann", role=Role.ANALYST, locality=None)
    nights = [NIGHT, NIGHT + timedelta(days=1), NIGHT + timedelta(days=2)]
    for night in nights:
        store_sample(session, night)
    for pair in session.scalars(select(ClericalPair).order_by(ClericalPair.id)).all():
        record_clerical_label(session=session, pair_id=pair.id, label="different", user=ann, source=None)
        if pair.night == nights[1]:
            record_clerical_label(session=session, pair_id=pair.id, label="same", user=ann, source=None)
    pooled = pooled_labels(session=session, nights=nights[:2])
    assert pooled.columns == ["band_label", "called", "source_pair", "label"]
    assert pooled.height == 8  # four pairs a night, two nights; the third night is not asked for
    assert sorted(pooled["label"].to_list()) == ["different"] * 4 + ["same"] * 4
    bands = set(night_labels(session=session, night=NIGHT)[1]["band_label"].to_list())
    assert set(pooled["band_label"].to_list()) <= bands
