"""``early-warning demo``: the whole product on a synthetic borough, from nothing.

It is what ``make demo`` runs on a fresh machine, so it must need nothing but
the project itself: it generates a borough under ``<home>/demo`` (re-using
one already generated with the same size and seed) and runs a night on it.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

DEMO_AS_OF = date(2026, 6, 30)
DEMO_YEARS = 3


def run_demo(*, home: Path, residents: int, seed: int) -> int:
    """Generate (or reuse) the demo borough and run the nightly job; returns an exit code."""
    from early_warning.config import load_config
    from early_warning.synthetic import generate_borough
    from flows.nightly import run_nightly

    borough = home / "demo" / f"borough-{residents}-seed{seed}"
    marker = borough / "generated.json"
    if marker.exists():
        print(f"Using the synthetic borough already in {borough}")
    else:
        print(f"Generating a synthetic borough of {residents:,} residents in {borough} ...")
        summary = generate_borough(
            borough, residents=residents, years=DEMO_YEARS, as_of=DEMO_AS_OF, seed=seed, progress=True
        )
        marker.write_text(json.dumps({"rows": summary.total_rows, "seconds": round(summary.seconds, 1)}))
        print(f"Wrote {summary.total_rows:,} rows in {summary.seconds:.1f} s.")

    outcome = run_nightly(
        extracts=borough / "extracts", as_of=DEMO_AS_OF, home=home, config=load_config(), progress=True
    )
    print()
    print(outcome.summary())
    print()
    print(f"The night's outputs are in {outcome.run.root}")
    return 0
