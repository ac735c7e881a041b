"""The person page's sections that read the case file for a decision, not just show it.

A caseworker has about a screen to decide; so the page leads with the reasons
and links each to the timeline entries behind it, shows the signs of need and
folds the routine entries (payments, bills) into one line per month and
service, says who else in the council is involved and whether that is open,
which systems hold a record and how fresh each extract is, and why records
were joined in sentences with a three-level confidence rather than Splink's
weights. Every visible sentence comes from ``wording.yaml`` (``person_page``).

Nothing here reads or shows a score, and nothing writes.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from early_warning.wording import Wording, capitalised
from review_ui.queue.case_file import CaseFile, MatchEvidence, TimelineEntry

#: An event on the record that is ordinary business (a payment, a bill): folded by default.
ROUTINE = "routine"
#: Roles that mean a service took the person on (or a crisis the council responded to).
INVOLVEMENT_ROLES = ("service", "crisis")
#: Match probability at or above which the records are "very likely" the same person (1 in
#: 1,000 wrong or fewer), and at or above which "likely" (1 in 20); below it, "possible - check".
VERY_LIKELY = 0.999
LIKELY = 0.95

_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_LONG_DATE = re.compile(rf"\b(\d{{1,2}}) ({_MONTHS}) (\d{{4}})\b")
_BETWEEN = re.compile(rf"between (\d{{1,2}} (?:{_MONTHS}) \d{{4}}) and (\d{{1,2}} (?:{_MONTHS}) \d{{4}})")
_EVIDENCE = re.compile(r"^(?P<thing>[^:]+): (?P<label>.+?)(?: \([+-]?[\d.]+\))?$")
_SAME_LABELS = ("exact match", "same postcode and address")


@dataclass
class ShownEntry:
    """One line of the timeline: an event, or routine events folded into one line."""

    anchor: str
    date: date | None
    label: str
    service: str | None
    amount: float | None = None
    routine: bool = False
    #: For a folded line: how many events it stands for.
    count: int = 1
    #: The numbers (1-based) of the reasons this entry is behind.
    reasons: list[int] = field(default_factory=list)


@dataclass
class ReasonLink:
    number: int
    text: str
    #: The anchor of the first entry behind it (None when the reason names none).
    anchor: str | None
    count: int


@dataclass
class TimelineView:
    reasons: list[ReasonLink]
    entries: list[ShownEntry]
    show_all: bool
    total: int
    signs: int


def _parse_day(text: str) -> date | None:
    try:
        return datetime.strptime(text, "%d %B %Y").date()
    except ValueError:
        return None


def _window(reason: str, as_of: date) -> tuple[date, date] | None:
    """The dates a reason speaks of: "between A and B", "on A", "since A", "in the last 90 days"."""
    between = _BETWEEN.search(reason)
    if between:
        start, end = _parse_day(between.group(1)), _parse_day(between.group(2))
        return (start, end) if start and end else None
    if "last 90 days" in reason:
        return as_of - timedelta(days=90), as_of
    found = _LONG_DATE.search(reason)
    if found is None:
        return None
    day = _parse_day(found.group(0))
    if day is None:
        return None
    return (day, day) if reason[: found.start()].endswith(" on ") else (day, as_of)


def _pattern_regex(pattern: str, label: str) -> re.Pattern[str]:
    text = re.escape(pattern)
    for placeholder, value in (("label", label), ("Label", capitalised(label))):
        text = text.replace(re.escape("{" + placeholder + "}"), re.escape(value))
    text = text.replace(re.escape("{n}"), r"\d+").replace(re.escape("{date}"), ".+?")
    return re.compile("^" + text)


def _event_kinds(reason: str, wording: Wording) -> set[tuple[str, str]]:
    """(source, event type) whose reason pattern says this sentence, if any."""
    kinds = set()
    for source, patterns in wording.reasons.items():
        label = wording.service_label(source)
        for event_type, pattern in patterns.items():
            if any(_pattern_regex(p, label).match(reason) for p in (pattern.one, pattern.several)):
                kinds.add((source, event_type))
    return kinds


def _services_named(reason: str, services: set[str], wording: Wording) -> set[str]:
    # "Contacted the contact centre about rent 3 times": the topic is not a service.
    said = re.sub(r" about .+? \d+ times?", " ", reason.lower())
    return {s for s in services if wording.service_label(s).lower() in said}


def _behind(
    reason: str, entries: list[ShownEntry], kinds: dict[str, tuple[str, str]], as_of: date, wording: Wording
) -> list[ShownEntry]:
    """The signs of need a reason speaks of: its kind of event (or services) in its dates."""
    window = _window(reason, as_of)
    if window is None:
        return []
    signs = [e for e in entries if not e.routine and e.date is not None and window[0] <= e.date <= window[1]]
    event_kinds = _event_kinds(reason, wording)
    if event_kinds:
        return [e for e in signs if kinds.get(e.anchor) in event_kinds]
    services = _services_named(reason, {e.service for e in signs if e.service}, wording)
    return [e for e in signs if e.service in services] if services else signs


def _entry(index: int, entry: TimelineEntry, wording: Wording) -> ShownEntry:
    return ShownEntry(
        anchor=f"entry-{index}",
        date=entry.date,
        label=entry.label or entry.event_type or "Contact",
        service=entry.service,
        # Never "Amount: £0.00": a payment's zero or missing amount says nothing.
        amount=entry.amount if entry.amount else None,
        routine=entry.role == ROUTINE,
    )


def _folded(routine: list[ShownEntry], wording: Wording) -> list[ShownEntry]:
    """Routine entries as one line per month and service ("Council tax: 4 routine entries (...)")."""
    groups: dict[tuple[str, str | None], list[ShownEntry]] = defaultdict(list)
    for entry in routine:
        month = entry.date.strftime("%Y-%m") if entry.date else ""
        groups[(month, entry.service)].append(entry)
    lines = []
    for (month, service), members in groups.items():
        what = ", ".join(dict.fromkeys(m.label for m in members))
        name = wording.service_title(service)
        text = (
            wording.page_words("routine_one", service=name, what=what)
            if len(members) == 1
            else wording.page_words("routine_several", service=name, n=len(members), what=what)
        )
        lines.append(
            ShownEntry(
                anchor=f"routine-{month}-{service}",
                date=max((m.date for m in members if m.date), default=None),
                label=text,
                service=service,
                routine=True,
                count=len(members),
            )
        )
    return lines


def timeline_view(
    case_file: CaseFile, reasons: list[str], wording: Wording, *, show_all: bool
) -> TimelineView:
    """The timeline as shown (signs of need, routine folded; or every entry) and the reasons' links."""
    ordered = sorted(case_file.timeline, key=lambda e: e.date or date.min, reverse=True)
    entries = [_entry(i, e, wording) for i, e in enumerate(ordered, start=1)]
    kinds = {
        shown.anchor: (raw.service or "", raw.event_type or "")
        for shown, raw in zip(entries, ordered, strict=True)
    }
    links = []
    for number, reason in enumerate(reasons, start=1):
        behind = _behind(reason, entries, kinds, case_file.as_of, wording)
        for entry in behind:
            entry.reasons.append(number)
        links.append(ReasonLink(number, reason, behind[0].anchor if behind else None, len(behind)))
    signs = [e for e in entries if not e.routine]
    if show_all:
        shown = entries
    else:
        shown = signs + _folded([e for e in entries if e.routine], wording)
        shown.sort(key=lambda e: (e.date or date.min, not e.routine), reverse=True)
    return TimelineView(reasons=links, entries=shown, show_all=show_all, total=len(entries), signs=len(signs))


