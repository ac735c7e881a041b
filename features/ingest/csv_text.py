"""Reading a CSV extract without losing a line or guessing at one.

The fast path reads the file twice with polars, both in Rust: once as bare
lines, to check every line against the CSV grammar (see ``csv_careful``) and
count its fields with vectorised string expressions, and once as CSV. polars
on its own silently tolerates some malformations (a short line is padded with
nulls, a blank line becomes an all-null row, a stray quote can swallow the
following lines), so its result is only trusted once the line check agrees
with it row for row. Lines that fail the check are set aside as malformed and
the rest are parsed by polars. Files with undecodable bytes or quoted fields
that run over several lines go to the careful reader instead.
"""

from __future__ import annotations

import io
from collections.abc import Collection
from pathlib import Path

import polars as pl

from early_warning.config import InputLimits
from features.ingest import reasons
from features.ingest.csv_careful import read_records, split_record
from features.ingest.tables import (
    LINE,
    MALFORMED_SCHEMA,
    ROW,
    FileRefused,
    RawTable,
    check_header,
    empty_malformed,
    over_limit,
)

_FIELD = r'(?:"(?:[^"]|"")*"|[^",\r\n]*)'
_RECORD = f"^{_FIELD}(?:,{_FIELD})*$"
_QUOTED = r'"(?:[^"]|"")*"'

_UTF8_BOM = b"\xef\xbb\xbf"
_OTHER_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}
#: Byte the fast path uses as a "never present" separator to read bare lines.
_LINE_SEPARATOR = "\x1f"


