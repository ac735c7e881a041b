"""The words of the reasons, from ``wording.yaml``: one sentence pattern per kind of event.

The patterns themselves are data (``wording.yaml``, ``reasons``), read with
the configuration as ``config.wording`` so a council's own words reach its
reasons; this module turns them into what :mod:`models._reason_sentences`
needs. Patterns use ``{label}`` / ``{Label}`` for the service's label,
``{n}`` for a count and ``{date}`` for a date; the wording's loader refuses
any other placeholder, so no name, date of birth, address or reference
number can reach a sentence.
"""

from __future__ import annotations

from early_warning.config import Config
from early_warning.wording import capitalised


def event_sentence_patterns(config: Config) -> dict[tuple[str, str], tuple[str, str, bool]]:
    """Every signal event type of ``config`` -> (one, several, with arrears), labels filled in.

    An event type without its own wording gets a plain one built from its name.
    """
    out: dict[tuple[str, str], tuple[str, str, bool]] = {}
    for source, src in config.sources.items():
        label = src.label
        written = config.wording.reasons.get(source, {})
        for event_type in src.events.signal:
            words = event_type.replace("_", " ")
            pattern = written.get(event_type)
            if pattern is None:
                one = f"{{Label}}: {words} recorded on {{date}}"
                many = f"{{Label}}: {words} recorded {{n}} times since {{date}}"
                arrears = False
            else:
                one, many, arrears = pattern.one, pattern.several, pattern.arrears_now
            fill = {"{label}": label, "{Label}": capitalised(label)}
            for key, value in fill.items():
                one, many = one.replace(key, value), many.replace(key, value)
            out[(source, event_type)] = (one, many, arrears and src.holds_arrears)
    return out


def topic_words(topic: str, config: Config) -> str:
    """A contact topic after "about"; a topic the configuration does not list is "the same matter"
    (``unlisted_topic``), because a free-text topic never reaches a sentence."""
    listed = {t for src in config.sources.values() for t in src.topics}
    if topic not in listed:
        return config.wording.unlisted_topic
    return config.wording.topic_words(topic)
