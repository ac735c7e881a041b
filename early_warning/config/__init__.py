"""Configuration a council edits: sources, vocabularies, thresholds, capacities.

Configuration is data, not code (DESIGN.md). The defaults in ``defaults/``
are DATA_CONTRACT.md sections 2 and 3; a council points ``--config DIR`` (or
``EARLY_WARNING_CONFIG``) at a folder holding its own copies of any of the
files, and files it leaves out fall back to the defaults. The words a
caseworker reads are configuration too (``wording.yaml``, see
:mod:`early_warning.wording`), merged over the default word by word.

Every file is validated on load. A mistake is reported as a
:class:`ConfigError` that names the file, the key and what was expected, so
the person who edited it can fix it without reading code.

Example:
    >>> cfg = load_config()
    >>> cfg.role_of("council_tax", "summons")
    'enforcement'
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# The extract columns live in the contract module; imported here, they stay importable
# from the configuration as before.
from early_warning.contract import EVENT_COLUMNS as EVENT_COLUMNS
from early_warning.contract import EVENT_REQUIRED as EVENT_REQUIRED
from early_warning.contract import GAZETTEER_COLUMNS as GAZETTEER_COLUMNS
from early_warning.contract import PEOPLE_COLUMNS as PEOPLE_COLUMNS
from early_warning.contract import PEOPLE_REQUIRED as PEOPLE_REQUIRED
from early_warning.wording import Wording

DEFAULTS_DIR = Path(__file__).parent / "defaults"

M = TypeVar("M", bound=BaseModel)

Role = Literal["routine", "signal", "service", "enforcement", "crisis"]
ROLES: tuple[Role, ...] = ("routine", "signal", "service", "enforcement", "crisis")


class ConfigError(ValueError):
    """A configuration file is missing, unreadable or holds a wrong value."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceEvents(_Strict):
    routine: list[str] = []
    signal: list[str] = []
    service: list[str] = []
    enforcement: list[str] = []
    crisis: list[str] = []


class SourceChecks(_Strict):
    """The checks a source's extract must pass before a night is routed (:mod:`flows.audit`).

    A failed check holds the night (nothing is routed; yesterday's list stays), unless
    the source is ``warn_only``: then the failure is reported and the night goes on.
    Present, readable, header as expected and not empty are always checked; the
    settings below tune the rest.
    """

    #: Report this source's failed checks without holding the night.
    warn_only: bool = False
    #: Freshness: the newest event must be at most this many days before the night.
    #: None switches the check off (a source that can go quiet for months).
    max_age_days: int | None = Field(default=7, ge=0)
    #: Rows may fall by at most this per cent from the previous whole night's (per file).
    rows_may_fall_percent: float = Field(default=30, ge=0, lt=100)
    #: Rows may rise by at most this per cent over the previous whole night's (per file).
    rows_may_rise_percent: float = Field(default=50, ge=0)
    #: At most this share of a file's rows may be quarantined (0 to 1).
    max_quarantined_share: float = Field(default=0.05, ge=0, le=1)
    #: A CSV file must end with a line break (a copy cut off mid-line does not). False for
    #: a council whose export tool leaves the last one out; the rows band still applies.
    ends_with_line_break: bool = True


class GazetteerChecks(_Strict):
    """The checks the gazetteer (``gazetteer.csv``, the council's address list) must pass
    before a night is routed (:mod:`flows.audit`; ``sources.yaml`` ``gazetteer``).

    The review queue is split by the gazetteer's localities, so a gazetteer that is
    missing, empty, cut short or has lost a locality sends people to the wrong team or
    to none: it holds the night, unless ``warn_only``.
    """

    #: Report the gazetteer's failed checks without holding the night.
    warn_only: bool = False
    #: Rows may fall by at most this per cent from the previous whole night's.
    rows_may_fall_percent: float = Field(default=10, ge=0, lt=100)
    #: Rows may rise by at most this per cent over the previous whole night's.
    rows_may_rise_percent: float = Field(default=25, ge=0)
    #: A locality in the previous whole night's gazetteer may be missing tonight (a
    #: council that has just merged two teams sets this for one night).
    localities_may_vanish: bool = False


