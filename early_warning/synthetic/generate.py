"""Generate a whole synthetic borough: extracts for the product, truth beside them.

Steps, each in its own module: gazetteer (``geography``), households and
people and their moves (``population``), need episodes and personas
(``episodes``), council-tax and rent ledgers (``accounts``/``ledger``),
other signals and background life (``signals``), each system's records of
each person (``records``), then writing (``writer``, ``truth``).

Every step draws from its own child of one ``numpy.random.SeedSequence``, so
the same arguments give byte-identical files, and changing one step's
draws does not reshuffle the others. The knobs that make a named world
(``worlds.py``) draw from children of their own and only when switched on,
so the default world is exactly the one the product was first built on, and
a world differs from it only where its knobs act.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from early_warning.config import Config, load_config
from early_warning.synthetic.accounts import fill_marker_amounts, money_events
from early_warning.synthetic.episodes import assign_personas, build_episodes
from early_warning.synthetic.events import EventBuffer
from early_warning.synthetic.footprints import visible_sources
from early_warning.synthetic.geography import build_gazetteer, gazetteer_extract, ward_count
from early_warning.synthetic.population import build_population
from early_warning.synthetic.records import HABITS, build_records, people_rows
from early_warning.synthetic.settings import GenerationSummary, GeneratorSettings
from early_warning.synthetic.signals import background_events, episode_events
from early_warning.synthetic.sparse import apply_world, phone_overrides
from early_warning.synthetic.truth import finalise_episodes, moves_table, residents_table
from early_warning.synthetic.worlds import WORLDS, world_of, world_settings
from early_warning.synthetic.writer import write_gazetteer, write_source, write_truth

_EPOCH = date(1970, 1, 1)
#: short prefixes of event ids per source (unique within a source is what matters).
_EVENT_PREFIX = {
    "council_tax": "CTX",
    "housing_rent": "RTX",
    "benefits": "BEV",
    "contact_centre": "CCE",
    "adult_social_care": "ACT",
    "childrens_services": "CSE",
    "homelessness": "HLE",
    "asb": "ASE",
}


def _day(d: date) -> int:
    return (d - _EPOCH).days


def generate_borough(
    out_dir: Path,
    *,
    residents: int,
    years: int,
    as_of: date,
    seed: int,
    settings: GeneratorSettings | None = None,
    world: str | None = None,
    progress: bool = False,
    config: Config | None = None,
) -> GenerationSummary:
    """Write ``out_dir/extracts`` (the contract's shape) and ``out_dir/truth``.

    Args:
        out_dir: folder to write into; its ``extracts/`` and ``truth/`` are
            replaced.
        residents: people living in the borough, children included (only
            adults have records).
        years: years of history before ``as_of`` in the extracts.
        as_of: the night the extracts are a snapshot of.
        seed: the same seed and arguments give byte-identical files.
        settings: rates and noise levels; defaults to ``GeneratorSettings()``.
        world: the name of a world in ``worlds.WORLDS`` instead of
            ``settings`` (giving both is an error). ``truth/world.json``
            names the world and its settings either way (``custom`` for
            settings that are no named world's).
        progress: show progress bars on the long steps.
        config: vocabulary, mappings and localities (defaults to
            ``load_config()``).

    Truth beside the extracts (the product never reads it): ``person_records``
    (which records are the same person; for records in the extract also
    ``sparse``, ``phone_kind`` - own, shared_line, another_person - and
    ``richness``, the classes in ``sparse.py``), ``residents``, ``episodes``,
    ``events_all``, ``moves``, and ``world.json`` (the world's name,
    description, the seed and every setting).

    Returns:
        rows written per file, total rows and seconds taken.
    """
    if residents < 10 or years < 1:
        raise ValueError("need at least 10 residents and 1 year")
    if world is not None and settings is not None:
        raise ValueError("give a world's name or settings, not both")
    t0 = time.perf_counter()
    settings = world_settings(world) if world is not None else settings or GeneratorSettings()
    config = config or load_config()
    sources = list(config.sources)
    unknown = sorted({s for s, _ in settings.record_sparsity} - set(sources))
    if unknown:
        raise ValueError(f"record_sparsity names sources that are not configured: {', '.join(unknown)}")
    # children 10-12 feed only the world knobs, so the first ten are as they always were
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(13)]
    start = _day(as_of - timedelta(days=round(365.25 * years)))
    today = _day(as_of)
    end = today + settings.horizon_days + 1

    steps = _Steps(progress)
    addresses = build_gazetteer(
        rngs[0],
        max(4, round(residents / settings.people_per_address)),
        ward_count(residents),
        tuple(config.localities.localities),
    )
    steps.done("gazetteer")
    pop = build_population(rngs[1], addresses, residents, start, today, end, settings)
    adults = pop.people.join(pop.households, on="household_id").sort("true_person_id")
    steps.done("people")
    episodes = build_episodes(rngs[2], adults, start, end, settings)
    personas = assign_personas(rngs[3], adults, episodes, settings)
    steps.done("episodes")

    shown = visible_sources(rngs[10], episodes, adults, settings.services_per_need)
    buf = EventBuffer()
    account_records, crisis_days = money_events(
        rngs[4], buf, adults, pop.spells, addresses, episodes, personas, start, end, settings, progress, shown
    )
    episode_events(rngs[5], buf, episodes, adults, start, end, settings, shown)
    other_records = background_events(rngs[6], buf, adults, personas, start, end, settings)
    events = fill_marker_amounts(buf.frame())
    del buf
    _check_vocabulary(events, config)
    steps.done("events")

    extra = pl.concat([account_records, other_records])
    records, events = build_records(rngs[7], events, extra, sources, start, end, settings)
    events = _with_event_ids(events)
    steps.done("records")

    out_dir = Path(out_dir)
    for sub in ("extracts", "truth"):
        shutil.rmtree(out_dir / sub, ignore_errors=True)
    rows: dict[str, int] = {}
    extracts = out_dir / "extracts"
    write_gazetteer(extracts, gazetteer_extract(addresses), rows)
    in_extract = records.filter(pl.col("registered") <= today)
    overrides = phone_overrides(rngs[11], in_extract, adults, settings)
    record_info = []
    for source in sources:
        people = people_rows(rngs[8], source, in_extract, adults, pop.spells, addresses, today, settings)
        people, info = apply_world(rngs[12], source, people, overrides, HABITS[source].phone_style, settings)
        record_info.append(info.with_columns(source=pl.lit(source)))
        src_events = events.filter((pl.col("source") == source) & (pl.col("day") <= today))
        write_source(extracts, source, people.sort("source_person_id"), src_events, config, rows)
    steps.done("extracts")

    truth = out_dir / "truth"
    write_truth(
        truth,
        "person_records",
        records.select(
            "true_person_id",
            "source",
            "source_person_id",
            registered=pl.col("registered").cast(pl.Int32).cast(pl.Date),
            duplicate="duplicate",
            in_extract=pl.col("registered") <= today,
        )
        .join(pl.concat(record_info), on=["source", "source_person_id"], how="left")
        .sort("source", "source_person_id"),
        rows,
    )
    write_truth(truth, "residents", residents_table(adults, personas, pop.spells, addresses, today), rows)
    write_truth(truth, "episodes", finalise_episodes(episodes, crisis_days, events, start, end), rows)
    write_truth(
        truth,
        "events_all",
        events.select(
            "source",
            "event_id",
            "source_person_id",
            "true_person_id",
            "event_date",
            "event_type",
            "amount",
            "topic",
            "channel",
            "episode_id",
        ),
        rows,
    )
    write_truth(truth, "moves", moves_table(adults, pop.spells, addresses), rows)
    _write_world(truth / "world.json", world or world_of(settings), seed, settings)
    steps.done("truth")
    steps.close()
    return GenerationSummary(
        out_dir=out_dir,
        rows=rows,
        seconds=round(time.perf_counter() - t0, 2),
        residents=int(pop.households.select(pl.col("n_adults").sum() + pl.col("n_children").sum()).item()),
        adults=len(adults),
    )


def _write_world(path: Path, name: str, seed: int, settings: GeneratorSettings) -> None:
    """Say which world the truth beside it describes, so an evaluation can say what it measured."""
    world = WORLDS.get(name)
    payload = {
        "world": name,
        "description": world.description if world else "settings that are no named world's",
        "seed": seed,
        "settings": asdict(settings),
    }
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def _with_event_ids(events: pl.DataFrame) -> pl.DataFrame:
    """Stable order (by source, date, record...) and ids numbered in it."""
    ordered = events.sort(
        "source", "day", "record", "event_type", "amount", "topic", "channel", "episode_id", nulls_last=True
    )
    prefix = pl.col("source").replace_strict(_EVENT_PREFIX, default="EV", return_dtype=pl.String)
    return ordered.with_columns(
        event_id=pl.format(
            "{}{}", prefix, pl.int_range(1, pl.len() + 1).over("source").cast(pl.String).str.zfill(9)
        ),
        event_date=pl.col("day").cast(pl.Int32).cast(pl.Date),
    )


def _check_vocabulary(events: pl.DataFrame, config: Config) -> None:
    """A generator bug, not bad input: fail loudly if an event type is unknown."""
    pairs = events.select("source", "event_type").unique().sort("source", "event_type").iter_rows()
    unknown = [f"{s}.{t}" for s, t in pairs if config.role_of(s, t) is None]
    if unknown:
        raise RuntimeError(f"generator made event types not in the vocabulary: {', '.join(unknown)}")


class _Steps:
    """A step-level progress bar (tqdm) that costs nothing when switched off."""

    def __init__(self, enabled: bool) -> None:
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=7, desc="generating borough", unit="step")

    def done(self, name: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(name)
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
