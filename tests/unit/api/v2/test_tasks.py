"""POST and GET /v2/task/reprocesses."""

from __future__ import annotations

import json

import pytest

from cloudkitty.db.engine import Database
from cloudkitty.storage.reprocessing import ReprocessingRepository


@pytest.fixture
def scopes(api_app):
    for scope_id in ("aaaa", "bbbb"):
        api_app.post(
            "/v2/scope",
            json.dumps({"scope_id": scope_id, "last_processed_timestamp": "2024-02-01T00:00:00"}),
        )
    return api_app


def schedule(app, scope_ids, start="2024-01-01T00:00:00Z", end="2024-01-01T02:00:00Z", **kw):
    payload = {
        "scope_ids": scope_ids,
        "start_reprocess_time": start,
        "end_reprocess_time": end,
        "reason": kw.pop("reason", "new prices"),
    }
    return app.post("/v2/task/reprocesses", json.dumps(payload), **kw)


def test_post_answers_202_and_get_lists_newest_first(scopes):
    response = schedule(scopes, ["aaaa"])
    assert (response.status_int, response.json) == (202, {})
    schedule(scopes, "bbbb", start="2024-01-02T00:00:00+00:00", end="2024-01-02T00:00:00+00:00")
    results = scopes.get("/v2/task/reprocesses").json["results"]
    assert results == [
        {
            "scope_id": "bbbb",
            "reason": "new prices",
            "start_reprocess_time": "2024-01-02T00:00:00",
            "end_reprocess_time": "2024-01-02T00:00:00",
            "current_reprocess_time": "",
        },
        {
            "scope_id": "aaaa",
            "reason": "new prices",
            "start_reprocess_time": "2024-01-01T00:00:00",
            "end_reprocess_time": "2024-01-01T02:00:00",
            "current_reprocess_time": "",
        },
    ]
    ascending = scopes.get("/v2/task/reprocesses?order=ASC&limit=1").json["results"]
    assert [r["scope_id"] for r in ascending] == ["aaaa"]
    assert [r["scope_id"] for r in scopes.get("/v2/task/reprocesses?offset=1").json["results"]] == [
        "aaaa"
    ]
    only = scopes.get("/v2/task/reprocesses?scope_ids=bbbb").json["results"]
    assert [r["scope_id"] for r in only] == ["bbbb"]
    by_path = scopes.get("/v2/task/reprocesses/aaaa?scope_ids=bbbb").json["results"]
    assert [r["scope_id"] for r in by_path] == ["aaaa"]


def test_all_schedules_every_active_scope(scopes):
    assert schedule(scopes, "ALL").status_int == 202
    assert len(scopes.get("/v2/task/reprocesses").json["results"]) == 2


def test_progress_is_shown_naive(scopes, sqlite_url):
    schedule(scopes, "aaaa")
    repository = ReprocessingRepository(Database.from_url(sqlite_url))
    [task] = repository.list_schedules()
    repository.mark_progress(task.id, task.start_reprocess_time)
    [shown] = scopes.get("/v2/task/reprocesses/aaaa").json["results"]
    assert shown["current_reprocess_time"] == "2024-01-01T00:00:00"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scope_ids": ["zzzz"]}, "Scopes ['zzzz'] scheduled to reprocess"),
        ({"scope_ids": ["ALL", "aaaa"]}, "Cannot use 'ALL' with scope ID"),
        (
            {"scope_ids": "aaaa", "start": "2024-01-01T00:30:00Z"},
            "A valid time window near the provided one is "
            "['2024-01-01 00:00:00+00:00', '2024-01-01 02:00:00+00:00']",
        ),
        (
            {"scope_ids": "aaaa", "end": "2024-03-01T00:00:00Z"},
            "Cannot execute a reprocessing [end=2024-03-01 00:00:00+00:00] for scope [aaaa]",
        ),
        (
            {"scope_ids": "aaaa", "start": "2024-01-02T00:00:00Z"},
            "cannot be less than start reprocessing timestamp",
        ),
        ({"scope_ids": "aaaa", "reason": "  "}, "Empty or blank reason text is not allowed"),
        ({"scope_ids": "aaaa", "start": "soon"}, "path: 'start_reprocess_time'"),
    ],
)
def test_post_validation_messages(scopes, kwargs, message):
    response = schedule(scopes, expect_errors=True, **kwargs)
    assert response.status_int == 400
    assert message in response.json["message"]


def test_post_overlap_is_refused(scopes):
    schedule(scopes, "aaaa")
    response = schedule(scopes, "aaaa", start="2024-01-01T02:00:00Z", expect_errors=True)
    assert response.status_int == 400
    assert "already has a schedule for a similar time range" in response.json["message"]


def test_post_missing_and_unknown_keys(scopes):
    missing = scopes.post(
        "/v2/task/reprocesses", json.dumps({"scope_ids": "aaaa"}), expect_errors=True
    )
    assert missing.status_int == 400
    assert "required key not provided" in missing.json["message"]
    extra = scopes.post("/v2/task/reprocesses", json.dumps({"zz": 1}), expect_errors=True)
    assert "extra keys not allowed" in extra.json["message"]


def test_get_bad_order_is_400(api_app):
    response = api_app.get("/v2/task/reprocesses?order=up", expect_errors=True)
    assert response.status_int == 400
    assert response.json["message"] == (
        "The order [up] is not valid. Accepted values are ['asc', 'desc']."
    )
