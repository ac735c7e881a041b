"""Clerical review: the night's sampled record pairs and the data team's labels.

Each night the route stage copies linkage's sample of candidate pairs
(``features.linkage.clerical``) here: the two records' names, date of
birth, address, contact details and source reference, side by side, with
the stratum each pair was drawn from and how many pairs that stratum holds
(so every label can be weighted). The data team labels them "same person",
"not the same" or "can't tell" in the review app; every label is a new row
(a changed mind is a second row, the latest counts) and is written to the
audit log in the same transaction, as is every view of a pair.

Personal data: the pairs' record values are the only personal details here
besides case files, and follow the same retention rule
(:func:`delete_expired_clerical_values`): after ``case_file_retention_days``
the values are blanked, while the strata and labels (no personal data) stay,
so a night's estimate can still be read.

The nightly run reads labels back with :func:`read_latest_clerical_labels`
only, on a read-only connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    func,
    inspect,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from review_ui.store.audit import NIGHTLY_ACTOR, AuditAction, append_audit
from review_ui.store.engine import write_transaction
from review_ui.store.tables import Base, User, utc_now
from review_ui.store.training_outcomes import queue_exists, read_only_engine

#: The stored label words (the same as ``features.linkage.clerical.LABELS``; a test keeps them equal).
CLERICAL_LABELS: tuple[str, ...] = ("same", "different", "cant_tell")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ClericalStratum(Base):
    """How many candidate pairs one stratum (band x called) held for one source pair on one night."""

    __tablename__ = "clerical_strata"

    night: Mapped[date] = mapped_column(primary_key=True)
    band: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    called: Mapped[bool] = mapped_column(primary_key=True)
    source_pair: Mapped[str] = mapped_column(String(200), primary_key=True)
    band_label: Mapped[str] = mapped_column(String(40))
    population: Mapped[int]


class ClericalPair(Base):
    """One sampled pair of records: the two records' values, and the stratum it stands for."""

    __tablename__ = "clerical_pairs"
    __table_args__ = (
        UniqueConstraint("night", "unique_id_l", "unique_id_r"),
        Index("ix_clerical_pairs_night_band", "night", "band", "called"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    night: Mapped[date]
    #: The records' positions in that night's linkage (a night's own numbering).
    unique_id_l: Mapped[int]
    unique_id_r: Mapped[int]
    band: Mapped[int]
    band_label: Mapped[str] = mapped_column(String(40))
    called: Mapped[bool]
    stratum_population: Mapped[int]
    source_pair: Mapped[str] = mapped_column(String(200))
    record_l: Mapped[dict[str, Any]] = mapped_column(JSON)
    record_r: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    #: When the retention rule blanked the two records' values (None: still held).
    values_deleted_at: Mapped[datetime | None]


class ClericalLabel(Base):
    """One answer about one pair. A pair's latest answer is the one that counts."""

    __tablename__ = "clerical_labels"
    __table_args__ = (CheckConstraint(_in("label", CLERICAL_LABELS), name="label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("clerical_pairs.id"), index=True)
    label: Mapped[str] = mapped_column(String(16))
    labelled_by: Mapped[str] = mapped_column(String(64))
    labelled_at: Mapped[datetime] = mapped_column(default=utc_now)


# --- The night's writes (route stage, in routing's transaction) --------------------------


def write_clerical_sample(*, session: Session, night: date, pairs: pl.DataFrame, strata: pl.DataFrame) -> int:
    """Store the night's sample and strata in the caller's transaction; audited (counts only).

    A night already stored is left as it is (running a night again draws the
    same pairs, and its labels must survive). Returns how many pairs were added.
    """
    if session.scalar(select(func.count()).select_from(ClericalPair).where(ClericalPair.night == night)):
        return 0
    session.add_all(
        ClericalStratum(
            night=night,
            band=int(row["band"]),
            called=bool(row["called"]),
            source_pair=str(row["source_pair"]),
            band_label=str(row["band_label"]),
            population=int(row["population"]),
        )
        for row in strata.iter_rows(named=True)
    )
    session.add_all(
        ClericalPair(
            night=night,
            unique_id_l=int(row["unique_id_l"]),
            unique_id_r=int(row["unique_id_r"]),
            band=int(row["band"]),
            band_label=str(row["band_label"]),
            called=bool(row["called"]),
            stratum_population=int(row["stratum_population"]),
            source_pair=str(row["source_pair"]),
            record_l=dict(row["record_l"]),
            record_r=dict(row["record_r"]),
        )
        for row in pairs.iter_rows(named=True)
    )
    append_audit(
        session=session,
        actor=NIGHTLY_ACTOR,
        action=AuditAction.CLERICAL_SAMPLE_WRITTEN,
        detail={
            "as_of": night.isoformat(),
            "pairs": pairs.height,
            "population": int(strata["population"].sum()) if strata.height else 0,
        },
    )
    return pairs.height


def delete_expired_clerical_values(*, session: Session, as_of: date, retention_days: int) -> int:
    """Blank the record values of pairs sampled over ``retention_days`` ago (the case files' rule).

    Strata and labels stay, so the night's estimate can still be read. Runs in
    the caller's transaction; returns how many pairs were blanked.
    """
    expired = (
        update(ClericalPair)
        .where(
            ClericalPair.night < as_of - timedelta(days=retention_days),
            ClericalPair.values_deleted_at.is_(None),
        )
        .values(record_l={}, record_r={}, values_deleted_at=utc_now())
    )
    return session.execute(expired).rowcount or 0  # type: ignore[attr-defined]


# --- The data team's reads and writes (web app) -----------------------------------------


@dataclass(frozen=True)
class ClericalNight:
    night: date
    sampled: int
    labelled: int


def clerical_nights(*, session: Session) -> list[ClericalNight]:
    """Every night with a sample, newest first, with how many pairs are labelled."""
    labelled = (
        select(ClericalPair.night, func.count(func.distinct(ClericalLabel.pair_id)).label("labelled"))
        .join(ClericalLabel, ClericalLabel.pair_id == ClericalPair.id)
        .group_by(ClericalPair.night)
        .subquery()
    )
    rows = session.execute(
        select(ClericalPair.night, func.count(ClericalPair.id), func.coalesce(labelled.c.labelled, 0))
        .outerjoin(labelled, labelled.c.night == ClericalPair.night)
        .group_by(ClericalPair.night, labelled.c.labelled)
        .order_by(ClericalPair.night.desc())
    ).all()
    return [ClericalNight(night=r[0], sampled=int(r[1]), labelled=int(r[2])) for r in rows]


def _latest_label_ids() -> Any:
    return select(func.max(ClericalLabel.id)).group_by(ClericalLabel.pair_id)


def latest_labels(*, session: Session, night: date) -> dict[int, str]:
    """Each labelled pair's latest label on ``night``: ``{pair_id: label}``."""
    rows = session.execute(
        select(ClericalLabel.pair_id, ClericalLabel.label)
        .join(ClericalPair, ClericalPair.id == ClericalLabel.pair_id)
        .where(ClericalPair.night == night, ClericalLabel.id.in_(_latest_label_ids()))
    ).all()
    return {int(r[0]): str(r[1]) for r in rows}


def next_unlabelled_pair(*, session: Session, night: date) -> ClericalPair | None:
    """The night's next pair with no label yet that still has its values.

    Pairs are stored band by band, so they are shown in a fixed shuffle of their
    ids instead: the order must not hint at how strongly linkage scored them.
    """
    labelled = select(ClericalLabel.pair_id)
    return session.scalar(
        select(ClericalPair)
        .where(
            ClericalPair.night == night,
            ClericalPair.values_deleted_at.is_(None),
            ClericalPair.id.not_in(labelled),
        )
        .order_by((ClericalPair.id * 7919) % 10007, ClericalPair.id)
        .limit(1)
    )


def get_clerical_pair(*, session: Session, pair_id: int) -> ClericalPair | None:
    return session.get(ClericalPair, pair_id)


def record_clerical_label(
    *, session: Session, pair_id: int, label: str, user: User, source: str | None
) -> ClericalLabel:
    """Add ``user``'s label for the pair, and audit it (with the label it replaced), in one transaction.

    Raises:
        ValueError: ``label`` is not one of :data:`CLERICAL_LABELS`.
        LookupError: no such pair.
    """
    if label not in CLERICAL_LABELS:
        raise ValueError(f"label must be one of {CLERICAL_LABELS}")
    with write_transaction(session):
        pair = session.get(ClericalPair, pair_id)
        if pair is None:
            raise LookupError(pair_id)
        before = session.scalar(
            select(ClericalLabel.label)
            .where(ClericalLabel.pair_id == pair_id)
            .order_by(ClericalLabel.id.desc())
        )
        row = ClericalLabel(pair_id=pair_id, label=label, labelled_by=user.username, labelled_at=utc_now())
        session.add(row)
        append_audit(
            session=session,
            actor=user.username,
            action=AuditAction.CLERICAL_LABEL_CHANGED if before else AuditAction.CLERICAL_LABEL_RECORDED,
            detail={"pair_id": pair_id, "night": pair.night.isoformat(), "label": label, "before": before},
            source=source,
        )
    return row


def audit_pair_viewed(*, session: Session, pair: ClericalPair, user: User, source: str | None) -> None:
    """Write that ``user`` saw the pair's records (every view of personal details is audited)."""
    with write_transaction(session):
        append_audit(
            session=session,
            actor=user.username,
            action=AuditAction.CLERICAL_PAIR_VIEWED,
            detail={"pair_id": pair.id, "night": pair.night.isoformat()},
            source=source,
        )


#: Labelled pairs as ``features.linkage.clerical.estimate_accuracy`` takes them.
LABELLED_COLUMNS: dict[str, pl.DataType] = {
    "band": pl.Int32(),
    "called": pl.Boolean(),
    "source_pair": pl.String(),
    "label": pl.String(),
}
#: Strata as ``features.linkage.clerical.estimate_accuracy`` takes them.
STRATA_COLUMNS: dict[str, pl.DataType] = {
    "band": pl.Int32(),
    "band_label": pl.String(),
    "called": pl.Boolean(),
    "source_pair": pl.String(),
    "population": pl.Int64(),
}


def night_labels(*, session: Session, night: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The night's latest labels (``LABELLED_COLUMNS``) and strata (``STRATA_COLUMNS``): no record values."""
    labels = session.execute(
        select(ClericalPair.band, ClericalPair.called, ClericalPair.source_pair, ClericalLabel.label)
        .join(ClericalLabel, ClericalLabel.pair_id == ClericalPair.id)
        .where(ClericalPair.night == night, ClericalLabel.id.in_(_latest_label_ids()))
        .order_by(ClericalPair.id)
    ).all()
    strata = session.execute(
        select(
            ClericalStratum.band,
            ClericalStratum.band_label,
            ClericalStratum.called,
            ClericalStratum.source_pair,
            ClericalStratum.population,
        )
        .where(ClericalStratum.night == night)
        .order_by(ClericalStratum.band, ClericalStratum.called, ClericalStratum.source_pair)
    ).all()
    return (
        pl.DataFrame([tuple(r) for r in labels], schema=LABELLED_COLUMNS, orient="row"),
        pl.DataFrame([tuple(r) for r in strata], schema=STRATA_COLUMNS, orient="row"),
    )


#: Labelled pairs of several nights (``features.linkage.clerical.POOLED_SCHEMA``).
POOLED_COLUMNS: dict[str, pl.DataType] = {
    "band_label": pl.String(),
    "called": pl.Boolean(),
    "source_pair": pl.String(),
    "label": pl.String(),
}


def pooled_labels(*, session: Session, nights: Sequence[date]) -> pl.DataFrame:
    """The latest label of every labelled pair sampled on any of ``nights`` (``POOLED_COLUMNS``)."""
    rows = session.execute(
        select(ClericalPair.band_label, ClericalPair.called, ClericalPair.source_pair, ClericalLabel.label)
        .join(ClericalLabel, ClericalLabel.pair_id == ClericalPair.id)
        .where(ClericalPair.night.in_(list(nights)), ClericalLabel.id.in_(_latest_label_ids()))
        .order_by(ClericalPair.id)
    ).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=POOLED_COLUMNS, orient="row")


def read_latest_clerical_labels(url: str) -> tuple[date, pl.DataFrame, pl.DataFrame] | None:
    """For the night: the latest night with any label, its labels and strata; None when none.

    Opens the queue read-only (as :mod:`review_ui.store.training_outcomes`
    does) and reads no record values and no names of who labelled.
    """
    if not queue_exists(url):
        return None
    engine = read_only_engine(url)
    try:
        with Session(engine) as session:
            night = session.scalar(
                select(func.max(ClericalPair.night)).join(
                    ClericalLabel, ClericalLabel.pair_id == ClericalPair.id
                )
            )
            if night is None:
                return None
            labels, strata = night_labels(session=session, night=night)
    finally:
        engine.dispose()
    return night, labels, strata


#: Record pairs labelled "same person" (``features.linkage.clerical.SAME_PERSON_SCHEMA``).
SAME_PERSON_COLUMNS: dict[str, pl.DataType] = {
    "source_l": pl.String(),
    "source_person_id_l": pl.String(),
    "source_r": pl.String(),
    "source_person_id_r": pl.String(),
}


def read_same_person_records(url: str) -> pl.DataFrame | None:
    """For training m: every pair whose latest label is "same person", named by source and
    source reference (read-only; no other record value). None when there are none, or the
    queue does not exist or predates clerical review."""
    if not queue_exists(url):
        return None
    engine = read_only_engine(url)
    try:
        if not inspect(engine).has_table(ClericalLabel.__tablename__):
            return None
        with Session(engine) as session:
            rows = session.execute(
                select(ClericalPair.record_l, ClericalPair.record_r)
                .join(ClericalLabel, ClericalLabel.pair_id == ClericalPair.id)
                .where(
                    ClericalLabel.id.in_(_latest_label_ids()),
                    ClericalLabel.label == "same",
                    ClericalPair.values_deleted_at.is_(None),
                )
                .order_by(ClericalPair.id)
            ).all()
    finally:
        engine.dispose()
    found = [
        (left.get("source"), left.get("source_person_id"), right.get("source"), right.get("source_person_id"))
        for left, right in rows
    ]
    return pl.DataFrame(found, schema=SAME_PERSON_COLUMNS, orient="row") if found else None
