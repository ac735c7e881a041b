"""The plain-English line a caseworker reads for each event on a case file's timeline.

The words are data: ``wording.yaml`` (``events``, ``topics``,
``address_match``), read through the configuration so a service manager
reviews them in one place with the reasons' and the review app's words. The
tables here are the default wording's, which the case-file assembly reads; a
council's own are ``config.wording``'s look-ups (its service labels already
reach a case file through ``config.sources``). Every event type of the
default vocabulary (DATA_CONTRACT.md section 2) has a label; an event type a
council adds without one is shown as "<Event type in words> (<service
label>)".

These are descriptions of what is already on the council's record, for a
person offering help to check against it. Enforcement and crisis events are
shown because they are part of that record; nothing here produces,
recommends or triggers one.
"""

from __future__ import annotations

from early_warning.config import load_wording

_DEFAULT = load_wording()

#: (source, event type) -> label, as the default ``wording.yaml`` says them.
EVENT_LABELS: dict[tuple[str, str], str] = {
    (source, event_type): label
    for source, labels in _DEFAULT.events.items()
    for event_type, label in labels.items()
}

#: A contact's topic -> the words after "about" ("other" is "another matter", as in a
#: reason); an unlisted topic is shown with its underscores as spaces.
TOPIC_WORDS: dict[str, str] = dict(_DEFAULT.topics)

#: How a case file says where a person's address was taken from, after
#: "Address from <service>, last contact <date>", by how it was placed on the
#: gazetteer (:data:`features.graph.best_record.ADDRESS_QUALITY`): a caseworker
#: should know when an address was matched without a postcode, or not at all.
ADDRESS_MATCH_WORDS: dict[str, str] = dict(_DEFAULT.address_match)
