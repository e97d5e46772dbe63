"""The yearly DAG's region sign-off (Airflow's human-in-the-loop approval): the question
says where the region's subtree stands; "Approve" records the region's approval as the
responding Airflow user, refused (the task fails, with every reason) while a city below
has not approved or the user's scope does not cover the region; "Reject" records nothing."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from grassroots import pipeline
from grassroots import warehouse as wh
from grassroots.config import Settings
from grassroots.hierarchy import scopes
from grassroots.review import actions as review
from grassroots.signoff import actions as signoff
from tests.builders import DALAT, small_register, village, village_row
from tests.malformed import csv_bytes

pytestmark = pytest.mark.airflow

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
REGION = "150000000000"  # 内蒙古自治区


@pytest.fixture
def shared(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The dags folder's shared module, its warehouse Dalat's 2021 (one village with an
    open error), published."""
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'warehouse.sqlite'}"
    monkeypatch.setenv("GRASSROOTS_WAREHOUSE_URL", url)
    monkeypatch.setenv("GRASSROOTS_DATA_DIR", str(data))
    settings = Settings.from_env(warehouse_url=url, data_dir=data)
    small_register(settings.landing_dir, [village(201)])
    path = settings.landing_dir / "2021" / f"village_annual__{DALAT}__2021.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_bytes([village_row(f"{DALAT[:6]}108201", committee_members="x")]))
    pipeline.run("2021", settings)
    monkeypatch.syspath_prepend(str(DAGS_DIR))
    sys.modules.pop("_grassroots_shared", None)
    import _grassroots_shared

    return _grassroots_shared, wh.connect(url)


def _answer(option: str, user: str, reason: str = "") -> dict:
    return {"chosen_options": [option], "params_input": {"reason": reason},
            "responded_at": datetime.now(UTC), "responded_by_user": {"id": user, "name": user}}


def _cities_approve(engine: sa.Engine) -> None:
    """Every city of the region approved (as the rows their approvals would leave)."""
    a = wh.area_closure.c
    with engine.begin() as conn:
        cities = conn.execute(sa.select(a.descendant_code).where(
            a.period == "2021", a.ancestor_code == REGION, a.depth == 1)).scalars().all()
        conn.execute(wh.approval.insert(), [
            {"period": "2021", "unit_code": c, "level": 2, "state": "approved", "by": "city",
             "at": datetime.now(UTC), "reason": "fixture", "release_id": None} for c in cities])


def test_the_question_says_where_the_region_stands_in_plain_text(shared) -> None:
    module, _ = shared
    subject, body = module.signoff_question("2021", REGION)
    assert "内蒙古自治区" in subject and "2021" in subject
    assert "units below approved: 0 / " in body and "open errors: 1" in body
    assert "/grassroots/signoff?period=2021&unit=150000000000" in body
    assert module._markdown_text("[x](http://e)") == "\\[x\\]\\(http://e\\)"


def test_approve_records_the_regions_approval_as_the_airflow_user(shared) -> None:
    module, engine = shared
    operator = module.region_signoff_operator()(task_id="region_signoff", unit_code=REGION,
                                                period="2021")
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException, match="units below have not approved"):
        operator.execute_complete(context={}, event=_answer("Approve", "admin"))

    _cities_approve(engine)
    (issue,) = review.list_issues(engine, state="open", severity="error")[0]
    review.waive(engine, issue["issue_id"], "steward", "核实")
    scopes.grant(engine, "steward-dalat", DALAT, "admin")
    with pytest.raises(AirflowFailException, match="outside their scope"):
        operator.execute_complete(context={}, event=_answer("Approve", "steward-dalat", "x"))

    scopes.grant(engine, "region-head", REGION, "admin")
    done = operator.execute_complete(context={}, event=_answer("Approve", "region-head",
                                                               "旗县年报另行报送"))
    assert done["approved_by"] == "region-head"
    (region,) = [r for r in signoff.approvals(engine, "2021") if r["unit_code"] == REGION]
    assert (region["state"], region["by"], region["reason"]) == (
        "approved", "region-head", "旗县年报另行报送")
    assert module.signoff_question("2021", REGION) is None  # not asked again


def test_reject_records_nothing(shared, monkeypatch: pytest.MonkeyPatch) -> None:
    module, engine = shared
    operator = module.region_signoff_operator()(task_id="region_signoff", unit_code=REGION,
                                                period="2021")
    # (no task below it in this test: the operator skips nothing)
    answer = operator.execute_complete(context={}, event=_answer("Reject", "admin"))
    assert answer["chosen_options"] == ["Reject"]
    assert signoff.approvals(engine, "2021") == []