class Source(_Strict):
    """One council system that sends an extract."""

    #: How a sentence names it. Its home is ``wording.yaml`` (``services``); a label still
    #: written here (the older place) wins. :func:`load_config` fills it in either way.
    label: str = ""
    events: SourceEvents
    holds_arrears: bool = False
    topics: list[str] = []
    #: How far its records are trusted for a person's name and address (higher: more);
    #: 0, the least, when a council's file leaves it out. See features.graph.best_record.
    reliability: int = Field(default=0, ge=0)
    #: What its extract must pass before a night is routed (sources.yaml ``checks``).
    checks: SourceChecks = SourceChecks()

    @model_validator(mode="after")
    def _each_event_type_has_one_role(self) -> Source:
        seen: dict[str, str] = {}
        for role in ROLES:
            for event_type in getattr(self.events, role):
                if event_type in seen:
                    raise ValueError(
                        f"event type {event_type!r} is listed under both "
                        f"{seen[event_type]!r} and {role!r}; give it one role"
                    )
                seen[event_type] = role
        return self


class InputLimits(_Strict):
    """How large an extract ingest will open: a hostile or broken file is refused, not read.

    A file over any limit stops its source (DATA_CONTRACT.md section 4) with a
    message naming the file and the limit. Each is checked before the work it
    guards: bytes from the file system, columns from the header, rows from
    the line count or the Parquet footer, and a Parquet file's text size as
    its values are decoded (a tiny compressed file can hold gigabytes).
    The defaults leave room for a large council's nightly files.
    """

    #: Bytes per file on disk.
    max_file_bytes: int = Field(default=2 * 1024**3, gt=0)
    #: Data rows per file (CSV: lines after the header; Parquet: rows in its footer).
    max_rows: int = Field(default=20_000_000, gt=0)
    #: Columns per file: the contract's, the source's own and a few extra.
    max_columns: int = Field(default=500, gt=0)
    #: Bytes per CSV line (the header too).
    max_line_bytes: int = Field(default=1024**2, gt=0)
    #: Row groups per Parquet file.
    max_row_groups: int = Field(default=10_000, gt=0)
    #: Bytes of a Parquet file's values once decompressed and decoded, counted as they are read.
    max_decompressed_bytes: int = Field(default=8 * 1024**3, gt=0)


class SourcesFile(_Strict):
    sources: dict[str, Source]
    channels: list[str]
    limits: InputLimits = InputLimits()
    gazetteer: GazetteerChecks = GazetteerChecks()


DateFormat = Literal["yyyy-mm-dd", "dd/mm/yyyy", "mm/dd/yyyy", "dd-mm-yyyy", "yyyy/mm/dd"]

#: strptime patterns for the date formats a mapping may declare.
DATE_FORMAT_PATTERNS: dict[str, str] = {
    "yyyy-mm-dd": "%Y-%m-%d",
    "dd/mm/yyyy": "%d/%m/%Y",
    "mm/dd/yyyy": "%m/%d/%Y",
    "dd-mm-yyyy": "%d-%m-%Y",
    "yyyy/mm/dd": "%Y/%m/%d",
}


class SourceMapping(_Strict):
    """How one source's export differs from the contract's shape."""

    date_format: DateFormat = "yyyy-mm-dd"
    people: dict[str, str] = {}
    events: dict[str, str] = {}

    @model_validator(mode="after")
    def _maps_only_contract_columns(self) -> SourceMapping:
        for kind, known in (("people", PEOPLE_COLUMNS), ("events", EVENT_COLUMNS)):
            for column in getattr(self, kind):
                if column not in known:
                    raise ValueError(
                        f"{kind}: {column!r} is not a column of the contract's "
                        f"{kind} extract; expected one of {', '.join(known)}"
                    )
        return self

    @property
    def date_pattern(self) -> str:
        return DATE_FORMAT_PATTERNS[self.date_format]


class MappingsFile(_Strict):
    mappings: dict[str, SourceMapping] = {}


class EventsOfRole(_Strict):
    role: Role
    within_days: int | None = Field(default=None, gt=0)


class EventsOfType(_Strict):
    types: list[str] = Field(min_length=1)
    within_days: int | None = Field(default=None, gt=0)


class AnyEvent(_Strict):
    within_days: int | None = Field(default=None, gt=0)


class ArrearsAtLeast(_Strict):
    pounds: float = Field(gt=0)
    within_days: int | None = Field(default=None, gt=0)


class RepeatedEvents(_Strict):
    types: list[str] = Field(min_length=1)
    count: int = Field(ge=2)
    within_days: int = Field(gt=0)


class Rule(_Strict):
    """Exactly one rule kind per list entry, as written in thresholds.yaml."""

    events_of_role: EventsOfRole | None = None
    events_of_type: EventsOfType | None = None
    any_event: AnyEvent | None = None
    arrears_at_least: ArrearsAtLeast | None = None
    repeated_events: RepeatedEvents | None = None

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> Rule:
        kinds = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(kinds) != 1:
            raise ValueError(
                "each rule must be exactly one of "
                f"{', '.join(type(self).model_fields)}; got {kinds or 'none'}"
            )
        return self

    @property
    def kind(self) -> str:
        return next(name for name in type(self).model_fields if getattr(self, name) is not None)

    @property
    def spec(self) -> Any:
        return getattr(self, self.kind)


