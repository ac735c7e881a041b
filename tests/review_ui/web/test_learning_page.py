"""The learning page: per locality and week, small numbers suppressed, nothing about staff."""

from __future__ import annotations

import html
import itertools
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from review_ui.store import ItemStatus, write_transaction
from review_ui.web.reports import WeekFigures, learning_report, shown
from tests.review_ui.web.conftest import Web
from tests.support.review_app import USERS, review_item

#: A Monday: the newest week in these tests (ISO week 29 of 2026).
WEEK = date(2026, 7, 13)


def add_reviewed(
    web: Web,
    locality: str,
    outcomes: list[str],
    *,
    surfaced_on: date,
    closed_on: date,
    status: str = ItemStatus.CLOSED,
) -> None:
    """Closed items surfaced on one day and closed on another, as the queue would hold them."""
    with web.app.state.session_factory() as db, write_transaction(db):
        for n, outcome in enumerate(outcomes):
            db.add(
                review_item(
                    f"{locality[:3]}-{surfaced_on}-{closed_on}-{n}",
                    locality,
                    surfaced_on=surfaced_on,
                    status=status,
                    rank=n + 1,
                    closed_at=datetime.combine(closed_on, datetime.min.time(), tzinfo=UTC)
                    + timedelta(hours=10),
                    outcome=outcome,
                )
            )


def section(page: str, heading: str) -> str:
    """The part of the page under one locality's heading."""
    start = page.index(f'<h2 class="govuk-heading-m">{heading}</h2>')
    end = page.find('<h2 class="govuk-heading-m">', start + 1)
    return page[start : end if end > 0 else len(page)]


def row(part: str, label: str) -> list[str]:
    """A table row's cells, found by its week label."""
    found = re.search(
        r"<tr class=\"govuk-table__row\">\s*<th[^>]*>" + re.escape(label) + r"[^<]*</th>(.*?)</tr>",
        part,
        re.S,
    )
    assert found, f"no row {label!r}"
    return [html.unescape(cell.strip()) for cell in re.findall(r"<td[^>]*>(.*?)</td>", found.group(1), re.S)]


def test_who_can_read_the_learning_page(web: Web) -> None:
    for username, status in [("ann", 200), ("tess", 200), ("rhys", 200), ("casey", 403), ("ada", 403)]:
        assert web.sign_in(username).get("/learning").status_code == status, username


def test_analysts_never_see_a_person(web: Web) -> None:
    client = web.sign_in("ann")
    item_id = web.world.items["Northgate"][0]
    assert client.get("/queue").status_code in (403, 404)
    assert client.get(f"/items/{item_id}").status_code in (403, 404)
    assert client.get(f"/api/items/{item_id}").status_code == 403


def test_figures_per_locality_and_week_with_small_numbers_suppressed(web: Web) -> None:
    # Northgate: six people surfaced on Monday of WEEK; five helped and one declined on Thursday.
    add_reviewed(
        web,
        "Northgate",
        ["help_offered"] * 5 + ["declined"],
        surfaced_on=WEEK,
        closed_on=WEEK + timedelta(days=3),
    )
    # Riverside: two people surfaced the week before, both reviewed in WEEK.
    add_reviewed(
        web,
        "Riverside",
        ["help_offered", "could_not_reach"],
        surfaced_on=WEEK - timedelta(days=7),
        closed_on=WEEK,
    )
    page = web.sign_in("ann").get("/learning").text
    assert "They cover the 12 weeks from 27 April 2026 to the week starting 13 July 2026." in page
    assert "not a measure of anyone&#39;s work" in page

    northgate = section(page, "Northgate")
    #            surfaced  reviewed  help offered  median days
    # Six reviewed beside five "help offered" would give away the one declined.
    assert row(northgate, "Week 29, 2026") == ["6", "not shown", "5", "3"]
    # The world's three open Northgate items were surfaced on 30 June 2026 (week 27).
    assert row(northgate, "Week 27, 2026") == ["fewer than 5", "0", "0", "none"]
    mix = northgate.split("what happened after review", 1)[1]
    #            help offered  already supported  no help needed  could not reach  declined
    assert row(mix, "Week 29, 2026") == ["5", "0", "0", "0", "fewer than 5"]

    riverside = section(page, "Riverside")
    assert row(riverside, "Week 28, 2026") == ["fewer than 5", "0", "0", "none"]
    assert row(riverside, "Week 29, 2026") == ["0", "not shown", "fewer than 5", "not shown"]
    assert '<h2 class="govuk-heading-m">No known address</h2>' in page
    checked = 0
    for table in re.findall(r"<table.*?</table>", page, re.S):
        counts_only = "what happened after review" in table
        for cells in re.findall(
            r"<tr class=\"govuk-table__row\">\s*<th[^>]*>[^<]*</th>(.*?)</tr>", table, re.S
        ):
            values = [cell.strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S)]
            counts = values if counts_only else values[:3]
            assert not set(counts) & {"1", "2", "3", "4"}, f"a count from 1 to 4 was shown: {values}"
            checked += bool(values)  # the header row has no data cells
    assert checked == 3 * 2 * 12  # three localities, two tables each, twelve weeks