# --- who else is involved, and which systems hold a record ------------------------------


@dataclass(frozen=True)
class Involvement:
    text: str
    date: date | None
    open: bool


def involvement(
    case_file: CaseFile, open_days: dict[str, dict[str, int]], wording: Wording
) -> dict[str, list[Involvement]]:
    """Per service, each kind of involvement's latest start, said plainly, open ones first."""
    latest: dict[tuple[str, str], TimelineEntry] = {}
    for entry in case_file.timeline:
        if entry.role not in INVOLVEMENT_ROLES or not entry.service or not entry.event_type:
            continue
        key = (entry.service, entry.event_type)
        if key not in latest or (entry.date or date.min) > (latest[key].date or date.min):
            latest[key] = entry
    by_service: dict[str, list[Involvement]] = defaultdict(list)
    for (service, event_type), entry in latest.items():
        days = open_days.get(service, {}).get(event_type)
        is_open = days is not None and entry.date is not None and (case_file.as_of - entry.date).days <= days
        what = wording.event_label(service, event_type) or entry.label or event_type.replace("_", " ")
        month = entry.date.strftime("%B %Y") if entry.date else "date not known"
        text = wording.page_words(
            "involvement_open" if is_open else "involvement_closed", what=what, month=month
        )
        by_service[service].append(Involvement(text, entry.date, is_open))
    for lines in by_service.values():
        lines.sort(key=lambda i: (i.open, i.date or date.min), reverse=True)
    return dict(by_service)


