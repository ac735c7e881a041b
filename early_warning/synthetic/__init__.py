"""A synthetic borough: the product's demo, test fixture and benchmark.

One call writes a night's extracts in exactly the data contract's shape
(``DATA_CONTRACT.md`` section 1, with the mappings a council's exports
really have) and, beside them, the ground truth the product never sees::

    from early_warning.synthetic import generate_borough
    summary = generate_borough(Path("demo"), residents=5_000, years=3,
                               as_of=date(2026, 3, 31), seed=1)

No real resident's data is used: names are drawn from Faker's name lists,
identifiers are valid-shaped but fictional (NHS numbers outside issued
ranges, phone numbers in Ofcom's drama ranges), addresses are in a made-up
borough with a postcode area that does not exist.

Known limitations: there are only ~22,000 drama-range phone numbers, so in
a big borough unrelated people share numbers; people do not die, leave the
borough or change surname; children are counts, not people; an eviction does
not move the household.

Several named worlds (``worlds.py``: ``world_names()``,
``world_settings(name)``, or ``generate_borough(..., world=name)``) change
what a real council differs on, so the product is measured on more than the
one world it was tuned on.

``generate_borough`` is imported on first use, so the command line can list
the worlds without loading numpy and polars.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from early_warning.synthetic.settings import GenerationSummary, GeneratorSettings
from early_warning.synthetic.worlds import WORLDS, World, world_names, world_settings

if TYPE_CHECKING:
    from early_warning.synthetic.generate import generate_borough

__all__ = [
    "WORLDS",
    "GenerationSummary",
    "GeneratorSettings",
    "World",
    "generate_borough",
    "world_names",
    "world_settings",
]


def __getattr__(name: str) -> Any:
    if name == "generate_borough":
        from early_warning.synthetic.generate import generate_borough

        return generate_borough
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