def test_a_team_lead_sees_only_their_own_locality(web: Web) -> None:
    add_reviewed(web, "Riverside", ["help_offered"] * 5, surfaced_on=WEEK, closed_on=WEEK)
    page = web.sign_in("tess").get("/learning").text
    assert '<h2 class="govuk-heading-m">Northgate</h2>' in page
    assert "Riverside</h2>" not in page
    assert "No known address</h2>" not in page
    assert "for Northgate only" in page
    rhys = web.sign_in("rhys").get("/learning").text
    assert row(section(rhys, "Riverside"), "Week 29, 2026")[:3] == ["5", "5", "5"]
    assert "Northgate</h2>" not in rhys


def test_the_page_names_no_member_of_staff_and_no_person(web: Web) -> None:
    add_reviewed(web, "Northgate", ["help_offered"] * 7, surfaced_on=WEEK, closed_on=WEEK)
    page = web.sign_in("ann").get("/learning").text
    main = page.split('<main class="govuk-main-wrapper"', 1)[1]
    for username in USERS:
        assert not re.search(rf"\b{username}\b", main, re.I), f"{username} appears on the learning page"
        assert f"{username.title()} Example" not in main
    assert not re.search(r"\b[NRU]-\d\b", main), "a person reference appears on the learning page"
    assert "score" not in main.lower()


def test_merged_items_count_once_and_counts_are_suppressed_below_five(web: Web) -> None:
    add_reviewed(web, "Eastfield", ["help_offered"] * 5, surfaced_on=WEEK, closed_on=WEEK)
    with web.app.state.session_factory() as db, write_transaction(db):
        # Linkage found that this person was already on the list: folded into another item.
        db.add(
            review_item(
                "Eas-merged",
                "Eastfield",
                surfaced_on=WEEK,
                services=(),
                status=ItemStatus.MERGED,
                merged_into_id=web.world.items["Northgate"][0],
                rank=None,
            )
        )
    with web.app.state.session_factory() as db:
        report = learning_report(db, ["Eastfield"], ending=WEEK + timedelta(days=6))
        [eastfield] = report.localities
        assert eastfield.weeks[0].week_start == WEEK
        assert (eastfield.weeks[0].surfaced, eastfield.weeks[0].reviewed) == (5, 5)
        assert eastfield.weeks[0].median_days == "0"
        assert len(eastfield.weeks) == 12
        assert learning_report(db, [], ending=WEEK).localities == []
    assert [shown(n) for n in (0, 1, 4, 5, 1234)] == ["0", "fewer than 5", "fewer than 5", "5", "1,234"]


def test_a_reviewed_count_is_withheld_when_an_outcome_count_is_hidden(web: Web) -> None:
    add_reviewed(web, "Northgate", ["help_offered"] * 5 + ["declined"] * 5, surfaced_on=WEEK, closed_on=WEEK)
    add_reviewed(
        web,
        "Riverside",
        ["help_offered"] * 5 + ["declined"] * 2 + ["could_not_reach"] * 3,
        surfaced_on=WEEK,
        closed_on=WEEK,
    )
    add_reviewed(web, "unknown", ["declined"] * 3 + ["could_not_reach"] * 4, surfaced_on=WEEK, closed_on=WEEK)
    page = web.sign_in("ann").get("/learning").text
    #      surfaced  reviewed  help offered  median days
    # Nothing hidden: the total and the median are shown.
    assert row(section(page, "Northgate"), "Week 29, 2026") == ["10", "10", "5", "0"]
    # Two hidden counts: the total would narrow them down, so it is withheld; five
    # people share an outcome, so the median is shown.
    assert row(section(page, "Riverside"), "Week 29, 2026") == ["10", "not shown", "5", "0"]
    # Seven reviews, but no five with the same outcome: no median either.
    assert row(section(page, "No known address"), "Week 29, 2026") == ["7", "not shown", "0", "not shown"]
    assert "the reviewed count is “not shown” too" in page


def displayed(outcomes: tuple[int, ...]) -> tuple[str, ...]:
    """Everything the learning page shows that depends on one week's outcome counts.

    The mix row, the reviewed count and the median (every review took the
    same 3 days, so the median's value says nothing about how many there were).
    """
    week = WeekFigures(WEEK, reviewed=sum(outcomes), days_to_outcome=[3] * sum(outcomes))
    week.outcomes = dict(zip(week.outcomes, outcomes, strict=True))
    return (*(shown(count) for count in outcomes), week.reviewed_shown, week.median_days)


def test_no_count_from_1_to_4_can_be_worked_out_from_what_a_week_shows() -> None:
    """An attacker who knows the rules sees a week's figures and lists every week that looks the same.

    Every week with up to 6 reviews for each of the five outcomes is tried;
    for each hidden ("fewer than 5") cell, the weeks that look identical must
    disagree about its value.
    """
    outcome_count = len(WeekFigures(WEEK).outcomes)
    looks_like: dict[tuple[str, ...], list[tuple[int, ...]]] = defaultdict(list)
    for outcomes in itertools.product(range(7), repeat=outcome_count):
        looks_like[displayed(outcomes)].append(outcomes)
    hidden_cells = 0
    for seen, weeks in looks_like.items():
        for cell, text in enumerate(seen[:outcome_count]):
            if text == "fewer than 5":
                hidden_cells += 1
                values = {week[cell] for week in weeks}
                assert len(values) > 1, f"{seen} gives away outcome {cell}: it can only be {values}"
    assert hidden_cells > 1000  # the check looked at many hidden cells, not none
    # With nothing hidden the total and the median are shown.
    assert displayed((5, 5, 0, 0, 0))[-2:] == ("10", "3")
    assert displayed((5, 1, 0, 0, 0))[-2:] == ("not shown", "3")
