"""Learning: what happened to the people the list found, per locality and week.

For analysts (every locality) and team leads (their own locality). The
figures are about the list - whether it finds people early and whether help
follows - never about staff: there is no per-person or per-reviewer figure,
and counts from 1 to 4 are shown as "fewer than 5".
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from review_ui.store import Outcome, Role, RouteRun
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
    # The weeks are counted back from the latest night, never from today's clock: a queue
    # filled from a past night (the demo's is 30 June 2026) shows its figures, and reviews
    # done since that night count in its week. With no night recorded, the latest activity.
    night = db.scalar(select(func.max(RouteRun.as_of)))
    ending = night or latest_activity(db, localities) or utc_now().date()
    report = learning_report(
        db, localities, ending=ending, weeks=WEEKS, later_closures_in_last_week=night is not None
    )
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
