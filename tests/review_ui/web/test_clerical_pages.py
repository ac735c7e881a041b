"""Clerical review pages: analysts only, one pair side by side, labels saved and audited."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from review_ui.store import AuditEntry
from review_ui.store.clerical import ClericalLabel, ClericalPair
from tests.review_ui.web.conftest import Web, csrf_from
from tests.support.clerical import store_sample

NIGHT = date(2026, 6, 30)


def _stored(web: Web) -> list[int]:
    with web.app.state.session_factory() as db:
        store_sample(db, NIGHT)
        return list(db.scalars(select(ClericalPair.id).order_by(ClericalPair.id)))


def _actions(web: Web, actor: str) -> list[str]:
    with web.app.state.session_factory() as db:
        return list(
            db.scalars(select(AuditEntry.action).where(AuditEntry.actor == actor).order_by(AuditEntry.id))
        )


def test_only_the_data_team_may_open_clerical_review(web: Web) -> None:
    pair_id = _stored(web)[0]
    for username in ("casey", "tess", "ada"):
        client = web.sign_in(username)
        for path in ("/clerical", f"/clerical/{NIGHT}/next", f"/clerical/pairs/{pair_id}"):
            assert client.get(path).status_code == 403, (username, path)
        token = csrf_from(client.get("/accessibility").text)
        refused = client.post(f"/clerical/pairs/{pair_id}/label", data={"label": "same", "csrf_token": token})
        assert refused.status_code == 403
    assert "page_refused" in _actions(web, "casey")
    assert web.anonymous().get("/clerical", follow_redirects=False).status_code == 303
    with web.app.state.session_factory() as db:
        assert db.scalars(select(ClericalLabel)).all() == []


def test_the_list_says_when_there_is_nothing_yet(web: Web) -> None:
    page = web.sign_in("ann").get("/clerical")
    assert page.status_code == 200
    assert '<h1 class="govuk-heading-l">Clerical review</h1>' in page.text
    assert "no night has sampled any pairs" in page.text
    assert 'href="/clerical"' in page.text  # the analyst's navigation


def test_a_pair_is_shown_side_by_side_without_a_score_and_its_view_audited(web: Web) -> None:
    _stored(web)
    page = web.sign_in("ann").get(f"/clerical/{NIGHT}/next")
    assert page.status_code == 200
    assert "Are these records the same person?" in page.text
    shown = int(re.search(r'action="/clerical/pairs/(\d+)/label"', page.text).group(1))  # type: ignore[union-attr]
    with web.app.state.session_factory() as db:
        pair = db.get(ClericalPair, shown)
        assert pair is not None
        left, right = pair.record_l, pair.record_r
    rows = re.findall(r"<tr class=\"govuk-table__row\">(.*?)</tr>", page.text, re.S)
    for heading, key in (("First name", "first_name"), ("Reference in that system", "source_person_id")):
        row = next(r for r in rows if heading in r)
        assert left[key] in row
        assert right[key] in row
    assert "weight" not in page.text.lower()
    assert "probability" not in page.text.lower()
    for value in ("same", "different", "cant_tell"):
        assert f'value="{value}"' in page.text
    assert _actions(web, "ann")[-1] == "clerical_pair_viewed"


def test_differences_are_marked_in_words(web: Web) -> None:
    _stored(web)
    with web.app.state.session_factory() as db:
        joy = next(p.id for p in db.scalars(select(ClericalPair)) if p.record_l["first_name"] == "Joy")
    page = web.sign_in("ann").get(f"/clerical/pairs/{joy}")
    rows = re.findall(r"<tr class=\"govuk-table__row\">(.*?)</tr>", page.text, re.S)
    first_name = next(r for r in rows if "First name" in r)
    assert "Joy" in first_name
    assert "Jon" in first_name
    assert "Different" in first_name


def test_labelling_moves_on_and_an_answer_can_be_changed(web: Web) -> None:
    ids = _stored(web)
    client = web.sign_in("ann")
    page = client.get(f"/clerical/{NIGHT}/next")
    shown = int(re.search(r'action="/clerical/pairs/(\d+)/label"', page.text).group(1))  # type: ignore[union-attr]
    token = csrf_from(page.text)
    done = client.post(
        f"/clerical/pairs/{shown}/label", data={"label": "same", "csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/clerical/{NIGHT}/next?previous={shown}"
    following = client.get(done.headers["location"])
    assert f'href="/clerical/pairs/{shown}"' in following.text
    assert f'action="/clerical/pairs/{shown}/label"' not in following.text
    changed = client.post(f"/clerical/pairs/{shown}/label", data={"label": "cant_tell", "csrf_token": token})
    assert changed.status_code == 200
    again = client.get(f"/clerical/pairs/{shown}")
    assert 'value="cant_tell" checked' in again.text
    assert _actions(web, "ann").count("clerical_label_recorded") == 1
    assert _actions(web, "ann").count("clerical_label_changed") == 1
    for pair_id in ids:
        client.post(f"/clerical/pairs/{pair_id}/label", data={"label": "same", "csrf_token": token})
    finished = client.get(f"/clerical/{NIGHT}/next")
    assert "All 4 pairs sampled on the night of 2026-06-30 have an answer" in finished.text
    listing = client.get("/clerical")
    assert "2026-06-30" in listing.text
    assert "council tax + housing rent" in listing.text
    assert "Precision (95% interval)" in listing.text


def test_no_answer_is_an_error_in_the_govuk_pattern(web: Web) -> None:
    ids = _stored(web)
    client = web.sign_in("ann")
    token = csrf_from(client.get("/accessibility").text)
    page = client.post(f"/clerical/pairs/{ids[0]}/label", data={"label": "", "csrf_token": token})
    assert page.status_code == 400
    assert "There is a problem" in page.text
    assert "Select whether these records are the same person" in page.text
    assert "<title>Error:" in page.text
    assert client.get("/clerical/pairs/999999").status_code == 404
    assert client.get("/clerical/not-a-date/next").status_code == 404


def test_the_list_pools_the_last_nights_labels_and_says_how(web: Web) -> None:
    later = NIGHT + timedelta(days=1)
    with web.app.state.session_factory() as db:
        store_sample(db, NIGHT)
    client = web.sign_in("ann")
    token = csrf_from(client.get("/accessibility").text)

    def label_all(night: date) -> None:
        with web.app.state.session_factory() as db:
            pairs = list(db.scalars(select(ClericalPair).where(ClericalPair.night == night)))
        for pair in pairs:
            answer = "same" if pair.called else "different"
            client.post(f"/clerical/pairs/{pair.id}/label", data={"label": answer, "csrf_token": token})

    label_all(NIGHT)
    assert 'id="pooled"' not in client.get("/clerical").text  # one night: its own row says it all
    with web.app.state.session_factory() as db:
        store_sample(db, later)
    label_all(later)
    page = client.get("/clerical").text
    assert 'id="pooled">Over the last 2 nights' in page
    assert "from 8 pairs labelled on the nights of 2026-06-30 to 2026-07-01" in page
    assert (
        "weighted by how many pairs its band of match strength held on the latest night, 2026-07-01" in page
    )
    assert "Precision 1.00" in page
