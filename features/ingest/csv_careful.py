"""The careful CSV reader: line by line, in Python, for files the fast path cannot take.

It is used when a file has lines that are not UTF-8, quoted fields that run
over several lines, or quotes the fast path cannot account for. Every
physical line ends up in exactly one place: part of one record, a blank line
(ignored and counted), or a malformed line (kept with its number, its raw
text and the reason). A quote that is never closed spoils only the line it
opens on: reading starts again on the next line, so one bad quote cannot
swallow the rest of the file.

The grammar (shared with the fast path): fields are separated by commas; a
field is either unquoted (no ``"``, comma or line break) or wholly quoted,
with ``""`` standing for one quote inside. Anything else is bad quoting.
"""

from __future__ import annotations

import re

import polars as pl

from features.ingest import reasons
from features.ingest.tables import LINE, MALFORMED_SCHEMA, ROW

#: A quoted field may span at most this many lines; beyond it we assume the
#: opening quote is a mistake (an address over 50 lines is not an address).
MAX_RECORD_LINES = 50

_TOKEN = re.compile(r'"((?:[^"]|"")*)"|([^",\r\n]*)', re.DOTALL)


def split_record(text: str) -> list[str] | None:
    """Split one record's text into field values, or None if the quoting is broken.

    An empty field is returned as ``""``; the caller turns it into null.
    """
    fields: list[str] = []
    pos = 0
    end = len(text)
    while True:
        match = _TOKEN.match(text, pos)
        if match is None:  # pragma: no cover - the pattern always matches (it may be empty)
            return None
        quoted = match.group(1)
        fields.append(quoted.replace('""', '"') if quoted is not None else match.group(2))
        pos = match.end()
        if pos == end:
            return fields
        if text[pos] != ",":
            return None
        pos += 1


def _decode(line: bytes) -> str | None:
    """The line's text, keeping a final CR: it is data if the line ends inside a quoted field."""
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _raw(line: bytes) -> str:
    text = line.decode("utf-8", errors="backslashreplace")
    return text[:-1] if text.endswith("\r") else text


def read_records(
    lines: list[bytes], n_columns: int
) -> tuple[list[list[str | None]], list[int], pl.DataFrame, int]:
    """Parse data lines (the header already removed) into records.

    Args:
        lines: the file's physical lines after the header, without line ends.
        n_columns: how many fields the header has.

    Returns:
        (records as lists of values with "" made null, the line number of each
        record's first line, the malformed lines frame, blank lines ignored).
    """
    records: list[list[str | None]] = []
    record_lines: list[int] = []
    bad: dict[str, list[object]] = {name: [] for name in MALFORMED_SCHEMA}
    blank = 0

    def set_aside(index: int, reason: str, code: str, last: int | None = None) -> None:
        line_number = index + 2  # lines[0] is the file's line 2
        bad[ROW].append(line_number - 1)
        bad[LINE].append(line_number)
        bad["raw_line"].append("\n".join(_raw(lines[k]) for k in range(index, (last or index) + 1)))
        bad["reason"].append(f"line {line_number} {reason}")
        bad["reason_code"].append(code)

    decoded = [_decode(line) for line in lines]
    i = 0
    total = len(lines)
    while i < total:
        text = decoded[i]
        if text is None:
            set_aside(i, "is not valid UTF-8 text (undecodable bytes shown as \\x..)", reasons.NOT_UTF8)
            i += 1
            continue
        if text in ("", "\r"):
            blank += 1
            i += 1
            continue
        parts = [text]
        quotes = text.count('"')
        j = i
        while quotes % 2 == 1 and j + 1 < total and j - i + 1 < MAX_RECORD_LINES:
            following = decoded[j + 1]
            if following is None:
                break
            j += 1
            parts.append(following)
            quotes += following.count('"')
        if quotes % 2 == 1:
            set_aside(
                i,
                'opens a quoted field that is never closed (a stray " character?)',
                reasons.BAD_QUOTING,
            )
            i += 1
            continue
        values = split_record("\n".join(parts).removesuffix("\r"))
        if values is None:
            set_aside(
                i,
                'has broken quoting (a " inside an unquoted field, or text after a closing quote)',
                reasons.BAD_QUOTING,
            )
            i += 1
            continue
        if len(values) != n_columns:
            span = f" (a record over lines {i + 2}-{j + 2})" if j > i else ""
            set_aside(
                i,
                f"has {len(values)} fields but the header has {n_columns}{span}",
                reasons.WRONG_FIELD_COUNT,
                last=j,
            )
            i = j + 1
            continue
        records.append([value if value != "" else None for value in values])
        record_lines.append(i + 2)
        i = j + 1
    malformed = pl.DataFrame(bad, schema=MALFORMED_SCHEMA)
    return records, record_lines, malformed, blank