class Service(_Strict):
    label: str
    sources: list[str] = Field(min_length=1)
    rules: list[Rule] = []


class ThresholdsFile(_Strict):
    window_days: int = Field(gt=0)
    services: dict[str, Service]


class Locality(_Strict):
    capacity: Annotated[int, Field(ge=0)]


class LocalitiesFile(_Strict):
    default_capacity: int = Field(ge=0)
    localities: dict[str, Locality] = {}


class RoutingFile(_Strict):
    cooldown_days: int = Field(ge=0)
    resurface_if_score_rises_by: float = Field(ge=0, le=1)
    resurface_if_new_service: bool = True
    min_reasons_to_surface: int = Field(default=2, ge=0, le=5)
    case_file_retention_days: int = Field(default=365, ge=1)
    #: Days a night's canonical rows and quarantine (names, NI numbers, addresses) are kept
    #: (:mod:`flows.retention`).
    identifiers_retention_days: int = Field(default=14, ge=1)
    #: Days a whole night folder (``runs/<night>``) is kept before the night that runs this many
    #: days later deletes it; the newest whole night is always kept (:mod:`flows.retention`).
    runs_retention_days: int = Field(default=60, ge=1)


class Config(BaseModel):
    """The whole validated configuration, with look-ups the pipeline needs."""

    model_config = ConfigDict(frozen=True)

    sources: dict[str, Source]
    channels: list[str]
    mappings: dict[str, SourceMapping]
    thresholds: ThresholdsFile
    localities: LocalitiesFile
    routing: RoutingFile
    #: sources.yaml ``limits``: how large an extract ingest will open.
    limits: InputLimits = InputLimits()
    #: sources.yaml ``gazetteer``: what the address list must pass before a night is routed.
    gazetteer_checks: GazetteerChecks = GazetteerChecks()
    #: The words a caseworker reads (``wording.yaml``); ``sources[...].label`` agrees with it.
    wording: Wording

    def mapping_for(self, source: str) -> SourceMapping:
        return self.mappings.get(source, SourceMapping())

    def role_of(self, source: str, event_type: str) -> str | None:
        """The role of an event type in a source, or None if it is not in the vocabulary."""
        return self._roles.get((source, event_type))

    @cached_property
    def _roles(self) -> dict[tuple[str, str], str]:
        return {
            (name, event_type): role
            for name, src in self.sources.items()
            for role in ROLES
            for event_type in getattr(src.events, role)
        }

    def capacity_of(self, locality: str) -> int:
        found = self.localities.localities.get(locality)
        return found.capacity if found else self.localities.default_capacity


def read_yaml(path: Path) -> dict[str, Any]:
    """One configuration file's top-level mapping (an empty file is an empty mapping).

    Raises:
        ConfigError: the file is missing, unreadable, not YAML or not a mapping.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys to values at the top level")
    return raw


def describe_error(error: ValidationError, where: str | Path) -> ConfigError:
    """The one error format for every configuration file: ``file: key: what was expected (got value)``."""
    lines = []
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        got = problem.get("input")
        shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
        lines.append(f"{where}: {key}: {problem['msg']}{shown}")
    return ConfigError("\n".join(lines))


def file_path(name: str, config_dir: str | Path | None) -> Path:
    """The council's copy of ``name`` when its folder holds one, else the default file."""
    if config_dir is not None and (Path(config_dir) / name).exists():
        return Path(config_dir) / name
    return DEFAULTS_DIR / name


def _merged(default: dict[str, Any], council: dict[str, Any], *, deep: bool) -> dict[str, Any]:
    out = dict(default)
    for key, value in council.items():
        below = out.get(key)
        if deep and isinstance(value, dict) and isinstance(below, dict):
            out[key] = _merged(below, value, deep=True)
        else:
            out[key] = value
    return out


def merged_values(
    name: str, config_dir: str | Path | None = None, *, deep: bool = False
) -> tuple[dict[str, Any], Path]:
    """The default file's mapping overridden key by key by the council's copy, and the path
    mistakes should name (the council's copy when there is one): the one merge rule.

    ``deep`` applies the same rule inside every mapping too, for a file of words
    (``wording.yaml``) where a council changes one word and keeps the rest.
    """
    default = DEFAULTS_DIR / name
    values = read_yaml(default)
    path = file_path(name, config_dir)
    if path != default:
        values = _merged(values, read_yaml(path), deep=deep)
    return values, path


