"""Administrators can disable an account (its sessions and tokens end at once, sign-in is refused with
a clear message) and reset a password (the user's sessions and tokens end); both are audited. Only a
signed-in admin may, never with a token. Roles are reviewer and admin: the analyst role is gone."""
import sqlite3

import pytest
from alembic import command
from sqlalchemy import select

from app.cli import alembic_config, upgrade_database
from app.extensions import db
from app.models import AccountEvent
from tests.conftest import PASSWORD, csrf_token, login
from tests.security.conftest import signed_in_client

NEW_PASSWORD = "a fresh passphrase 2026"


@pytest.fixture
def boss_and_ann(app, make_user):
    boss_id = make_user("boss@example.com", role="admin")
    ann_id = make_user("ann@example.com")
    boss, ann = signed_in_client(app, "boss@example.com"), signed_in_client(app, "ann@example.com")
    raw = ann.post("/api/auth/tokens", json={"name": "script"}, headers={"X-CSRFToken": ann.csrf}).get_json()["token"]
    assert app.test_client().get("/api/auth/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    return {"boss": boss, "ann": ann, "ann_token": raw, "ann_id": ann_id, "boss_id": boss_id}


def act(client, path, body=None):
    return client.post(path, json=body, headers={"X-CSRFToken": client.csrf})


def test_disabling_ends_sessions_and_tokens_at_once_and_refuses_sign_in_clearly(app, boss_and_ann):
    boss, ann = boss_and_ann["boss"], boss_and_ann["ann"]
    response = act(boss, f"/api/admin/users/{boss_and_ann['ann_id']}/disable")
    assert response.status_code == 200 and response.get_json()["user"]["disabled"] is True
    assert ann.get("/api/auth/me").status_code == 401
    assert app.test_client().get("/api/auth/me", headers={"Authorization": f"Bearer {boss_and_ann['ann_token']}"}).status_code == 401
    refused = login(app.test_client(), "ann@example.com")
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "account_disabled"
    assert "disabled by an administrator" in refused.get_json()["error"]["message"]
    # A wrong password learns nothing about the account.
    assert login(app.test_client(), "ann@example.com", "not the password").status_code == 401
    enabled = act(boss, f"/api/admin/users/{boss_and_ann['ann_id']}/enable")
    assert enabled.status_code == 200 and enabled.get_json()["user"]["disabled"] is False
    assert login(app.test_client(), "ann@example.com").status_code == 200
    # Tokens ended by the disable stay ended.
    assert app.test_client().get("/api/auth/me", headers={"Authorization": f"Bearer {boss_and_ann['ann_token']}"}).status_code == 401


def test_a_password_reset_ends_the_users_sessions_and_tokens(app, boss_and_ann):
    boss, ann = boss_and_ann["boss"], boss_and_ann["ann"]
    weak = act(boss, f"/api/admin/users/{boss_and_ann['ann_id']}/password", {"new_password": "short"})
    assert weak.status_code == 422 and weak.get_json()["error"]["code"] == "weak_password"
    assert ann.get("/api/auth/me").status_code == 200  # nothing changed
    response = act(boss, f"/api/admin/users/{boss_and_ann['ann_id']}/password", {"new_password": NEW_PASSWORD})
    assert response.status_code == 200
    assert ann.get("/api/auth/me").status_code == 401
    assert app.test_client().get("/api/auth/me", headers={"Authorization": f"Bearer {boss_and_ann['ann_token']}"}).status_code == 401
    assert login(app.test_client(), "ann@example.com").status_code == 401
    assert login(app.test_client(), "ann@example.com", NEW_PASSWORD).status_code == 200
    assert boss.get("/api/auth/me").status_code == 200  # the admin's own session is untouched


def test_disable_enable_and_reset_are_audited(app, boss_and_ann):
    boss, ann_id = boss_and_ann["boss"], boss_and_ann["ann_id"]
    act(boss, f"/api/admin/users/{ann_id}/disable")
    act(boss, f"/api/admin/users/{ann_id}/disable")  # already disabled: no second record
    act(boss, f"/api/admin/users/{ann_id}/enable")
    act(boss, f"/api/admin/users/{ann_id}/password", {"new_password": NEW_PASSWORD})
    events = boss.get(f"/api/admin/users/{ann_id}/events").get_json()["events"]
    assert [e["action"] for e in events] == ["reset_password", "enable", "disable"]
    assert all(e["actor"]["email"] == "boss@example.com" and e["user"]["email"] == "ann@example.com" for e in events)
    assert events[-1]["detail"] == {"tokens_revoked": 1}
    assert NEW_PASSWORD not in str(events)
    with app.app_context():
        rows = db.session.scalars(select(AccountEvent).order_by(AccountEvent.id)).all()
        assert [r.action for r in rows] == ["disable", "enable", "reset_password"]
        assert all(r.actor_id == boss_and_ann["boss_id"] for r in rows)


def test_creating_a_user_is_audited(boss_and_ann):
    boss = boss_and_ann["boss"]
    created = act(boss, "/api/admin/users", {"email": "cat@example.com", "password": PASSWORD})
    events = boss.get(f"/api/admin/users/{created.get_json()['user']['id']}/events").get_json()["events"]
    assert [(e["action"], e["detail"]) for e in events] == [("create", {"role": "reviewer"})]


def test_who_may_disable_or_reset(app, boss_and_ann):
    boss, ann, ann_id, boss_id = boss_and_ann["boss"], boss_and_ann["ann"], boss_and_ann["ann_id"], boss_and_ann["boss_id"]
    assert act(ann, f"/api/admin/users/{boss_id}/disable").status_code == 403
    assert act(ann, f"/api/admin/users/{boss_id}/password", {"new_password": NEW_PASSWORD}).status_code == 403
    own = act(boss, f"/api/admin/users/{boss_id}/disable")
    assert own.status_code == 409 and own.get_json()["error"]["code"] == "cannot_disable_self"
    assert act(boss, f"/api/admin/users/{boss_id}/password", {"new_password": NEW_PASSWORD}).status_code == 409
    assert act(boss, "/api/admin/users/9999/disable").status_code == 404
    # An admin's token cannot administer accounts: a leaked one could otherwise reset another
    # admin's password and sign in as them.
    raw = boss.post("/api/auth/tokens", json={"name": "ops"}, headers={"X-CSRFToken": boss.csrf}).get_json()["token"]
    script = app.test_client()
    for path, body in ((f"/api/admin/users/{ann_id}/disable", None), (f"/api/admin/users/{ann_id}/password", {"new_password": NEW_PASSWORD}),
                       ("/api/admin/users", {"email": "x@example.com", "password": PASSWORD})):
        response = script.post(path, json=body, headers={"Authorization": f"Bearer {raw}"})
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "token_not_allowed"
    assert script.get("/api/admin/users", headers={"Authorization": f"Bearer {raw}"}).status_code == 200  # reading is fine
    assert ann.get("/api/auth/me").status_code == 200


def test_the_analyst_role_is_gone_from_the_api_and_the_cli(boss_and_ann, runner):
    refused = act(boss_and_ann["boss"], "/api/admin/users", {"email": "cat@example.com", "password": PASSWORD, "role": "analyst"})
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "invalid_role"
    result = runner.invoke(args=["users", "create", "cat@example.com", "--password", PASSWORD, "--role", "analyst"])
    assert result.exit_code != 0


def test_the_migration_makes_analysts_reviewers(tmp_path):
    url = f"sqlite:///{tmp_path / 'roles.db'}"
    upgrade_database(url, "0003")
    with sqlite3.connect(tmp_path / "roles.db") as conn:
        conn.execute("INSERT INTO users (email, display_name, password_hash, role, is_active_account, auth_version, created_at, updated_at)"
                     " VALUES ('cat@example.com', 'Cat', 'x', 'analyst', 1, 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00')")
    upgrade_database(url)
    with sqlite3.connect(tmp_path / "roles.db") as conn:
        assert conn.execute("SELECT role FROM users").fetchall() == [("reviewer",)]
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("UPDATE users SET role = 'analyst'")
    command.downgrade(alembic_config(url), "0003")
