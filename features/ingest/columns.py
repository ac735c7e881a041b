"""From a file's own column names to the contract's.

A source's mapping (``config.mapping_for(source)``) says which name its
export uses for a contract column; the contract's own name is accepted too.
A file holding both names for one column is refused, because we would have
to guess which is right. Unknown extra columns are carried along (they appear
in quarantine files) and noted in the report, but never reach the canonical
output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from features.ingest.tables import FileRefused


@dataclass(frozen=True)
class ColumnPlan:
    """How one file's columns map onto the contract's."""

    #: contract column -> the file's name for it, for the columns present.
    found: dict[str, str]
    #: optional contract columns the file does not have (read as all-null).
    missing_optional: tuple[str, ...]
    #: the file's columns that are not contract columns.
    extra: tuple[str, ...]

    @property
    def renamed(self) -> dict[str, str]:
        """File name -> contract name, for columns that were renamed by the mapping."""
        return {file_name: contract for contract, file_name in self.found.items() if file_name != contract}

    def file_name(self, contract_column: str) -> str:
        """The name to show a person: the file's own, as they will look for it."""
        return self.found.get(contract_column, contract_column)


def shown(names: Mapping[str, str], column: str) -> str:
    """A contract column as a reason names it: the file's own name first when it differs.

    E.g. ``date_of_birth (dob)``, so a data officer finds the column they know.
    """
    file_name = names.get(column, column)
    return column if file_name == column else f"{file_name} ({column})"


def expected_names(contract: tuple[str, ...], mapping: Mapping[str, str] | None = None) -> frozenset[str]:
    """The column names a file may have: the contract's and the source's own for them."""
    return frozenset(contract) | frozenset((mapping or {}).values())


def describe_header(header: tuple[str, ...], contract: tuple[str, ...], mapping: Mapping[str, str]) -> str:
    """What a refused header holds, naming only expected columns.

    A header missing a required column is often a data row (the header line
    was lost), so its other cells are counted, never shown: they may be a
    resident's name or phone number.
    """
    if not header:
        return "the header has no columns"
    expected = expected_names(contract, mapping)
    known = [name for name in header if name in expected]
    unexpected = len(header) - len(known)
    parts = [f"the header has {len(header)} column(s)"]
    if known:
        parts.append(f"expected ones: {', '.join(known)}")
    if unexpected:
        parts.append(
            f"{unexpected} unexpected column name(s), not shown because they may be data "
            "(is the header row missing?)"
        )
    return "; ".join(parts)


def plan_columns(
    path: Path,
    header: tuple[str, ...],
    contract: tuple[str, ...],
    required: tuple[str, ...],
    mapping: dict[str, str] | None = None,
) -> ColumnPlan:
    """Match a header against the contract's columns through a mapping.

    Raises:
        FileRefused: a required column is missing, a column is present under
            both its contract name and its mapped name, or one file column
            would stand for two contract columns.
    """
    mapping = mapping or {}
    present = set(header)
    found: dict[str, str] = {}
    missing: list[str] = []
    for column in contract:
        mapped = mapping.get(column)
        candidates = [
            name for name in dict.fromkeys([column, mapped]) if name is not None and name in present
        ]
        if len(candidates) == 2:
            raise FileRefused(
                f"{path}: has both {column!r} and {mapped!r}, which the mapping says is "
                f"the same column ({mapped!r} -> {column!r}); remove one so we need not guess which is right"
            )
        if candidates:
            found[column] = candidates[0]
        else:
            missing.append(column)
    users: dict[str, str] = {}
    for column, file_name in found.items():
        if file_name in users:
            raise FileRefused(
                f"{path}: column {file_name!r} would stand for both {users[file_name]!r} and "
                f"{column!r}; check the mapping for this source"
            )
        users[file_name] = column
    missing_required = [column for column in missing if column in required]
    if missing_required:
        described = ", ".join(
            f"{column} (or {mapping[column]!r})" if column in mapping else column
            for column in missing_required
        )
        raise FileRefused(
            f"{path}: is missing required column(s) {described}; {describe_header(header, contract, mapping)}"
        )
    used = set(found.values())
    return ColumnPlan(
        found=found,
        missing_optional=tuple(missing),
        extra=tuple(name for name in header if name not in used),
    )
