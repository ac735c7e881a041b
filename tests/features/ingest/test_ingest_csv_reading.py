"""Reading CSV: malformed lines are set aside, never lost; whole-file problems are refused."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from features.ingest.csv_text import read_csv_table
from features.ingest.tables import LINE, ROW, FileRefused


def read(
    tmp_path: Path, data: bytes, careful: bool = False
) -> tuple[list[tuple[object, ...]], list[dict[str, object]], str]:
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    table = read_csv_table(path, force_careful=careful)
    return table.rows.rows(), table.malformed.to_dicts(), table.reader


@pytest.mark.parametrize("careful", [False, True])
def test_clean_file_keeps_text_exactly_and_numbers_rows_from_one(tmp_path: Path, careful: bool) -> None:
    rows, bad, _ = read(tmp_path, b'a,b,c\n x ,"q,""uote""",\xc3\xa9\n4,,""\n', careful)
    assert rows == [(" x ", 'q,"uote"', "é", 1, 2), ("4", None, None, 2, 3)]
    assert bad == []


def test_clean_file_uses_the_fast_path(tmp_path: Path) -> None:
    assert read(tmp_path, b"a,b\n1,2\n")[2] == "fast"


@pytest.mark.parametrize("careful", [False, True])
def test_short_line_is_set_aside_not_padded_with_nulls(tmp_path: Path, careful: bool) -> None:
    """polars on its own pads a short line with nulls: that would guess silently."""
    rows, bad, _ = read(tmp_path, b"a,b,c\n1,2,3\n4,5\n6,7,8\n", careful)
    assert [r[0] for r in rows] == ["1", "6"]
    assert bad[0]["reason_code"] == "wrong_field_count"
    assert bad[0][LINE] == 3
    assert bad[0]["raw_line"] == "4,5"
    assert "line 3 has 2 fields but the header has 3" in str(bad[0]["reason"])


@pytest.mark.parametrize("careful", [False, True])
def test_long_line_is_set_aside(tmp_path: Path, careful: bool) -> None:
    rows, bad, _ = read(tmp_path, b"a,b,c\n1,2,3,4\n6,7,8\n", careful)
    assert [r[0] for r in rows] == ["6"]
    assert bad[0]["reason_code"] == "wrong_field_count"
    assert bad[0][ROW] == 1


@pytest.mark.parametrize("careful", [False, True])
def test_quote_inside_unquoted_field_is_bad_quoting(tmp_path: Path, careful: bool) -> None:
    rows, bad, _ = read(tmp_path, b'a,b,c\n1,x"y"z,3\n4,5,6\n', careful)
    assert [r[0] for r in rows] == ["4"]
    assert bad[0]["reason_code"] == "bad_quoting"


def test_unclosed_quote_spoils_only_its_own_line(tmp_path: Path) -> None:
    rows, bad, reader = read(tmp_path, b'a,b,c\n1,"open,3\n4,5,6\n7,8,9\n')
    assert reader == "careful"
    assert [r[0] for r in rows] == ["4", "7"]
    assert [(b[LINE], b["reason_code"]) for b in bad] == [(2, "bad_quoting")]


@pytest.mark.parametrize("careful", [False, True])
def test_blank_lines_are_not_rows(tmp_path: Path, careful: bool) -> None:
    """polars reads a blank line as an all-null row; we ignore and count it."""
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n1,2\n\n\r\n3,4\n")
    table = read_csv_table(path, force_careful=careful)
    assert table.rows.get_column(ROW).to_list() == [1, 4]
    assert table.blank_lines == 2
    assert table.malformed.height == 0


@pytest.mark.parametrize("careful", [False, True])
def test_crlf_line_ends_are_not_data(tmp_path: Path, careful: bool) -> None:
    rows, bad, _ = read(tmp_path, b"a,b\r\n1,2\r\n3,4\r\n", careful)
    assert rows == [("1", "2", 1, 2), ("3", "4", 2, 3)]
    assert bad == []


def test_quoted_field_over_two_lines_is_one_record_numbered_by_its_first_line(tmp_path: Path) -> None:
    rows, bad, _ = read(tmp_path, b'a,b\n1,"flat 2\r\nHigh St"\n3,4\n')
    assert rows == [("1", "flat 2\r\nHigh St", 1, 2), ("3", "4", 3, 4)]
    assert bad == []


def test_line_that_is_not_utf8_is_kept_with_its_bytes_escaped(tmp_path: Path) -> None:
    rows, bad, _ = read(tmp_path, b"a,b\n1,caf\xe9\n3,4\n5,6\n")
    assert [r[0] for r in rows] == ["3", "5"]
    assert bad == [
        {
            ROW: 1,
            LINE: 2,
            "raw_line": "1,caf\\xe9",
            "reason": "line 2 is not valid UTF-8 text (undecodable bytes shown as \\x..)",
            "reason_code": "not_utf8",
        }
    ]


def test_fast_and_careful_paths_agree(tmp_path: Path) -> None:
    data = b'a,b,c\n1,"x, y",3\n\n4,5\n"6","",\n7,8,9,10\n1,2"3,4\n'.replace(b'2"3', b"23")
    fast = read(tmp_path, data)
    careful = read(tmp_path, data, careful=True)
    assert fast[0] == careful[0]
    assert fast[1] == careful[1]
    assert fast[2].startswith("fast")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "is empty"),
        (b"\n\n", "is empty"),
        (b"\xff\xfea\x00,\x00b\x00", "UTF-16"),
        (b"PK\x03\x04\x00\x00binary", "NUL bytes"),
        (b"a,\xe9\n1,2\n", "header row is not UTF-8"),
        (b'a,"b\n1,2\n', "header row has broken quoting"),
        (b"a,a\n1,2\n", "appears more than once"),
        (b"a,b\n\xe9,1\n\xe9,2\n3,4\n", "is not UTF-8 text (2 of 3 data lines"),
    ],
)
def test_whole_file_problems_are_refused_with_the_file_named(
    tmp_path: Path, data: bytes, problem: str
) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(data)
    with pytest.raises(FileRefused) as err:
        read_csv_table(path)
    assert problem in str(err.value)
    assert str(path) in str(err.value)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileRefused, match="cannot be read"):
        read_csv_table(tmp_path / "nope.csv")


def test_byte_order_mark_is_dropped_and_noted(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"\xef\xbb\xbfa,b\n1,2\n")
    table = read_csv_table(path)
    assert table.columns == ("a", "b")
    assert table.notes


def test_header_only_file_has_no_rows(tmp_path: Path) -> None:
    rows, bad, _ = read(tmp_path, b"a,b")
    assert rows == []
    assert bad == []


def test_rows_frame_is_all_text(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n1,2.5\n")
    table = read_csv_table(path)
    assert table.rows.schema["a"] == pl.String
    assert table.rows.schema["b"] == pl.String
