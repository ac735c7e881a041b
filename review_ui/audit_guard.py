"""The night checks the review queue's audit log before it writes to the queue (called by the route stage).

Routing appends to the audit log (who was surfaced, merged, whose case file
was deleted). Appending to a chain that someone has altered would bury the
alteration under a night's entries, so the night refuses to route instead and
says what to run. Two checks (:mod:`review_ui.store.audit`):

- the latest entries hash and link as they should (as ``serve`` checks at
  start-up);
- the newest entry recorded after the previous night's routing (the *tip*,
  kept in a file under the home, outside the database) is still there with
  the same hash: removing the newest entries leaves a whole but shorter chain,
  which only a copy kept elsewhere can show.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine

from early_warning.paths import write_text
from review_ui.store.audit import AuditTip, audit_tip, check_tip, verify_audit_chain
from review_ui.store.engine import make_session_factory

#: How many of the latest entries the night checks (``early-warning audit verify`` checks all).
TAIL_CHECKED = 1000
TIP_FILE = "audit_tip.json"


class AuditLogAltered(RuntimeError):
    """The queue's audit log is not as the chain and the recorded tip say it was."""


def check_before_routing(home: Path, engine: Engine) -> None:
    """Raise :class:`AuditLogAltered`, naming the entry and what to run, unless the log is intact."""
    tip_path = home / TIP_FILE
    with make_session_factory(engine)() as session:
        checks = [verify_audit_chain(session, tail=TAIL_CHECKED)]
        if tip_path.exists():
            checks.append(check_tip(session, AuditTip.from_dict(json.loads(tip_path.read_text()))))
    for check in checks:
        if not check.intact:
            raise AuditLogAltered(
                f"the review queue's audit log has been altered: entry {check.broken_id} fails "
                f"({check.reason}). Nothing was routed. Run `early-warning audit verify`, keep a copy "
                f"of the database as it is, and tell whoever looks after it ({tip_path} holds the "
                "newest entry as the previous night left it)"
            )


def record_tip(home: Path, engine: Engine) -> None:
    """Keep the newest entry's id and hash under the home, for the next night's check."""
    with make_session_factory(engine)() as session:
        tip = audit_tip(session)
    if tip is not None:
        write_text(json.dumps(tip.to_dict()), home / TIP_FILE)
