"""The pure core of ingest: frames of text in, (accepted, quarantined) frames out.

Each ``check_*`` function takes a source's rows as text with the contract's
column names (any extra columns ride along), applies DATA_CONTRACT.md
section 4, and returns a :class:`Checked`: the accepted rows in the canonical
schema (``features.schema``), the quarantined rows exactly as read, with
every reason that applies, and the optional values blanked in accepted rows
(:mod:`features.ingest.fields`). A row is quarantined only for a *required*
value (an id, an event's date or type, an event date after the run, an
unknown event type, an unknown person, a duplicate id); a bad optional value
costs only that field. No file is touched here.

Duplicates (decided here, applied to people ids, event ids and UPRNs): rows
that share an id but differ in any column are *all* quarantined, because we
cannot know which is right; rows that repeat an earlier row exactly are
quarantined as "exact duplicate of row N" and the first is kept.

Example:
    >>> import polars as pl
    >>> people = pl.DataFrame({"source_person_id": ["P1", ""], "first_name": ["Ann", None],
    ...                        "last_name": ["Lee", None]})
    >>> checked = check_people(people, source="benefits", as_of=date(2026, 1, 1))
    >>> checked.accepted.height, checked.quarantined["reason"].to_list()
    (1, ['source_person_id is blank (a value is required)'])
    >>> people = pl.DataFrame({"source_person_id": ["P1"], "first_name": ["Ann"], "last_name": ["Lee"],
    ...                        "dob": ["4949-10-13"]})
    >>> checked = check_people(people, source="benefits", as_of=date(2026, 1, 1))
    >>> checked.accepted["dob"].to_list(), checked.fields_blanked()
    ([None], {'dob': {'date_after_run': 1}})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from early_warning.config import EVENT_COLUMNS, EVENT_REQUIRED, GAZETTEER_COLUMNS, PEOPLE_COLUMNS, Config
from features.ingest import reasons
from features.ingest.columns import shown
from features.ingest.fields import (
    PEOPLE_PREPARED,
    FieldRule,
    blank_flagged,
    blanked_rows,
    blanked_schema,
    count_blanked,
    event_field_rules,
    flag_columns,
    people_field_rules,
)
from features.ingest.tables import LINE, ROW
from features.ingest.values import (
    ISO_FORMAT,
    blank,
    date_format_counts,
    expected_dates,
    parse_amount,
    parse_date,
)
from features.schema import EVENTS_SCHEMA, GAZETTEER_SCHEMA, PEOPLE_SCHEMA

#: Columns ingest adds to a quarantine file, after the file's own.
QUARANTINE_EXTRA = ("row_number", "line_number", "raw_line", "reason", "reason_codes")


@dataclass(frozen=True)
class Checked:
    """One file's outcome. ``accepted.height + quarantined.height`` is the rows read.

    ``blanked`` lists the optional values nulled in accepted rows (one row per
    value, with the original); it does not change the rows read.
    """

    accepted: pl.DataFrame
    quarantined: pl.DataFrame
    date_formats: dict[str, dict[str, int]]
    blanked: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=blanked_schema(())))

    @property
    def rows_read(self) -> int:
        return self.accepted.height + self.quarantined.height

    def quarantined_by_reason(self) -> dict[str, int]:
        """Rows per reason code; a row with several problems counts under each."""
        if self.quarantined.height == 0:
            return {}
        counts = (
            self.quarantined.select(pl.col("reason_codes").str.split("; ").explode().alias("code"))
            .group_by("code")
            .len()
            .sort("code")
        )
        return {str(code): int(n) for code, n in counts.iter_rows()}

    def fields_blanked(self) -> dict[str, dict[str, int]]:
        """Blanked optional values per field and reason code (counts, never values)."""
        return count_blanked(self.blanked)


@dataclass(frozen=True)
class KnownPeople:
    """What an events file is checked against: its source's people outcome."""

    accepted: pl.Series
    quarantined: pl.Series
    unreadable_lines: int = 0
    file_label: str = "people"

    @classmethod
    def from_checked(
        cls, people: Checked, file_label: str = "people", id_column: str = "source_person_id"
    ) -> KnownPeople:
        q = people.quarantined
        quarantined = (
            q.get_column(id_column).drop_nulls() if id_column in q.columns else pl.Series([], dtype=pl.String)
        )
        unreadable = int(q.get_column("raw_line").is_not_null().sum()) if q.height else 0
        return cls(people.accepted.get_column("source_person_id"), quarantined, unreadable, file_label)