def read_csv_table(
    path: Path,
    *,
    force_careful: bool = False,
    limits: InputLimits | None = None,
    expected: Collection[str] = (),
) -> RawTable:
    """Read a CSV file as text, setting malformed lines aside (see :func:`read_csv_bytes`).

    Raises:
        FileRefused: the file is missing or unreadable, or as :func:`read_csv_bytes`.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileRefused(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return read_csv_bytes(path, data, force_careful=force_careful, limits=limits, expected=expected)


def read_csv_bytes(
    path: Path,
    data: bytes,
    *,
    force_careful: bool = False,
    limits: InputLimits | None = None,
    expected: Collection[str] = (),
) -> RawTable:
    """Read a CSV file's bytes as text, setting malformed lines aside.

    ``path`` only names the file in messages. ``expected`` are the column
    names the file may have (the contract's and the mapping's): a message
    names a header cell only if it is one of them, since a file without its
    header row has data there.

    Raises:
        FileRefused: the file is empty, binary, not UTF-8 as a whole, has an
            unreadable header, or is over one of ``limits`` (columns, rows,
            bytes per line).
    """
    limits = limits or InputLimits()
    data, notes = _without_bom(path, data)
    _refuse_not_text(path, data)
    names, header_end = _header(path, data, limits, expected)
    body = b"" if header_end < 0 else data[header_end + 1 :]
    lines_after_header = body.count(b"\n") + (1 if body and not body.endswith(b"\n") else 0)
    if lines_after_header > limits.max_rows:
        raise over_limit(path, "has", lines_after_header, "max_rows", limits.max_rows, "rows")
    rows, malformed, reader, blank_lines = _read_body(
        path, data, body, names, limits.max_line_bytes, force_careful
    )
    return RawTable(
        columns=tuple(names),
        rows=rows,
        malformed=malformed,
        format="csv",
        reader=reader,
        blank_lines=blank_lines,
        notes=tuple(notes),
    )


def _without_bom(path: Path, data: bytes) -> tuple[bytes, list[str]]:
    """The data without a UTF-8 byte-order mark, and a note if there was one.

    Raises:
        FileRefused: the file starts with a UTF-16 or UTF-32 byte-order mark.
    """
    for bom, name in _OTHER_BOMS.items():
        if data.startswith(bom):
            raise FileRefused(f"{path}: is {name} text, not UTF-8; save it as UTF-8 CSV")
    if data.startswith(_UTF8_BOM):
        return data[len(_UTF8_BOM) :], ["UTF-8 byte-order mark at the start was ignored"]
    return data, []


def _refuse_not_text(path: Path, data: bytes) -> None:
    """Refuse a file with nothing but line breaks, or with NUL bytes (a binary file)."""
    if data.count(b"\n") + data.count(b"\r") == len(data):  # nothing but line breaks (no copy of the data)
        raise FileRefused(f"{path}: is empty (no header row)")
    if b"\x00" in data:
        raise FileRefused(
            f"{path}: contains NUL bytes, so it is not a CSV text file (a spreadsheet or other binary file?)"
        )


def _header(path: Path, data: bytes, limits: InputLimits, expected: Collection[str]) -> tuple[list[str], int]:
    """The header row's column names, and where it ends (-1 if the file is only a header).

    Raises:
        FileRefused: the header is too long or wide, not UTF-8, blank, or badly
            quoted, or as :func:`~features.ingest.tables.check_header`.
    """
    header_end = data.find(b"\n")
    header_length = len(data) if header_end < 0 else header_end
    if header_length > limits.max_line_bytes:
        raise over_limit(
            path, "has a header line of", header_length, "max_line_bytes", limits.max_line_bytes, "bytes"
        )
    header_bytes = data if header_end < 0 else data[:header_end]
    try:
        header_text = header_bytes.decode("utf-8").removesuffix("\r")
    except UnicodeDecodeError:
        raise FileRefused(f"{path}: the header row is not UTF-8 text; save the file as UTF-8 CSV") from None
    if header_text == "":
        raise FileRefused(f"{path}: the first line is blank; expected a header row")
    fields = split_record(header_text)
    if fields is None:
        raise FileRefused(
            f'{path}: the header row has broken quoting (a " inside an unquoted name, or text after a closing quote)'
        )
    if len(fields) > limits.max_columns:
        raise over_limit(path, "has", len(fields), "max_columns", limits.max_columns, "columns")
    return check_header(path, fields, expected), header_end


def _read_body(
    path: Path, data: bytes, body: bytes, names: list[str], max_line_bytes: int, force_careful: bool
) -> tuple[pl.DataFrame, pl.DataFrame, str, int]:
    """Rows, malformed lines, the reader used and blank lines: the fast path when it can be trusted.

    polars drops one CR before each line end and the fast path strips a final
    CR too, so a line ending in two CRs would lose both there but keep one
    (and be set aside) in the careful reader, the reference: such rare files
    take the careful path, as do files that are not UTF-8 as a whole.
    """
    if not force_careful and _LINE_SEPARATOR.encode() not in data and b"\r\r" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            table = _fast(path, data, names, max_line_bytes)
            if table is not None:
                return table
    return _careful(path, body, names, max_line_bytes)


def _with_names(frame: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    return frame.rename(dict(zip(frame.columns, names, strict=True))).with_columns(
        pl.col(name).replace("", None) for name in names
    )


def _too_long(path: Path, lengths: pl.Series, max_line_bytes: int) -> None:
    """Refuse the file if a data line (``lengths[0]`` is line 2) is longer than the limit."""
    longest = lengths.max()
    if isinstance(longest, int) and longest > max_line_bytes:
        line = int(lengths.arg_max() or 0) + 2
        raise over_limit(path, f"line {line} is", longest, "max_line_bytes", max_line_bytes, "bytes")


def _fast(
    path: Path, data: bytes, names: list[str], max_line_bytes: int
) -> tuple[pl.DataFrame, pl.DataFrame, str, int] | None:
    """Parse with polars when every line is a whole record; None if the careful path is needed."""
    lines = pl.read_csv(
        data,
        has_header=False,
        separator=_LINE_SEPARATOR,
        quote_char=None,
        infer_schema=False,
        new_columns=["line"],
    )
    expected = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if lines.height != expected:
        return None
    _too_long(path, lines.get_column("line").slice(1).str.len_bytes(), max_line_bytes)
    n_columns = len(names)
    # Byte-level facts let the common case (no quotes, no CRs) skip whole checks.
    has_quote, has_cr = b'"' in data, b"\r" in data
    line = pl.col("line")
    text = line.str.strip_suffix("\r") if has_cr else line
    no_cr = ~text.str.contains("\r", literal=True) if has_cr else pl.lit(True)
    commas = text.str.count_matches(",", literal=True)
    if has_quote:
        quoted = text.str.contains('"', literal=True)
        odd = quoted & (text.str.count_matches('"', literal=True) % 2 == 1)
        grammar_ok = pl.when(quoted).then(text.str.contains(_RECORD)).otherwise(no_cr)
        commas = (
            pl.when(quoted)
            .then(text.str.replace_all(_QUOTED, "").str.count_matches(",", literal=True))
            .otherwise(commas)
        )
    else:
        odd, grammar_ok = pl.lit(False), no_cr
    checked = (
        lines.lazy()
        .with_row_index("index")
        .slice(1)
        .select(
            (pl.col("index").cast(pl.Int64) + 1).alias(LINE),
            (text.is_null() | (text == "")).alias("blank"),
            odd.alias("odd"),
            grammar_ok.alias("grammar_ok"),
            (commas + 1).alias("fields"),
        )
        .collect()
    )
    if checked.get_column("odd").any():
        return None  # quoted fields over several lines, or a stray quote: careful path
    good = ~pl.col("blank") & pl.col("grammar_ok") & (pl.col("fields") == n_columns)
    blank = int(checked.get_column("blank").sum())
    bad = checked.filter(~pl.col("blank") & ~good).with_columns(_text(lines, pl.col(LINE) - 1, has_cr))
    malformed = bad.select(
        (pl.col(LINE) - 1).alias(ROW),
        pl.col(LINE),
        pl.col("text").alias("raw_line"),
        pl.when(pl.col("grammar_ok"))
        .then(
            pl.format(
                "line {} has {} fields but the header has {}",
                pl.col(LINE),
                pl.col("fields"),
                pl.lit(n_columns),
            )
        )
        .otherwise(
            pl.format(
                'line {} has broken quoting (a " inside an unquoted field, or text after a closing quote)',
                pl.col(LINE),
            )
        )
        .alias("reason"),
        pl.when(pl.col("grammar_ok"))
        .then(pl.lit(reasons.WRONG_FIELD_COUNT))
        .otherwise(pl.lit(reasons.BAD_QUOTING))
        .alias("reason_code"),
    ).cast(MALFORMED_SCHEMA)  # type: ignore[arg-type]
    kept = checked.filter(good).select(LINE)
    schema = {f"c{i}": pl.String() for i in range(n_columns)}
    if bad.height == 0 and blank == 0:
        source: bytes = data
    else:
        body = (
            kept.select(_text(lines, pl.col(LINE) - 1, has_cr).str.join("\n")).item() if kept.height else ""
        )
        source = (",".join(f"c{i}" for i in range(n_columns)) + "\n" + body).encode()
    parsed = pl.read_csv(io.BytesIO(source), has_header=False, skip_rows=1, schema=schema, quote_char='"')
    if parsed.height != kept.height:
        return None
    rows = _with_names(parsed, names).with_columns(
        (kept.get_column(LINE) - 1).alias(ROW), kept.get_column(LINE)
    )
    reader = "fast" if malformed.height == 0 else "fast (malformed lines set aside)"
    return rows, malformed, reader, blank


def _text(lines: pl.DataFrame, index: pl.Expr, has_cr: bool) -> pl.Expr:
    """The text of the lines at ``index`` (0-based, the header is 0), without a final CR."""
    text = pl.lit(lines.get_column("line")).gather(index).fill_null("")
    return (text.str.strip_suffix("\r") if has_cr else text).alias("text")


def _careful(
    path: Path, body: bytes, names: list[str], max_line_bytes: int
) -> tuple[pl.DataFrame, pl.DataFrame, str, int]:
    raw_lines = body.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    _too_long(path, pl.Series([len(line) for line in raw_lines], dtype=pl.Int64), max_line_bytes)
    records, record_lines, malformed, blank = read_records(raw_lines, len(names))
    not_utf8 = int((malformed.get_column("reason_code") == reasons.NOT_UTF8).sum())
    data_lines = len(raw_lines) - blank
    if not_utf8 and not_utf8 * 2 > data_lines:
        raise FileRefused(
            f"{path}: is not UTF-8 text ({not_utf8} of {data_lines} data lines are not valid UTF-8); "
            "was it saved as Windows-1252 or Latin-1? Save it as UTF-8 CSV"
        )
    schema = {f"c{i}": pl.String() for i in range(len(names))}
    parsed = pl.DataFrame(records, schema=schema, orient="row") if records else pl.DataFrame(schema=schema)
    lines = pl.Series(LINE, record_lines, dtype=pl.Int64)
    rows = _with_names(parsed, names).with_columns((lines - 1).alias(ROW), lines)
    return rows, malformed if malformed.height else empty_malformed(), "careful", blank


__all__ = ["MALFORMED_SCHEMA", "read_csv_bytes", "read_csv_table"]
