"""Same arguments, byte-identical files; another seed, another borough."""

from __future__ import annotations

from pathlib import Path

from early_warning.synthetic import GenerationSummary


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_same_seed_gives_byte_identical_files(
    borough: GenerationSummary, borough_again: GenerationSummary
) -> None:
    first, second = _files(borough.out_dir), _files(borough_again.out_dir)
    assert first.keys() == second.keys()
    assert len(first) == 1 + 2 * 8 + 5 + 1  # gazetteer, 8 sources, 5 truth tables, truth/world.json
    different = [name for name in first if first[name] != second[name]]
    assert different == []
    assert borough.rows == borough_again.rows


def test_a_different_seed_gives_a_different_borough(
    borough: GenerationSummary, borough_other_seed: GenerationSummary
) -> None:
    first, other = _files(borough.out_dir), _files(borough_other_seed.out_dir)
    assert first.keys() == other.keys()
    assert all(first[name] != other[name] for name in first)


def test_the_summary_counts_what_was_written(borough: GenerationSummary) -> None:
    assert borough.total_rows == sum(borough.rows.values()) > 10_000
    assert borough.seconds > 0
    assert borough.adults < borough.residents
    for name, rows in borough.rows.items():
        path = borough.out_dir / name
        assert path.is_file()
        if path.suffix == ".csv":
            with path.open("rb") as handle:
                lines = sum(1 for _ in handle)
            assert lines >= rows + 1  # header; quoted addresses never hold newlines
