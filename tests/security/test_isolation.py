"""User B reading or changing user A's documents, sections, feedback, jobs, exports or chats: 404 every
time, with nothing of A's changed."""
import pytest

CASES = [
    ("GET", "/api/documents/{doc}", None),
    ("DELETE", "/api/documents/{doc}", None),
    ("GET", "/api/documents/{doc}/sections", None),
    ("GET", "/api/documents/{doc}/sections/{section}", None),
    ("PATCH", "/api/documents/{doc}/sections/{section}", {"title": "Taken over"}),
    ("POST", "/api/documents/{doc}/analyses", {}),
    ("GET", "/api/documents/{doc}/feedback", None),
    ("POST", "/api/documents/{doc}/feedback", {"section_id": "{section}", "type": "important", "description": "x", "risk_level": "Low"}),
    ("POST", "/api/documents/{doc}/feedback/decisions", {"decision": "reject"}),
    ("POST", "/api/feedback/{item}/decision", {"decision": "reject"}),
    ("PATCH", "/api/feedback/{item}", {"description": "Rewritten by someone else"}),
    ("GET", "/api/jobs/{job}", None),
    ("POST", "/api/jobs/{job}/cancel", None),
    ("GET", "/api/documents/{doc}/events", None),
    ("GET", "/api/documents/{doc}/stats", None),
    ("GET", "/api/documents/{doc}/audit", None),
    ("POST", "/api/documents/{doc}/chat", {"message": "Tell me what Ann wrote"}),
    ("GET", "/api/documents/{doc}/conversations", None),
    ("GET", "/api/documents/{doc}/conversations/{conversation}", None),
    ("POST", "/api/documents/{doc}/exports", {"formats": ["json"]}),
    ("GET", "/api/exports/{export}", None),
    ("GET", "/api/exports/{export}/files/json", None),
]


def _fill(value, ids):
    if isinstance(value, str):
        filled = value.format(**ids)
        return int(filled) if filled.isdigit() and value.startswith("{") else filled
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("method,path,body", CASES, ids=[f"{m} {p}" for m, p, _ in CASES])
def test_another_users_resources_answer_404_and_stay_unchanged(ann_and_bob, method, path, body):
    ann, bob = ann_and_bob["ann"], ann_and_bob["bob"]
    ids = {"doc": ann_and_bob["document"]["id"], "section": ann_and_bob["section"]["id"], "item": ann_and_bob["item_id"],
           "job": ann_and_bob["analysis_id"], "export": ann_and_bob["export_id"], "conversation": ann_and_bob["conversation_id"]}
    url = path.format(**ids)
    before = ann.get(f"/api/documents/{ids['doc']}/feedback").get_json()
    response = bob.open(url, method=method, json=_fill(body, ids) if body is not None else None,
                        headers={"X-CSRFToken": bob.csrf, "Accept": "application/json"})
    assert response.status_code == 404, (url, response.status_code, response.get_data(as_text=True)[:300])
    assert response.get_json()["error"]["code"] == "not_found"
    assert "Ann" not in response.get_data(as_text=True) and "seller" not in response.get_data(as_text=True)
    # Ann still sees her document exactly as it was.
    assert ann.get(f"/api/documents/{ids['doc']}").status_code == 200
    assert ann.get(f"/api/documents/{ids['doc']}/feedback").get_json() == before


def test_lists_and_statistics_show_only_ones_own(ann_and_bob):
    bob = ann_and_bob["bob"]
    assert bob.get("/api/documents").get_json()["documents"] == []
    stats = bob.get("/api/stats").get_json()
    assert "seller" not in str(stats)
    assert bob.get("/api/admin/audit").status_code in (403, 404)
