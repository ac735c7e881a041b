"""Where a request really came from: the peer, or the client a trusted proxy names.

Behind the TLS proxy the README recommends, every request's peer is the
proxy, so throttling by address would lump all staff together and the audit
log's "from where" would always be the proxy. ``X-Forwarded-For`` names the
client, but anyone can send it; so it is believed only when the peer is one
of ``trusted_proxies`` (``review_app.yaml``, read through the one
configuration loader), and then only up to the first address that is not a
trusted proxy, reading from the right (each proxy appends the address it
saw, so the left-most entries are whatever the client chose to write).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, field_validator, model_validator

from early_warning.config import load_file
from review_ui.web.review_app_sections import InvolvementOpenDays, PrivacyNotice

REVIEW_APP_FILE = "review_app.yaml"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ReviewAppFile(BaseModel):
    """``review_app.yaml``: settings of the served app a council edits with the rest of its configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trusted_proxies: list[IPvAnyNetwork] = []
    #: What the privacy page says (the retention periods come from routing.yaml).
    privacy: PrivacyNotice
    #: How long each kind of involvement counts as open (see the default file).
    involvement_open_days: InvolvementOpenDays = {}
    #: "Could not reach": after this many recorded attempts the item closes itself with that outcome.
    could_not_reach_attempts: int = Field(default=3, ge=1, le=10)
    #: The short list of strengths a reviewer can tick beside an outcome.
    strengths: list[str] = Field(default_factory=list, max_length=12)
    #: The list's and person page's "Of the last N people surfaced here and reviewed, ..." sentence:
    #: how many of a locality's latest reviews it counts, and how few are "not enough reviews yet".
    precision_last_reviews: int = Field(default=40, ge=5, le=1000)
    precision_minimum_reviews: int = Field(default=20, ge=5, le=1000)

    @field_validator("strengths")
    @classmethod
    def _short_and_distinct(cls, values: list[str]) -> list[str]:
        cleaned = [value.strip() for value in values]
        if any(not value or len(value) > 60 for value in cleaned):
            raise ValueError("each strength must be 1 to 60 characters")
        if len({value.casefold() for value in cleaned}) != len(cleaned):
            raise ValueError("each strength must be listed once")
        return cleaned

    @model_validator(mode="after")
    def _minimum_within_the_count(self) -> ReviewAppFile:
        if self.precision_minimum_reviews > self.precision_last_reviews:
            raise ValueError("precision_minimum_reviews must not be more than precision_last_reviews")
        return self

    #: Case files (person pages and ``GET /api/items/{id}``) one user may open within a minute
    #: (:mod:`review_ui.web.case_file_reads`).
    case_file_reads_per_minute: int = Field(default=30, ge=1, le=10_000)


def load_review_app_settings(config_dir: str | Path | None = None) -> ReviewAppFile:
    """``review_app.yaml`` through the one loader (defaults overridden key by key).

    Raises:
        ConfigError: naming the file, the key and what was expected.
    """
    return load_file(REVIEW_APP_FILE, ReviewAppFile, config_dir)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, proxies: Sequence[Network]) -> bool:
    return any(address.version == network.version and address in network for network in proxies)


def client_address(peer: str | None, forwarded_for: str | None, proxies: Sequence[Network]) -> str | None:
    """The client's address: ``peer`` unless it is a trusted proxy that says who it forwarded.

    Example:
        >>> proxies = [ipaddress.ip_network("10.0.0.1/32")]
        >>> client_address("10.0.0.1", "6.6.6.6, 198.51.100.5", proxies)
        '198.51.100.5'
        >>> client_address("203.0.113.9", "198.51.100.5", proxies)
        '203.0.113.9'
    """
    if peer is None or not forwarded_for or not proxies:
        return peer
    current = _address(peer)
    if current is None or not _trusted(current, proxies):
        return peer
    for hop in reversed(forwarded_for.split(",")):
        address = _address(hop)
        if address is None:
            return str(current)  # a malformed entry: trust nothing to its left
        current = address
        if not _trusted(address, proxies):
            return str(address)
    return str(current)
