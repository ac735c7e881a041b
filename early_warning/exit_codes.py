"""What the exit code of a night means, one meaning each (issue 21).

Cron, systemd and the person on call read these, so they never change
meaning: a night that routed nothing never exits 0, and a held night is
told apart from a crash because its remedy differs (fix or release the
extracts; read the log and re-run).
"""

from __future__ import annotations

ROUTED = 0
"""The whole night ran and its list reached the review queue."""

FAILED = 1
"""The night stopped on an error: nothing was routed, the previous night is intact."""

UNUSABLE = 2
"""The command could not start: bad arguments or unreadable settings (argparse uses 2 too)."""

HELD = 3
"""The night's extracts failed a check: nothing was routed, yesterday's list stays in front of caseworkers."""

ALREADY_RUNNING = 4
"""Another night holds this home's lock: nothing was done."""