@dataclass(frozen=True)
class _Rule:
    code: str
    flag: pl.Expr  # True when the row has this problem
    message: pl.Expr  # evaluated only on flagged rows


def quarantine_name(file_column: str) -> str:
    """A file's column name in its quarantine file, clear of the columns ingest adds."""
    return f"{file_column} (from file)" if file_column in QUARANTINE_EXTRA else file_column


def _prepare(frame: pl.DataFrame, contract: Sequence[str]) -> tuple[pl.DataFrame, list[str]]:
    """Add missing contract columns as null and a row number if absent; remember the input columns."""
    given = [c for c in frame.columns if c not in (ROW, LINE)]
    missing = [pl.lit(None, dtype=pl.String).alias(c) for c in contract if c not in frame.columns]
    if ROW not in frame.columns:
        missing.append(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(ROW))
    if LINE not in frame.columns:
        missing.append(pl.lit(None, dtype=pl.Int64).alias(LINE))
    return (frame.with_columns(missing) if missing else frame), given


def _required_rules(columns: Sequence[str], names: Mapping[str, str]) -> list[_Rule]:
    return [
        _Rule(reasons.BLANK_REQUIRED, blank(c), pl.lit(f"{shown(names, c)} is blank (a value is required)"))
        for c in columns
    ]


def _date_rules(
    column: str, parsed: str, date_format: str, as_of: date, names: Mapping[str, str]
) -> list[_Rule]:
    label = shown(names, column)
    return [
        _Rule(
            reasons.BAD_DATE,
            ~blank(column) & pl.col(parsed).is_null(),
            pl.format(
                f"{label} '{{}}' is not a date (expected {expected_dates(date_format)})", pl.col(column)
            ),
        ),
        _Rule(
            reasons.DATE_AFTER_RUN,
            pl.col(parsed) > pl.lit(as_of),
            pl.format(f"{label} '{{}}' is after the run's date ({as_of.isoformat()})", pl.col(column)),
        ),
    ]


def _duplicate_rules(
    frame: pl.DataFrame, key: str, data_columns: list[str], names: Mapping[str, str]
) -> tuple[pl.DataFrame, list[_Rule]]:
    """Mark rows sharing an id: all of them if they differ, the repeats if they are identical."""
    # Hashes find the candidates fast; grouping by the id itself keeps the answer exact.
    dup = ~blank(key) & pl.col(key).hash().is_duplicated()
    groups = (
        frame.filter(dup)
        .group_by(key)
        .agg(
            pl.struct(data_columns).n_unique().alias("_distinct"),
            pl.col(ROW).min().alias("_first"),
            pl.len().alias("_n"),
            pl.col(ROW).sort().head(5).cast(pl.String).str.join(", ").alias("_rows"),
        )
    )
    marked = frame.join(groups, on=key, how="left", nulls_equal=False, maintain_order="left")
    label = shown(names, key)
    more = pl.when(pl.col("_n") > 5).then(pl.format(" and {} more", pl.col("_n") - 5)).otherwise(pl.lit(""))
    rules = [
        _Rule(
            reasons.CONFLICTING_DUPLICATE,
            pl.col("_distinct") > 1,
            pl.format(
                f"{label} '{{}}' is shared by {{}} rows that differ (rows {{}}{{}}); we cannot tell which is right",
                pl.col(key),
                pl.col("_n"),
                pl.col("_rows"),
                more,
            ),
        ),
        _Rule(
            reasons.EXACT_DUPLICATE,
            (pl.col("_distinct") == 1) & (pl.col(ROW) != pl.col("_first")),
            pl.format("exact duplicate of row {}", pl.col("_first")),
        ),
    ]
    return marked, rules


@dataclass(frozen=True)
class _Split:
    accepted: pl.DataFrame
    quarantined: pl.DataFrame
    blanked: pl.DataFrame


