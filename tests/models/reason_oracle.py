"""An independent checker for reasons: parse each sentence and recompute it from the events.

It reads the sentence, not the code that wrote it: numbers, dates, amounts,
services and topics are taken back out of the words and checked against the
person's own canonical events with plain Python (no polars), so a bug in
``models.reasons`` cannot hide behind the same bug here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from early_warning.config import Config
from models._reason_wording import event_sentence_patterns

Event = dict[str, Any]
D = r"(\d{1,2} [A-Z][a-z]+ \d{4})"
M = r"£(\d{1,3}(?:,\d{3})*(?:\.\d{2})?)"
JARGON = ("feature", "score", "weight", "probabilit", "model", "signal", "coefficient", "driver")


def parse_date(text: str) -> date:
    return datetime.strptime(text, "%d %B %Y").date()


def parse_money(text: str) -> float:
    return float(text.replace(",", ""))


def _order(e: Event) -> tuple[date, int]:
    return (e["event_date"], e["row_number"])


def balance_on(events: Sequence[Event], source: str, day: date) -> tuple[float, date] | None:
    """The latest balance of ``source`` recorded on or before ``day`` (by date, then row)."""
    held = [e for e in events if e["source"] == source and e["amount"] is not None and e["event_date"] <= day]
    if not held:
        return None
    last = max(held, key=_order)
    return float(last["amount"]), last["event_date"]


def owed(balance: float) -> float:
    """Pounds owed on a balance, to the penny: a balance in credit owes nothing."""
    return max(round(balance, 2), 0.0)


def same_money(shown: float, actual: float) -> bool:
    return abs(round(actual, 2) - shown) < 0.006


class SentenceChecker:
    """Checks every sentence about one person against that person's events on or before ``as_of``."""

    def __init__(self, events: Sequence[Event], as_of: date, config: Config) -> None:
        self.events = [e for e in events if e["event_date"] <= as_of]
        self.as_of = as_of
        self.config = config
        self.by_label = {src.label.lower(): name for name, src in config.sources.items()}
        self.patterns = event_sentence_patterns(config)

    def age(self, e: Event) -> int:
        return (self.as_of - e["event_date"]).days

    def signals(self, lo: date, hi: date) -> list[Event]:
        return [e for e in self.events if e["role"] == "signal" and lo <= e["event_date"] <= hi]

    def check(self, sentence: str) -> str:
        """Assert the sentence is true of the record; return which kind it was."""
        lowered = sentence.lower()
        for word in JARGON:
            assert word not in lowered, f"jargon {word!r} in {sentence!r}"
        assert not re.search(r"(?<!£)\b0\.\d", sentence), f"a bare fraction in {sentence!r}"
        for kind in ("services", "trend", "arrears_rise", "arrears_now", "repeat", "event"):
            if getattr(self, f"_{kind}")(sentence):
                return kind
        raise AssertionError(f"sentence of no known kind: {sentence!r}")

    def _services(self, s: str) -> bool:
        m = re.fullmatch(r"(\d+) services recorded signs of need in the last 90 days: (.+)", s)
        if not m:
            return False
        labels = m.group(2).split(", ")
        assert int(m.group(1)) == len(labels) >= 2, s
        recent = self.signals(self.as_of - timedelta(days=90), self.as_of)
        expected = {self.config.sources[e["source"]].label for e in recent}
        assert set(labels) == expected, (s, expected)
        assert len(set(labels)) == len(labels), s
        return True

    def _trend(self, s: str) -> bool:
        m = re.fullmatch(
            rf"(\d+) signs of need recorded since {D}, compared with (\d+|none) in the nine months "
            rf"before \({D} to {D}\)",
            s,
        )
        if not m:
            return False
        since, lo, hi = parse_date(m.group(2)), parse_date(m.group(4)), parse_date(m.group(5))
        recent, earlier = int(m.group(1)), 0 if m.group(3) == "none" else int(m.group(3))
        assert m.group(3) != "0", s
        assert since == self.as_of - timedelta(days=90), s
        assert hi == since - timedelta(days=1), s
        assert lo == self.as_of - timedelta(days=365), s
        assert recent == len(self.signals(since, self.as_of)), s
        assert earlier == len(self.signals(lo, hi)), s
        assert recent / 90 > earlier / 275, s
        assert recent >= 2, s
        return True

    def _source_of(self, label: str) -> str:
        source = self.by_label.get(label.lower())
        assert source is not None, f"unknown service label {label!r}"
        return source

    def _arrears_rise(self, s: str) -> bool:
        """A rise in what is owed: "<Service> arrears rose from £A to £B since D", or, out of
        credit, "<Service> account went from £A in credit to £B in arrears since D"."""
        m = re.fullmatch(rf"(.+) arrears rose from {M} to {M} since {D}", s)
        credit = re.fullmatch(rf"(.+) account went from {M} in credit to {M} in arrears since {D}", s)
        m = m or credit
        if not m:
            return False
        source = self._source_of(m.group(1))
        since = parse_date(m.group(4))
        assert (self.as_of - since).days in (90, 180), s
        before = balance_on(self.events, source, since)
        now = balance_on(self.events, source, self.as_of)
        assert now is not None, s
        start = before[0] if before else 0.0
        if credit:
            assert round(start, 2) < 0, (s, before)
            assert same_money(parse_money(m.group(2)), -start), (s, before)
        else:
            assert same_money(parse_money(m.group(2)), max(start, 0.0)), (s, before)
        assert same_money(parse_money(m.group(3)), now[0]), (s, now)
        # arrears are what is owed: a balance in credit owes nothing, so the rise is from at least 0
        assert owed(now[0]) - owed(start) >= 1, (s, before, now)
        return True

    def arrears_rise_told(self, s: str) -> float | None:
        """The rise in pounds owed that an arrears-rise sentence tells (None for any other sentence)."""
        m = re.fullmatch(
            rf"(.+) (?:arrears rose from|account went from) {M}( in credit)? to {M}(?: in arrears)?",
            s.split(" since ")[0],
        )
        if not m:
            return None
        start = -parse_money(m.group(2)) if m.group(3) else parse_money(m.group(2))
        return owed(parse_money(m.group(4))) - owed(start)

    def _arrears_now(self, s: str) -> bool:
        m = re.fullmatch(rf"(.+) arrears stand at {M} \(balance recorded on {D}\)", s)
        if not m:
            return False
        now = balance_on(self.events, self._source_of(m.group(1)), self.as_of)
        assert now is not None, s
        assert now[0] >= 1, s
        assert same_money(parse_money(m.group(2)), now[0]), (s, now)
        assert parse_date(m.group(3)) == now[1], (s, now)
        return True

    def _repeat(self, s: str) -> bool:
        label = re.escape(self.config.sources["contact_centre"].label)
        m = re.fullmatch(rf"Contacted the {label} about (.+) (\d+) times (?:on {D}|between {D} and {D})", s)
        if not m:
            return False
        words = {v: k for k, v in self.config.wording.topics.items()}
        topic = words.get(m.group(1))
        assert topic is not None or m.group(1) == self.config.wording.unlisted_topic, s
        first = parse_date(m.group(3) or m.group(4))
        last = parse_date(m.group(3) or m.group(5))
        dates = sorted(
            e["event_date"]
            for e in self.events
            if e["source"] == "contact_centre" and e["topic"] == topic and first <= e["event_date"] <= last
        )
        assert len(dates) == int(m.group(2)) >= 2, (s, dates)
        assert dates[0] == first, (s, dates)
        assert dates[-1] == last, (s, dates)
        assert all((b - a).days <= 14 for a, b in zip(dates, dates[1:], strict=False)), (s, dates)
        assert (self.as_of - first).days <= 365, s
        return True

    def _event(self, s: str) -> bool:
        for (source, event_type), (one, many, with_arrears) in self.patterns.items():
            for pattern, counted in ((one, False), (many, True)):
                body = (
                    re.escape(pattern)
                    .replace(re.escape("{date}"), r"(?P<date>\d{1,2} [A-Z][a-z]+ \d{4})")
                    .replace(re.escape("{n}"), r"(?P<n>\d+)")
                )
                m = re.fullmatch(rf"{body}(?:; arrears now £(?P<now>[\d,]+(?:\.\d{{2}})?))?", s)
                if not m:
                    continue
                n = int(m.group("n")) if counted else 1
                since = parse_date(m.group("date"))
                matching = [
                    e
                    for e in self.events
                    if e["source"] == source and e["event_type"] == event_type and since <= e["event_date"]
                ]
                assert len(matching) == n, (s, len(matching))
                assert (n >= 2) == counted, s
                assert any(e["event_date"] == since for e in matching), s
                assert (self.as_of - since).days <= 365, s
                now = balance_on(self.events, source, self.as_of)
                if m.group("now") is not None:
                    assert with_arrears, s
                    assert now is not None, s
                    assert same_money(parse_money(m.group("now")), now[0]), (s, now)
                elif with_arrears:
                    assert now is None or now[0] < 1, (s, now)
                return True
        return False


def events_of(person: str, events: Sequence[Event], links: dict[tuple[str, str], str] | None) -> list[Event]:
    """The events of every source record linked to ``person`` (unlinked records are their own person)."""
    links = links or {}
    return [
        e for e in events if links.get((e["source"], e["source_person_id"]), e["source_person_id"]) == person
    ]
