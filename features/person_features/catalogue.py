"""The names, order and plain-English meaning of every person feature.

One place decides what each feature is called, so the code that computes
features, the model that reads them and the reasons shown to a caseworker
all use the same words. Names depend on the configuration (its sources,
signal event types and channels), so they are built from a :class:`Config`.

Windows are inclusive at both ends: "in the last 90 days" on a night T means
an event dated from T minus 90 days up to and including T. An event exactly
90 days before T is in; one 91 days before is out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from early_warning.config import Config

#: Windows (days) for per-service signal counts, distinct services and groups.
WINDOWS: tuple[int, ...] = (30, 90, 180, 365)
#: Windows (days) for per-event-type signal counts (kept to two, to stay lean).
TYPE_WINDOWS: tuple[int, ...] = (90, 365)
#: The trend compares the last RECENT_DAYS with the PRIOR_DAYS before them.
RECENT_DAYS = 90
PRIOR_DAYS = 275
#: Two contacts on the same topic this many days apart (or fewer) are a repeat.
REPEAT_CONTACT_DAYS = 14
REPEAT_WINDOWS: tuple[int, ...] = (90, 365)
#: Arrears are compared with the balance this many days before the night.
ARREARS_CHANGE_DAYS: tuple[int, ...] = (90, 180)
ARREARS_MAX_DAYS = 365
CHANNEL_DAYS = 365


def age_cuts() -> tuple[int, ...]:
    """Every ``age_days <= cut`` comparison a feature makes, for incremental nights.

    ``age >= d`` is ``not (age <= d - 1)`` and ``age > m`` is
    ``not (age <= m)``. A new window must be added here; the test
    comparing incremental and fresh features fails if one is missing.
    """
    repeat_lookback = max(REPEAT_WINDOWS) + REPEAT_CONTACT_DAYS
    cuts = {*WINDOWS, *TYPE_WINDOWS, CHANNEL_DAYS, *REPEAT_WINDOWS, repeat_lookback, ARREARS_MAX_DAYS}
    cuts |= {d - 1 for d in ARREARS_CHANGE_DAYS}
    return tuple(sorted(cuts))


#: The source whose events carry a topic (failure demand is read from it).
CONTACT_SOURCE = "contact_centre"

#: Feature-name prefixes for sources that hold arrears; others use "<source>_arrears".
ARREARS_PREFIX: dict[str, str] = {"council_tax": "council_tax_arrears", "housing_rent": "rent_arrears"}


@dataclass(frozen=True)
class EventGroup:
    """A named set of (source, event type) pairs counted together in each window."""

    name: str
    meaning: str
    members: frozenset[tuple[str, str]]

    def present_in(self, config: Config) -> frozenset[tuple[str, str]]:
        """The members this configuration knows (a council may rename or drop types)."""
        return frozenset(m for m in self.members if config.role_of(*m) is not None)


EVENT_GROUPS: tuple[EventGroup, ...] = (
    EventGroup(
        "missed_payments",
        "missed council tax instalments and missed rent payments",
        frozenset({("council_tax", "missed_instalment"), ("housing_rent", "missed_payment")}),
    ),
    EventGroup(
        "benefit_changes_or_stops",
        "benefit changes of circumstances, suspended or cancelled claims and overpayments",
        frozenset(
            {
                ("benefits", "change_of_circumstances"),
                ("benefits", "claim_suspended"),
                ("benefits", "claim_cancelled"),
                ("benefits", "overpayment"),
            }
        ),
    ),
    EventGroup(
        "hardship_applications",
        "discretionary housing payment and local welfare assistance applications",
        frozenset({("benefits", "dhp_application"), ("benefits", "welfare_assistance_application")}),
    ),
)

#: Graph features (features.graph) that may be joined in, with their meaning.
GRAPH_FEATURE_DESCRIPTIONS: dict[str, str] = {
    "household_size": "Number of people recorded at the person's current address.",
    "household_members_in_contact": (
        "Number of other people at the person's address who had contact with the council."
    ),
    "moves_last_year": "Number of changes of address recorded in the last year.",
    "asb_at_address": "Number of anti-social behaviour events linked to the person's address.",
    "component_size": "Number of people connected to this person through shared addresses or households.",
}


def _label(config: Config, source: str) -> str:
    return config.sources[source].label


def signal_sources(config: Config) -> list[str]:
    """Sources that have at least one signal event type, in configuration order."""
    return [name for name, src in config.sources.items() if src.events.signal]


def signal_types(config: Config) -> list[tuple[str, str]]:
    """Every (source, signal event type), in configuration order."""
    return [(name, t) for name, src in config.sources.items() for t in src.events.signal]


def arrears_sources(config: Config) -> list[str]:
    return [name for name, src in config.sources.items() if src.holds_arrears]


def arrears_prefix(source: str) -> str:
    return ARREARS_PREFIX.get(source, f"{source}_arrears")


def signals_by_source(window: int, source: str) -> str:
    return f"signals_{window}d_{source}"


def signals_total(window: int) -> str:
    return f"signals_{window}d_total"


def signals_by_type(window: int, source: str, event_type: str) -> str:
    return f"{source}_{event_type}_{window}d"


def distinct_services(window: int) -> str:
    return f"distinct_services_{window}d"


def group_count(group: EventGroup, window: int) -> str:
    return f"{group.name}_{window}d"


def repeat_contacts(window: int) -> str:
    return f"repeat_contacts_same_topic_{REPEAT_CONTACT_DAYS}d_{window}d"


def channel_share(channel: str) -> str:
    return f"channel_share_{channel}_{CHANNEL_DAYS}d"


CONTACTS_WITH_CHANNEL = f"contacts_with_channel_{CHANNEL_DAYS}d"
SIGNAL_TREND = f"signal_trend_{RECENT_DAYS}d_vs_prior_{PRIOR_DAYS}d"
DAYS_SINCE_FIRST_EVENT = "days_since_first_event"
DAYS_SINCE_LAST_EVENT = "days_since_last_event"
DAYS_SINCE_LAST_SIGNAL = "days_since_last_signal"
#: Features that are a number of days before the night: they grow by the days between nights.
DAYS_SINCE_FEATURES = (DAYS_SINCE_FIRST_EVENT, DAYS_SINCE_LAST_EVENT, DAYS_SINCE_LAST_SIGNAL)
SOURCE_RECORDS = "source_records"
SOURCE_SYSTEMS = "source_systems"

#: Features that are null (not zero) when the person has no such event.
NULLABLE_FEATURES: frozenset[str] = frozenset(
    {DAYS_SINCE_FIRST_EVENT, DAYS_SINCE_LAST_EVENT, DAYS_SINCE_LAST_SIGNAL}
)


def _catalogue(config: Config) -> list[tuple[str, str]]:
    """(name, description) for every feature this module computes, in output order."""
    out: list[tuple[str, str]] = []
    for w in WINDOWS:
        for s in signal_sources(config):
            out.append(
                (signals_by_source(w, s), f"Signal events from {_label(config, s)} in the last {w} days.")
            )
        out.append((signals_total(w), f"Signal events from all services together in the last {w} days."))
        out.append(
            (
                distinct_services(w),
                f"Number of different council services that recorded a signal in the last {w} days.",
            )
        )
    for w in TYPE_WINDOWS:
        for s, t in signal_types(config):
            out.append(
                (
                    signals_by_type(w, s, t),
                    f"{_label(config, s).capitalize()} '{t.replace('_', ' ')}' events in the last {w} days.",
                )
            )
    for group in EVENT_GROUPS:
        if not group.present_in(config):
            continue
        for w in WINDOWS:
            out.append((group_count(group, w), f"Number of {group.meaning} in the last {w} days."))
    out.append(
        (
            SIGNAL_TREND,
            f"Whether signals are rising: signals in the last {RECENT_DAYS} days compared with the "
            f"{PRIOR_DAYS} days before, as a rate ratio (recent + 1) / (earlier x {RECENT_DAYS}/{PRIOR_DAYS}"
            " + 1). 1 means steady, above 1 rising, below 1 falling.",
        )
    )
    for s in arrears_sources(config):
        p, label = arrears_prefix(s), _label(config, s)
        out.append(
            (
                f"{p}_now",
                f"{label.capitalize()} arrears in pounds: the latest balance recorded (a balance in credit is 0).",
            )
        )
        for d in ARREARS_CHANGE_DAYS:
            out.append(
                (
                    f"{p}_change_{d}d",
                    f"Change in {label} arrears in pounds over the last {d} days (positive means rising; a "
                    "balance in credit counts as 0, so a move from credit to nothing owed is no rise).",
                )
            )
        out.append(
            (
                f"{p}_max_{ARREARS_MAX_DAYS}d",
                f"Highest {label} arrears balance in pounds at any time in the last {ARREARS_MAX_DAYS} days"
                " (a balance in credit is 0).",
            )
        )
    for w in REPEAT_WINDOWS:
        out.append(
            (
                repeat_contacts(w),
                f"Contact centre contacts in the last {w} days that repeated a contact on the same topic "
                f"made {REPEAT_CONTACT_DAYS} days or fewer before (failure demand).",
            )
        )
    out.append(
        (
            CONTACTS_WITH_CHANNEL,
            f"Contacts with a recorded channel (phone, email, ...) in the last {CHANNEL_DAYS} days.",
        )
    )
    for c in config.channels:
        out.append(
            (
                channel_share(c),
                f"Share of contacts in the last {CHANNEL_DAYS} days made by {c.replace('_', ' ')} "
                "(0 to 1; 0 when there were none).",
            )
        )
    out += [
        (DAYS_SINCE_FIRST_EVENT, "Days since the first recorded event with any service (empty if none)."),
        (DAYS_SINCE_LAST_EVENT, "Days since the most recent event with any service (empty if none)."),
        (DAYS_SINCE_LAST_SIGNAL, "Days since the most recent signal event from any service (empty if none)."),
        (SOURCE_RECORDS, "Number of records held about the person across the council's systems."),
        (SOURCE_SYSTEMS, "Number of different council systems that hold a record of the person."),
    ]
    return out


def feature_columns(config: Config, graph_columns: Sequence[str] = ()) -> list[str]:
    """Feature columns of :func:`build_person_features`, in output order (``person_id`` excluded).

    Pass the graph feature columns (everything except ``person_id``) when graph
    features were joined in.

    Example:
        >>> from early_warning.config import load_config
        >>> "distinct_services_90d" in feature_columns(load_config())
        True
    """
    return [name for name, _ in _catalogue(config)] + [c for c in graph_columns if c != "person_id"]


def feature_descriptions(config: Config, graph_columns: Iterable[str] = ()) -> dict[str, str]:
    """Plain-English meaning of every feature, for the model card and for reasons.

    Example:
        >>> from early_warning.config import load_config
        >>> feature_descriptions(load_config())["distinct_services_90d"]
        'Number of different council services that recorded a signal in the last 90 days.'
    """
    described = dict(_catalogue(config))
    for column in graph_columns:
        if column != "person_id":
            described[column] = GRAPH_FEATURE_DESCRIPTIONS.get(
                column, f"Household and address feature '{column.replace('_', ' ')}'."
            )
    return described