def load_file(name: str, model: type[M], config_dir: str | Path | None = None, *, deep: bool = False) -> M:
    """Read one configuration file the one way every package reads them.

    The default file is read, then the council's copy of ``name`` in
    ``config_dir`` (if it holds one) overrides it **key by key** at the top
    level: a key the council leaves out keeps its default, a key it writes
    replaces the default's value whole. The result is validated against
    ``model``; mistakes are reported by :func:`describe_error` naming the
    council's file (where the mistake must be), the key and what was expected.

    Example:
        >>> load_file("routing.yaml", RoutingFile).cooldown_days > 0
        True

    Raises:
        ConfigError: naming the file, the key and what was expected.
    """
    values, path = merged_values(name, config_dir, deep=deep)
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise describe_error(exc, path) from None


def _load_file(name: str, model: type[M], config_dir: Path | None) -> tuple[M, Path]:
    return load_file(name, model, config_dir), file_path(name, config_dir)


WORDING_FILE = "wording.yaml"


def _with_service_labels(wording: Wording, sources: dict[str, Source]) -> Wording:
    """``wording`` naming every source: a label written in sources.yaml wins (the older place)."""
    labels = {**wording.services, **{name: src.label for name, src in sources.items() if src.label}}
    return wording.model_copy(update={"services": labels})


def load_wording(config_dir: str | Path | None = None) -> Wording:
    """The words a caseworker reads: ``wording.yaml`` merged word by word over the default.

    Reads ``sources.yaml`` too, because a label written there (the older place for it) wins
    over ``wording.yaml``'s. The review app calls this; the pipeline reads ``config.wording``.

    Raises:
        ConfigError: naming the file, the key and what was expected.
    """
    folder = Path(config_dir) if config_dir is not None else None
    sources = load_file("sources.yaml", SourcesFile, folder).sources
    return _with_service_labels(load_file(WORDING_FILE, Wording, folder, deep=True), sources)


def load_config(config_dir: str | Path | None = None) -> Config:
    """Load and cross-check the configuration.

    Args:
        config_dir: a folder with any of ``sources.yaml``, ``mappings.yaml``,
            ``thresholds.yaml``, ``localities.yaml``, ``routing.yaml``,
            ``wording.yaml``; the defaults fill the rest.

    Raises:
        ConfigError: naming the file, the key and what was expected.
    """
    folder = Path(config_dir) if config_dir is not None else None
    if folder is not None and not folder.is_dir():
        raise ConfigError(f"{folder}: configuration folder not found")
    sources, sources_path = _load_file("sources.yaml", SourcesFile, folder)
    mappings, mappings_path = _load_file("mappings.yaml", MappingsFile, folder)
    thresholds, thresholds_path = _load_file("thresholds.yaml", ThresholdsFile, folder)
    localities, _ = _load_file("localities.yaml", LocalitiesFile, folder)
    routing, _ = _load_file("routing.yaml", RoutingFile, folder)
    wording = _with_service_labels(load_file(WORDING_FILE, Wording, folder, deep=True), sources.sources)

    for name in mappings.mappings:
        if name not in sources.sources:
            raise ConfigError(
                f"{mappings_path}: mappings.{name}: no source called {name!r} in "
                f"{sources_path}; expected one of {', '.join(sources.sources)}"
            )
    for service_name, service in thresholds.services.items():
        for source in service.sources:
            if source not in sources.sources:
                raise ConfigError(
                    f"{thresholds_path}: services.{service_name}.sources: no source called "
                    f"{source!r}; expected one of {', '.join(sources.sources)}"
                )
        known_types = {
            t for s in service.sources for role in ROLES for t in getattr(sources.sources[s].events, role)
        }
        for i, rule in enumerate(service.rules):
            for event_type in getattr(rule.spec, "types", []):
                if event_type not in known_types:
                    raise ConfigError(
                        f"{thresholds_path}: services.{service_name}.rules.{i}.{rule.kind}.types: "
                        f"{event_type!r} is not an event type of {', '.join(service.sources)}"
                    )
    return Config(
        sources={
            name: src.model_copy(update={"label": wording.service_label(name)})
            for name, src in sources.sources.items()
        },
        channels=sources.channels,
        limits=sources.limits,
        gazetteer_checks=sources.gazetteer,
        mappings=mappings.mappings,
        thresholds=thresholds,
        localities=localities,
        routing=routing,
        wording=wording,
    )