@dataclass(frozen=True)
class Coverage:
    source: str
    held: bool
    text: str


def coverage(case_file: CaseFile, wording: Wording) -> list[Coverage]:
    """Which systems hold a record of the person, and each extract's latest entry (version 2 on)."""
    held = {r.source for r in case_file.records if r.source}
    if not case_file.coverage:
        return [Coverage(s, True, wording.page_words("coverage_held_undated")) for s in sorted(held)]
    rows = []
    for row in case_file.coverage:
        if row.source in held:
            text = (
                wording.page_words("coverage_held", date=f"{row.latest.day} {row.latest:%B %Y}")
                if row.latest
                else wording.page_words("coverage_held_undated")
            )
        else:
            text = wording.page_words("coverage_not_held" if row.latest else "coverage_no_extract")
        rows.append(Coverage(row.source, row.source in held, text))
    return rows


# --- why the records were joined ---------------------------------------------------------


def _and(things: list[str]) -> str:
    return things[0] if len(things) == 1 else ", ".join(things[:-1]) + " and " + things[-1]


def match_sentence(reasons: list[str], wording: Wording) -> str:
    """'Same date of birth and phone; address differs' from "<comparison>: <level> (<weight>)"."""
    same, close, differ = [], [], []
    for reason in reasons:
        found = _EVIDENCE.match(reason)
        if found is None:
            continue
        thing, label = found.group("thing"), found.group("label")
        if label in _SAME_LABELS:
            same.append(thing)
        elif label == "different":
            differ.append(thing)
        elif label != "missing":
            close.append(wording.page_words("match_close", thing=thing, label=label))
    parts = [wording.page_words("match_same", things=_and(same))] if same else []
    parts += close
    if differ:
        name = "match_differs_one" if len(differ) == 1 else "match_differs_several"
        parts.append(wording.page_words(name, things=_and(differ), thing=differ[0]))
    return capitalised("; ".join(parts))


def confidence(probability: float | None, wording: Wording) -> str:
    """Three levels in words; no percentage, because 100.0% overstates any match."""
    if probability is not None and probability >= VERY_LIKELY:
        return wording.page_words("match_very_likely")
    if probability is not None and probability >= LIKELY:
        return wording.page_words("match_likely")
    return wording.page_words("match_possible")


def match_evidence(evidence: list[MatchEvidence], wording: Wording) -> list[dict[str, Any]]:
    """Each joining pair: its two records, a sentence and a confidence in words."""
    pairs = []
    for pair in evidence:
        left_source, _, left_ref = str(pair.left or "").partition(" ")
        right_source, _, right_ref = str(pair.right or "").partition(" ")
        pairs.append(
            {
                "left": {"source": left_source, "reference": left_ref},
                "right": {"source": right_source, "reference": right_ref},
                "sentence": match_sentence(list(pair.reasons), wording),
                "confidence": confidence(pair.match_probability, wording),
            }
        )
    return pairs


def age_band(age: int | None, wording: Wording) -> str | None:
    """An age as its ten-year band ("30 to 39"): enough to plan a conversation."""
    if age is None:
        return None
    low = (age // 10) * 10
    return wording.page_words("age_band", low=low, high=low + 9)