def _split(
    frame: pl.DataFrame,
    rules: list[_Rule],
    given: list[str],
    accepted_exprs: list[pl.Expr],
    names: Mapping[str, str],
    field_rules: Sequence[FieldRule] = (),
    ids: Sequence[str] = (),
) -> _Split:
    """Rows with a row problem to quarantine; the rest accepted, with their bad optional fields blanked."""
    flags = [f"_flag{i}" for i in range(len(rules))]
    field_flags = flag_columns(field_rules)
    flagged = frame.with_columns(
        *[rule.flag.fill_null(False).alias(name) for rule, name in zip(rules, flags, strict=True)],
        **field_flags,
    )
    bad = pl.any_horizontal(flags) if flags else pl.lit(False)
    kept = flagged.filter(~bad)
    accepted = blank_flagged(kept.select(*accepted_exprs, *field_flags), field_rules, list(field_flags))
    blanked = blanked_rows(kept, field_rules, list(field_flags), ids, names)
    codes = pl.concat_list(
        [pl.when(pl.col(f)).then(pl.lit(r.code)) for r, f in zip(rules, flags, strict=True)]
    )
    quarantined = flagged.filter(bad).select(
        *[pl.col(c).alias(quarantine_name(names.get(c, c))) for c in given],
        pl.col(ROW).alias("row_number"),
        pl.col(LINE).alias("line_number"),
        pl.lit(None, dtype=pl.String).alias("raw_line"),
        pl.concat_str(
            [pl.when(pl.col(f)).then(r.message) for r, f in zip(rules, flags, strict=True)],
            separator="; ",
            ignore_nulls=True,
        ).alias("reason"),
        codes.list.unique(maintain_order=True).list.join("; ").alias("reason_codes"),
    )
    return _Split(accepted, quarantined, blanked)


def check_people(
    frame: pl.DataFrame,
    *,
    source: str,
    as_of: date,
    date_format: str = ISO_FORMAT,
    names: Mapping[str, str] | None = None,
) -> Checked:
    """Check a people extract (text columns named as in the contract).

    ``names`` maps contract columns to the file's own names, used in reasons
    and in the quarantine file's header. first_name/last_name may be empty.
    """
    names = names or {}
    df, given = _prepare(frame, PEOPLE_COLUMNS)
    df = df.with_columns(parse_date("dob", date_format).alias("_dob"), **PEOPLE_PREPARED)
    df, dup_rules = _duplicate_rules(df, "source_person_id", given, names)
    rules = [*_required_rules(["source_person_id"], names), *dup_rules]
    accepted_exprs = [
        pl.lit(source, dtype=pl.String).alias("source"),
        *[pl.col("_dob").alias("dob") if c == "dob" else pl.col(c) for c in PEOPLE_COLUMNS],
        pl.col(ROW).alias("row_number"),
    ]
    out = _split(
        df,
        rules,
        given,
        accepted_exprs,
        names,
        people_field_rules("_dob", as_of, date_format, names),
        ("source_person_id",),
    )
    formats = {"dob": date_format_counts(df, "dob", "_dob", date_format)} if "dob" in given else {}
    return Checked(out.accepted.cast(PEOPLE_SCHEMA), out.quarantined, formats, out.blanked)  # type: ignore[arg-type]


