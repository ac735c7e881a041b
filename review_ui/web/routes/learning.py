"""Learning: what happened to the people the list found, per locality and week.

For analysts (every locality) and team leads (their own locality). The
figures are about the list - whether it finds people early and whether help
follows - never about staff: there is no per-person or per-reviewer figure,
and counts from 1 to 4 are shown as "fewer than 5".
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from review_ui.store import Outcome, Role
from review_ui.store.tables import utc_now
from review_ui.web.deps import Db, LearningReader
from review_ui.web.render import render
from review_ui.web.reports import SUPPRESSED, WEEKS, latest_activity, learning_report, shown

router = APIRouter(include_in_schema=False)


@router.get("/learning")
def learning(request: Request, db: Db, who: LearningReader) -> Response:
    user = who.user
    localities: list[str] | None = None
    if user.role == Role.TEAM_LEAD:
        localities = [user.locality] if user.locality else []
    # The weeks end with the latest activity (a night's surfacing or an outcome), so a
    # queue filled from a past night still shows its figures.
    ending = latest_activity(db, localities) or utc_now().date()
    report = learning_report(db, localities, ending=ending, weeks=WEEKS)
    return render(
        request,
        "learning.html",
        {
            "title": "Learning",
            "report": report,
            "outcomes": list(Outcome),
            "shown": shown,
            "suppressed": SUPPRESSED,
            "weeks": WEEKS,
            "own_locality": user.locality if user.role == Role.TEAM_LEAD else None,
        },
    )