def check_events(
    frame: pl.DataFrame,
    *,
    source: str,
    config: Config,
    as_of: date,
    people: KnownPeople,
    date_format: str = ISO_FORMAT,
    names: Mapping[str, str] | None = None,
) -> Checked:
    """Check an events extract against the source's vocabulary and its checked people."""
    names = names or {}
    src = config.sources[source]
    roles = {
        t: role
        for role in ("routine", "signal", "service", "enforcement", "crisis")
        for t in getattr(src.events, role)
    }
    df, given = _prepare(frame, EVENT_COLUMNS)
    df = df.with_columns(
        parse_date("event_date", date_format).alias("_event_date"),
        pl.col("event_type").replace_strict(roles, default=None, return_dtype=pl.String).alias("_role"),
        parse_amount("amount").alias("_amount"),
        pl.col("source_person_id").is_in(people.accepted.implode()).alias("_person_ok"),
        pl.col("source_person_id").is_in(people.quarantined.implode()).alias("_person_quarantined"),
    )
    df, dup_rules = _duplicate_rules(df, "event_id", given, names)
    spid = shown(names, "source_person_id")
    not_in_people = f"{spid} '{{}}' is not in this source's {people.file_label} file"
    if people.unreadable_lines:
        not_in_people += f" ({people.unreadable_lines} line(s) of the {people.file_label} file could not be read and may hold it)"
    rules = [
        *_required_rules(EVENT_REQUIRED, names),
        *_date_rules("event_date", "_event_date", date_format, as_of, names),
        _Rule(
            reasons.UNKNOWN_EVENT_TYPE,
            ~blank("event_type") & pl.col("_role").is_null(),
            pl.format(
                f"{shown(names, 'event_type')} '{{}}' is not an event type of {source}", pl.col("event_type")
            ),
        ),
        _Rule(
            reasons.PERSON_QUARANTINED,
            ~blank("source_person_id") & ~pl.col("_person_ok") & pl.col("_person_quarantined"),
            pl.format(
                f"{spid} '{{}}' is a person whose row in the {people.file_label} file was quarantined",
                pl.col("source_person_id"),
            ),
        ),
        _Rule(
            reasons.PERSON_NOT_IN_PEOPLE,
            ~blank("source_person_id") & ~pl.col("_person_ok") & ~pl.col("_person_quarantined"),
            pl.format(not_in_people, pl.col("source_person_id")),
        ),
        *dup_rules,
    ]
    renamed = {"event_date": "_event_date", "amount": "_amount"}
    accepted_exprs = [
        pl.lit(source, dtype=pl.String).alias("source"),
        *[
            pl.col(renamed.get(c, c)).alias(c)
            for c in ("event_id", "source_person_id", "event_date", "event_type")
        ],
        pl.col("_role").alias("role"),
        *[pl.col(renamed.get(c, c)).alias(c) for c in ("amount", "topic", "channel")],
        pl.col(ROW).alias("row_number"),
    ]
    out = _split(
        df,
        rules,
        given,
        accepted_exprs,
        names,
        event_field_rules(source, src.topics, config.channels, names),
        ("event_id", "source_person_id"),
    )
    formats = (
        {"event_date": date_format_counts(df, "event_date", "_event_date", date_format)}
        if "event_date" in given
        else {}
    )
    return Checked(out.accepted.cast(EVENTS_SCHEMA), out.quarantined, formats, out.blanked)  # type: ignore[arg-type]


def check_gazetteer(frame: pl.DataFrame, *, names: Mapping[str, str] | None = None) -> Checked:
    """Check the gazetteer: every column required, UPRN unique."""
    names = names or {}
    df, given = _prepare(frame, GAZETTEER_COLUMNS)
    df, dup_rules = _duplicate_rules(df, "uprn", given, names)
    rules = [*_required_rules(GAZETTEER_COLUMNS, names), *dup_rules]
    accepted_exprs = [*[pl.col(c) for c in GAZETTEER_COLUMNS], pl.col(ROW).alias("row_number")]
    out = _split(df, rules, given, accepted_exprs, names)
    return Checked(out.accepted.cast(GAZETTEER_SCHEMA), out.quarantined, {})  # type: ignore[arg-type]


def with_malformed(checked: Checked, malformed: pl.DataFrame) -> Checked:
    """Add lines that could not be split into fields to a file's quarantine, in file order."""
    if malformed.height == 0:
        return checked
    q = checked.quarantined
    lines = malformed.select(
        *[pl.lit(None, dtype=q.schema[c]).alias(c) for c in q.columns[: -len(QUARANTINE_EXTRA)]],
        pl.col(ROW).alias("row_number"),
        pl.col(LINE).alias("line_number"),
        pl.col("raw_line"),
        pl.col("reason"),
        pl.col("reason_code").alias("reason_codes"),
    )
    combined = pl.concat([q, lines], how="vertical").sort("row_number", maintain_order=True)
    return Checked(checked.accepted, combined, checked.date_formats, checked.blanked)
